from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symphony.core.candidates import (
    MAX_BEST_OF,
    CandidateRef,
    CandidateSet,
    apply_ranking,
    best_of,
    candidate_index,
    candidate_key,
    candidate_name,
    parse_ranking,
    variant_index,
)
from symphony.issue import Issue


def issue(*labels: str) -> Issue:
    return Issue(
        id="i1", identifier="SYM-1", title="t", state="Todo", dispatchable=True, labels=labels
    )


def test_names_follow_the_index_like_spreadsheet_columns() -> None:
    assert [candidate_name(i) for i in (0, 1, 25, 26, 27, 701, 702)] == [
        "a",
        "b",
        "z",
        "aa",
        "ab",
        "zz",
        "aaa",
    ]
    assert candidate_key("SYM-1", "b") == "SYM-1.b"


@given(st.integers(min_value=0, max_value=100_000))
def test_every_index_has_one_name_and_back(index: int) -> None:
    assert candidate_index(candidate_name(index)) == index


@pytest.mark.parametrize("name", ["", "A", "b1", "é", "a-b"])
def test_what_is_not_a_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a candidate name"):
        candidate_index(name)


def test_candidate_ref_bounds_and_prompt_shape() -> None:
    assert CandidateRef.of(0, 2).to_dict() == {"name": "a", "index": 0, "count": 2}
    with pytest.raises(ValueError, match="outside"):
        CandidateRef.of(2, 2)


def test_the_label_sets_k_and_the_default_applies_without_it() -> None:
    assert best_of(issue("bug"), 1).count == 1
    assert best_of(issue("best-of:3"), 1).count == 3
    assert best_of(issue("Best-Of: 2"), 1).count == 2
    assert best_of(issue("best-of:2", "best-of:2"), 1).count == 2


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        (("best-of:0",), "'best-of:0'"),
        (("best-of:many",), "'best-of:many'"),
        ((f"best-of:{MAX_BEST_OF + 1}",), "K from 1 to"),
        (("best-of:2", "best-of:3"), "best-of:2, best-of:3: keep one"),
    ],
)
def test_a_label_not_understood_is_a_problem_and_the_default_applies(
    labels: tuple[str, ...], says: str
) -> None:
    decided = best_of(issue(*labels), 2)
    assert decided.count == 2
    assert decided.problem is not None and says in decided.problem
    assert "SYM-1" in decided.problem


def test_variants_are_used_in_turn() -> None:
    assert [variant_index(i, 2) for i in range(5)] == [0, 1, 0, 1, 0]
    assert variant_index(3, 0) is None


def test_the_set_is_judged_once_every_candidate_ended() -> None:
    s = CandidateSet.start("i1", "SYM-1", 3)
    assert [c.name for c in s.running()] == ["a", "b", "c"]
    s = s.with_candidate("a", status="handed_off", summary="did it")
    s = s.with_candidate("b", status="failed", error="boom")
    assert not s.all_ended and s.any_handed_off
    s = s.with_candidate("c", status="handed_off")
    assert s.all_ended and s.running() == ()
    with pytest.raises(KeyError, match="no candidate 'd'"):
        s.with_candidate("d", status="failed")


def test_only_a_candidate_that_handed_off_can_be_picked() -> None:
    s = CandidateSet.start("i1", "SYM-1", 2).with_candidate("a", status="handed_off")
    s = s.with_candidate("b", status="failed")
    with pytest.raises(ValueError, match="'b' of SYM-1 is failed"):
        s.pick("b")
    with pytest.raises(ValueError, match="no candidate 'c' \\(it has a, b\\)"):
        s.pick("c")
    picked = s.pick("a")
    assert picked.chosen is not None and picked.chosen.name == "a"
    assert [c.status for c in picked.candidates] == ["chosen", "discarded"]


def test_k_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="K is from 1"):
        CandidateSet.start("i1", "SYM-1", 0)


def test_the_judges_ranking_is_read_from_json_in_prose_or_a_fence() -> None:
    names = ("a", "b")
    plain = '{"ranking": [{"candidate": "b", "reason": "tests"}, {"candidate": "a"}]}'
    assert parse_ranking(plain, names).order == ("b", "a")
    fenced = "Here you go:\n```json\n" + plain + "\n```\nThanks."
    ranking = parse_ranking(fenced, names)
    assert ranking.reasons == {"b": "tests", "a": ""}
    assert parse_ranking('Sure. {"ranking": ["A", "b"]} done', names).order == ("a", "b")
    assert parse_ranking('[{"candidate": "a"}, {"candidate": "b"}]', names).rank_of("b") == 2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("no json here", "holds no JSON"),
        ('{"order": []}', "did not answer"),
        ('{"ranking": ["a"]}', "leaves out b"),
        ('{"ranking": ["a", "a", "b"]}', "'a' twice"),
        ('{"ranking": ["a", "c", "b"]}', "'c', which is not one of a, b"),
        ('{"ranking": [{"reason": "x"}]}', "without a candidate"),
    ],
)
def test_an_unusable_ranking_says_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_ranking(text, ("a", "b"))


def test_a_ranking_sets_each_candidates_rank_and_reason() -> None:
    s = CandidateSet.start("i1", "SYM-1", 2)
    ranked = apply_ranking(
        s, parse_ranking('{"ranking": [{"candidate": "b", "reason": "r"}, "a"]}', ("a", "b"))
    )
    assert [(c.name, c.rank, c.reason) for c in ranked.candidates] == [
        ("a", 2, None),
        ("b", 1, "r"),
    ]


def test_a_candidate_as_the_api_shows_it() -> None:
    s = CandidateSet.start("i1", "SYM-1", 2).with_candidate(
        "b", status="handed_off", workspace_path="/ws/SYM-1.b", files=("b.txt",), tokens=5
    )
    assert s.candidates[1].to_json() == {
        "name": "b",
        "workspace": "/ws/SYM-1.b",
        "status": "handed_off",
        "attempt": 0,
        "verify": None,
        "verify_output": None,
        "files": ["b.txt"],
        "tokens": 5,
        "cost_usd": None,
        "rank": None,
        "reason": None,
        "summary": None,
        "error": None,
    }
