"""Best of K (docs/best-of.md): the pure rules of an issue's candidates.

K candidates run for one issue, each in its own workspace (``<issue key>.<name>``) with its own
agent session. Names are ``a``, ``b``, … by 0-based index, then ``aa``, ``ab``, … (bijective
base 26, so every index has exactly one name and names sort like spreadsheet columns). A
candidate ends by handing off (``symphony_hand_off``) or by failing after its retries; once every
one has, the issue is judged and moved once (or, when none handed off, retried as a whole).
This module holds the naming, the label that sets K per issue, the candidate set's bookkeeping
and the judge's answer; the IO around them lives in the orchestrator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from symphony.issue import Issue

# Far above any sensible K: each candidate is a whole agent run, and 26 keeps names one letter.
MAX_BEST_OF = 26
# agent.candidate_max_retries: each retry is a whole agent run, with the failure backoff.
MAX_CANDIDATE_RETRIES = 20
LABEL_PREFIX = "best-of:"
_LABEL = re.compile(r"^best-of:\s*(\d+)$", re.IGNORECASE)

CandidateStatus = Literal["pending", "running", "handed_off", "failed", "chosen", "discarded"]
CANDIDATE_STATUSES: tuple[CandidateStatus, ...] = (
    "pending",
    "running",
    "handed_off",
    "failed",
    "chosen",
    "discarded",
)
# A candidate in one of these is over: it takes no slot and waits for the judge or the human.
ENDED: frozenset[str] = frozenset({"handed_off", "failed", "chosen", "discarded"})


def candidate_name(index: int) -> str:
    """``a`` for 0, ``z`` for 25, ``aa`` for 26: bijective base 26."""
    if index < 0:
        raise ValueError(f"a candidate index is 0 or more, not {index}")
    letters = ""
    n = index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def candidate_index(name: str) -> int:
    """The inverse of ``candidate_name``; ValueError for anything that is not such a name."""
    if not name or not name.isascii() or not name.isalpha() or not name.islower():
        raise ValueError(f"{name!r} is not a candidate name (a, b, …, z, aa, …)")
    n = 0
    for letter in name:
        n = n * 26 + (ord(letter) - ord("a") + 1)
    return n - 1


def candidate_key(identifier: str, name: str) -> str:
    """The workspace key of one candidate: the issue's identifier, a dot, the candidate's name
    (the workspace manager sanitizes it like any identifier)."""
    return f"{identifier}.{name}"


@dataclass(frozen=True, slots=True)
class CandidateRef:
    """Which candidate a run is, as the prompt sees it (``candidate.name/index/count``)."""

    name: str
    index: int
    count: int

    @classmethod
    def of(cls, index: int, count: int) -> CandidateRef:
        if not 0 <= index < count:
            raise ValueError(f"candidate index {index} is outside 0..{count - 1}")
        return cls(candidate_name(index), index, count)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "index": self.index, "count": self.count}


@dataclass(frozen=True, slots=True)
class BestOf:
    """How many candidates an issue gets, and the label problem to show when its label was
    not understood (the configured default applies then)."""

    count: int
    problem: str | None = None


def best_of(issue: Issue, default: int) -> BestOf:
    """K for ``issue``: its ``best-of:K`` label, else ``agent.best_of``. Labels are normalized
    (lowercase) by the trackers; two different K labels, a K of 0 or one above MAX_BEST_OF is a
    problem named for the operator, and the default applies."""
    found: set[int] = set()
    bad: list[str] = []
    for label in issue.labels:
        if not label.lower().startswith(LABEL_PREFIX):
            continue
        match = _LABEL.match(label)
        if match is None or not 1 <= int(match.group(1)) <= MAX_BEST_OF:
            bad.append(label)
        else:
            found.add(int(match.group(1)))
    if bad:
        return BestOf(
            default,
            f"{issue.identifier} has the label {bad[0]!r}: use best-of:K with K from 1 to "
            f"{MAX_BEST_OF}; agent.best_of ({default}) applies meanwhile",
        )
    if len(found) > 1:
        labels = ", ".join(f"best-of:{k}" for k in sorted(found))
        return BestOf(
            default,
            f"{issue.identifier} has the labels {labels}: keep one; agent.best_of ({default}) "
            "applies meanwhile",
        )
    return BestOf(found.pop() if found else default)


def variant_index(index: int, variants: int) -> int | None:
    """Which of ``agent.variants`` candidate ``index`` uses (in turn), None without variants."""
    return index % variants if variants else None


# --- the candidate set ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate of an issue and what is known of it so far."""

    name: str
    index: int
    # pending: waiting for a free slot (or for its retry); running: its agent works.
    status: CandidateStatus = "pending"
    # Its failed runs so far, each retried (agent.candidate_max_retries) before it is failed;
    # the attempt its next run is (0: its first).
    attempt: int = 0
    workspace_path: str | None = None
    thread_id: str | None = None
    # What the agent said when it handed off, or the error it failed with.
    summary: str | None = None
    error: str | None = None
    # The judging: hooks.verify's outcome (None: not run), changed files, and what it used.
    verify: str | None = None
    # The last part of hooks.verify's output (VerifyResult.output_tail), for the Review view.
    verify_output: str | None = None
    files: tuple[str, ...] = ()
    tokens: int = 0
    cost_usd: float | None = None
    # The judge's ranking (1 is best) and why; None without a judge or before it answered.
    rank: int | None = None
    reason: str | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def to_json(self) -> dict[str, Any]:
        """One row of ``candidates`` in ``GET /api/v1/<identifier>`` (docs/best-of.md)."""
        return {
            "name": self.name,
            "workspace": self.workspace_path,
            "status": self.status,
            "attempt": self.attempt,
            "verify": self.verify,
            "verify_output": self.verify_output,
            "files": list(self.files),
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "rank": self.rank,
            "reason": self.reason,
            "summary": self.summary,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class CandidateSet:
    """The candidates of one issue, from dispatch until the human picks one (or sends the issue
    back, which starts a new set)."""

    issue_id: str
    identifier: str
    candidates: tuple[Candidate, ...]
    # Set once the judging is over (verify ran, the judge answered or was skipped); the issue
    # moved to review and the comparison comment went out.
    judged: bool = False
    # The judge's ranking as it answered, or why there is none (no judge, an unusable answer).
    judge_note: str | None = None

    @classmethod
    def start(cls, issue_id: str, identifier: str, count: int) -> CandidateSet:
        if not 1 <= count <= MAX_BEST_OF:
            raise ValueError(f"best of {count}: K is from 1 to {MAX_BEST_OF}")
        names = (Candidate(candidate_name(i), i) for i in range(count))
        return cls(issue_id, identifier, tuple(names))

    @property
    def count(self) -> int:
        return len(self.candidates)

    def get(self, name: str) -> Candidate | None:
        return next((c for c in self.candidates if c.name == name), None)

    def with_candidate(self, name: str, **changes: Any) -> CandidateSet:
        if self.get(name) is None:
            raise KeyError(f"{self.identifier} has no candidate {name!r}")
        updated = tuple(replace(c, **changes) if c.name == name else c for c in self.candidates)
        return replace(self, candidates=updated)

    def running(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if not c.ended)

    @property
    def all_ended(self) -> bool:
        """Every candidate handed off or failed: time to judge."""
        return all(c.ended for c in self.candidates)

    @property
    def any_handed_off(self) -> bool:
        """Something to review; a set whose candidates all failed is retried as a whole."""
        return any(c.status == "handed_off" for c in self.candidates)

    def failure_summary(self) -> str:
        """Why a set whose candidates all failed failed, one clause per candidate."""
        return "; ".join(f"{c.name}: {c.error or 'failed'}" for c in self.candidates)

    def pick(self, name: str) -> CandidateSet:
        """The human chose ``name``: it becomes the issue's, the others are discarded. Only a
        candidate that handed off can be chosen."""
        chosen = self.get(name)
        if chosen is None:
            names = ", ".join(c.name for c in self.candidates)
            raise ValueError(f"{self.identifier} has no candidate {name!r} (it has {names})")
        if chosen.status != "handed_off":
            raise ValueError(
                f"candidate {name!r} of {self.identifier} is {chosen.status}, not handed off: "
                "choose one that handed off"
            )
        picked = tuple(
            replace(c, status="chosen" if c.name == name else "discarded") for c in self.candidates
        )
        return replace(self, candidates=picked)

    @property
    def chosen(self) -> Candidate | None:
        return next((c for c in self.candidates if c.status == "chosen"), None)


# --- the judge's answer -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ranking:
    """The judge's ranking: candidate names best first, with the reason given for each."""

    order: tuple[str, ...]
    reasons: Mapping[str, str] = field(default_factory=dict)

    def rank_of(self, name: str) -> int | None:
        return self.order.index(name) + 1 if name in self.order else None


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_ranking(text: str, names: Sequence[str]) -> Ranking:
    """Read the judge's JSON answer: ``{"ranking": [{"candidate": "b", "reason": "..."}, ...]}``
    (a bare list of such objects, or the object inside a ```json fence, is accepted too).

    Every candidate that was judged must appear exactly once; ValueError otherwise, with a
    message the operator can read in the comparison comment.
    """
    data = _first_json(text)
    items: Any = data.get("ranking") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise ValueError('the judge did not answer {"ranking": [{"candidate", "reason"}, ...]}')
    order: list[str] = []
    reasons: dict[str, str] = {}
    for item in items:
        if isinstance(item, str):
            name, reason = item, ""
        elif isinstance(item, Mapping) and isinstance(item.get("candidate"), str):
            name, reason = item["candidate"], str(item.get("reason") or "")
        else:
            raise ValueError(f"the judge's ranking has an entry without a candidate: {item!r}")
        name = name.strip().lower()
        if name not in names:
            raise ValueError(f"the judge ranked {name!r}, which is not one of {', '.join(names)}")
        if name in order:
            raise ValueError(f"the judge ranked {name!r} twice")
        order.append(name)
        reasons[name] = reason.strip()
    missing = [n for n in names if n not in order]
    if missing:
        raise ValueError(f"the judge's ranking leaves out {', '.join(missing)}")
    return Ranking(tuple(order), reasons)


def _first_json(text: str) -> Any:
    candidates: Iterable[str] = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for chunk in candidates:
        chunk = chunk.strip()
        try:
            return json.loads(chunk)
        except ValueError:
            pass
        # Prose around the object: the outermost braces.
        start, end = chunk.find("{"), chunk.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(chunk[start : end + 1])
            except ValueError:
                pass
    raise ValueError("the judge's answer holds no JSON")


def apply_ranking(candidates: CandidateSet, ranking: Ranking) -> CandidateSet:
    updated = tuple(
        replace(c, rank=ranking.rank_of(c.name), reason=ranking.reasons.get(c.name) or None)
        for c in candidates.candidates
    )
    return replace(candidates, candidates=updated)
