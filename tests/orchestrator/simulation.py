"""A discrete-event world around the real scheduling core: fake tracker, fake workers, timers.

Everything the runtime would do is done here instantly or after a random simulated latency:
tracker reads (which may fail), workers (which may succeed, fail, stall, or move their issue like
a real agent does), retry and poll timers, operator refreshes, board edits (optionally announced by
webhook-style change notices) and config reloads. With ``schedule_restarts`` the service also
restarts at random moments, cleanly or by crashing (its agents then die at the next start, as
the runtime kills their process groups), from what the core asked the store to keep
(``sim_store.py``). Invariants are checked after every event; a violation raises
``AssertionError`` naming it.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from symphony.core import policy
from symphony.core.config import SchedulerConfig
from symphony.core.effects import (
    CancelRetryTimer,
    Effect,
    FetchCandidates,
    FetchChangedIssues,
    FetchRetryIssue,
    FetchRunningIssues,
    FetchTerminalIssues,
    ForgetResume,
    ForgetRetry,
    Log,
    RecordRetry,
    RecordRunEnded,
    RecordRunProgress,
    RecordRunStarted,
    RemoveWorkspaces,
    ScheduleTick,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    AgentUpdate,
    CandidatesFetched,
    ChangedIssuesFetched,
    ConfigChanged,
    Event,
    FetchError,
    IssuesChanged,
    RefreshRequested,
    RetryDue,
    RetryIssueFetched,
    RunningRefreshed,
    ShutdownRequested,
    Started,
    TerminalIssuesFetched,
    TickDue,
    WorkerExited,
    WorkerInfo,
)
from symphony.core.machine import decide
from symphony.core.state import BLOCKED_LIMIT, OrchestratorState
from symphony.issue import Issue, normalize_state
from symphony.usage import TokenUsage

from .sim_store import SimStore

ACTIVE = ("Todo", "In Progress")
TERMINAL = ("Done", "Cancelled")
OTHER = ("Backlog", "Human Review")
ALL_STATES = ACTIVE + TERMINAL + OTHER
LABELS = ("symphony", "backend", "frontend")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Worker:
    issue_id: str
    run_id: int
    alive: bool = True
    events: int = 0


@dataclass
class Stats:
    dispatches: int = 0
    stops: int = 0
    cleanups: int = 0
    # Workspaces of released (parked) issues removed because the board later closed them.
    parked_cleanups: int = 0
    retries_fired: int = 0
    tracker_errors: int = 0
    stalls_killed: int = 0
    config_changes: int = 0
    # Targeted refreshes the core asked for after change notices.
    change_reads: int = 0
    # The most issues listed as blocked at once.
    most_blocked: int = 0
    steps: int = 0
    restarts: int = 0
    crashes: int = 0
    # Runs a restart cut short that the next start continued on their thread.
    resumed: int = 0
    retries_restored: int = 0


@dataclass(order=True)
class _Scheduled:
    at: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class World:
    def __init__(
        self, seed: int, n_issues: int, *, max_backoff_ms: int = 60_000, notices: bool = False
    ) -> None:
        self.rng = random.Random(seed)
        # With ``notices``, half the board edits made while the chaos lasts are announced by a
        # webhook-style change notice (a targeted refresh). They draw from their own stream.
        self.notices = notices
        self.notice_rng = random.Random(seed ^ 0x5EED)
        self.now = 0.0
        self.seq = 0
        self.queue: list[_Scheduled] = []
        self.max_backoff_ms = max_backoff_ms
        self.config = self._random_config()
        self.config_error: str | None = None
        self.state = OrchestratorState(config=self.config)
        self.board: dict[str, Issue] = {}
        for n in range(n_issues):
            issue = self._new_issue(n)
            self.board[issue.id] = issue
        self.workspaces: set[str] = {
            i.identifier for i in self.board.values() if self.rng.random() < 0.3
        }
        self.workers: dict[str, Worker] = {}
        self.tick_token = 0
        self.retry_timers: dict[str, int] = {}
        # A queued issue must not run again before its retry is due (it keeps its claim).
        self.not_before: dict[str, float] = {}
        self.inflight_retry_fetches: set[tuple[str, int]] = set()
        # Issues the core held a claim on while the board said terminal (must get cleaned).
        self.claimed_while_terminal: set[str] = set()
        self.dispatched: set[str] = set()
        # Every issue that ever had a worker (and so a workspace) in this world.
        self.worked: set[str] = set()
        self.error_rate = 0.1
        self.chaos = True
        self.stats = Stats()
        self.store = SimStore()
        # Bumped by every restart: timers, reads and agents of the service before it are void.
        self.epoch = 0
        self.restart_rng = random.Random(seed ^ 0xB007)
        # Issue id -> (attempt, thread id) of the runs the last restart may continue.
        self.expect_resume: dict[str, tuple[int | None, str | None]] = {}

    # --- setup ------------------------------------------------------------------------------

    def _new_issue(self, n: int) -> Issue:
        rng = self.rng
        return Issue(
            id=f"id-{n}",
            identifier=f"SIM-{n}",
            title=f"Issue {n}",
            state=rng.choice(ALL_STATES),
            dispatchable=rng.random() < 0.9,
            priority=rng.choice([None, 1, 2, 3, 4, 0, 9]),
            labels=tuple(label for label in LABELS if rng.random() < 0.6),
            created_at=EPOCH + timedelta(minutes=rng.randrange(100_000)),
        )

    def _random_config(self, *, quiet: bool = False) -> SchedulerConfig:
        rng = self.rng
        by_state = {}
        if rng.random() < 0.5:
            by_state[rng.choice(ACTIVE)] = rng.randint(1, 5)
        return SchedulerConfig(
            active_state_names=ACTIVE,
            terminal_state_names=TERMINAL,
            required_labels=(("symphony",) if rng.random() < 0.3 and not quiet else ()),
            max_concurrent_agents=rng.randint(1, 20),
            max_concurrent_agents_by_state=by_state,
            max_retry_backoff_ms=rng.randint(10_000, self.max_backoff_ms),
            stall_timeout_ms=rng.randint(60_000, 600_000) if quiet or rng.random() < 0.8 else 0,
            poll_interval_ms=rng.choice([1_000, 5_000, 30_000]),
        )

    # --- event loop -------------------------------------------------------------------------

    def at(self, delay_ms: float, action: Callable[[], None], *, service: bool = True) -> None:
        """``service``: the action belongs to the running service (a timer, a read, an agent)
        and dies with it at a restart; board edits and notices come from outside."""
        self.seq += 1
        if service:
            epoch, inner = self.epoch, action

            def action() -> None:
                if epoch == self.epoch:
                    inner()

        heapq.heappush(self.queue, _Scheduled(self.now + max(delay_ms, 0.0), self.seq, action))

    def send(self, event: Event) -> None:
        self.state, effects = decide(self.state, event, self.now)
        for effect in effects:
            self._execute(effect)
        self.stats.steps += 1
        self.check_invariants()

    def run_until(self, until_ms: float, max_steps: int) -> None:
        steps = 0
        while self.queue and self.queue[0].at <= until_ms:
            steps += 1
            assert steps <= max_steps, "simulation did not settle within its step budget"
            item = heapq.heappop(self.queue)
            self.now = item.at
            item.action()
        self.now = max(self.now, until_ms)

    def start(self) -> None:
        self.send(Started())

    # --- chaos ------------------------------------------------------------------------------

    def schedule_chaos(self, until_ms: float) -> None:
        def chaos() -> None:
            if not self.chaos:
                return
            roll = self.rng.random()
            if roll < 0.80:
                self._random_board_edit()
            elif roll < 0.87:
                self.stats.config_changes += 1
                self.config = self._random_config()
                self.config_error = "bad yaml" if self.rng.random() < 0.2 else None
                self.send(ConfigChanged(self.config, self.config_error))
            elif roll < 0.95:
                self.send(RefreshRequested())
            else:
                self.error_rate = self.rng.choice([0.0, 0.05, 0.3, 0.9])
            if self.now < until_ms:
                self.at(self.rng.expovariate(1 / 2_000), chaos, service=False)

        self.at(0, chaos, service=False)

    def _random_board_edit(self) -> None:
        issue = self.board[self.rng.choice(list(self.board))]
        roll = self.rng.random()
        if roll < 0.7:
            issue = replace(issue, state=self.rng.choice(ALL_STATES))
        elif roll < 0.85:
            issue = replace(issue, dispatchable=not issue.dispatchable)
        else:
            issue = replace(
                issue, labels=tuple(label for label in LABELS if self.rng.random() < 0.6)
            )
        self._put(issue)

    def _put(self, issue: Issue) -> None:
        self.board[issue.id] = issue
        if normalize_state(issue.state) not in {normalize_state(s) for s in TERMINAL}:
            self.claimed_while_terminal.discard(issue.id)
        rng = self.notice_rng
        if self.notices and self.chaos and rng.random() < 0.5:
            # A webhook about the edit, delivered after a while (or, for a few, long after).
            delay = rng.uniform(1, 300) if rng.random() < 0.9 else 60_000
            self.at(delay, lambda: self.send(IssuesChanged((issue.id,))), service=False)

    def calm_down(self) -> None:
        """End chaos: no more edits or errors, a sane config, agents that finish their work."""
        self.chaos = False
        self.error_rate = 0.0
        self.config = self._random_config(quiet=True)
        self.config_error = None
        self.send(ConfigChanged(self.config, None))

    # --- effects ----------------------------------------------------------------------------

    def _execute(self, effect: Effect) -> None:
        match effect:
            case FetchTerminalIssues(states=states):
                self._read(lambda: self._by_states(states), TerminalIssuesFetched)
            case FetchCandidates(tick_id=tick_id, states=states):
                self._read(
                    lambda: self._by_states(states),
                    lambda issues, err: CandidatesFetched(tick_id, issues, err),
                )
            case FetchRunningIssues(tick_id=tick_id, issue_ids=ids):
                self._read(
                    lambda: tuple(self.board[i] for i in ids if i in self.board),
                    lambda issues, err: RunningRefreshed(tick_id, issues, err),
                )
            case FetchChangedIssues(read_id=read_id, issue_ids=ids):
                self.stats.change_reads += 1
                self._read(
                    lambda: tuple(self.board[i] for i in ids if i in self.board),
                    lambda issues, err: ChangedIssuesFetched(read_id, issues, err),
                    rng=self.notice_rng,
                )
            case FetchRetryIssue(issue_id=issue_id, token=token):
                self.inflight_retry_fetches.add((issue_id, token))
                self.stats.retries_fired += 1

                def answered(issues: tuple[Issue, ...], err: FetchError | None) -> Event:
                    self.inflight_retry_fetches.discard((issue_id, token))
                    return RetryIssueFetched(issue_id, token, issues, err)

                self._read(lambda: (self.board[issue_id],), answered)
            case StartWorker():
                self._start_worker(effect)
            case StopWorker():
                self._stop_worker(effect)
            case RemoveWorkspaces(issues=issues, paths=paths):
                recorded = dict(paths)
                for issue_id, identifier in issues:
                    assert not self.state.is_claimed(issue_id), "workspace removed under a claim"
                    assert issue_id not in self.workers, "workspace removed under a live worker"
                    path = recorded.get(issue_id)
                    self.workspaces.discard(path.removeprefix("/ws/") if path else identifier)
            case Log(message="released issue is terminal, removing its workspace"):
                self.stats.parked_cleanups += 1
            case ScheduleTick(delay_ms=delay):
                self.tick_token += 1
                token = self.tick_token

                def tick() -> None:
                    if token == self.tick_token:
                        self.send(TickDue())

                self.at(delay, tick)
            case SetRetryTimer(issue_id=issue_id, token=token, delay_ms=delay):
                self.retry_timers[issue_id] = token
                self.not_before[issue_id] = self.now + delay

                def fire() -> None:
                    if self.retry_timers.get(issue_id) == token:
                        del self.retry_timers[issue_id]
                        self.send(RetryDue(issue_id, token))

                self.at(delay, fire)
            case CancelRetryTimer(issue_id=issue_id):
                self.retry_timers.pop(issue_id, None)
            case (
                RecordRunStarted()
                | RecordRunProgress()
                | RecordRetry()
                | ForgetRetry()
                | ForgetResume()
            ):
                self.store.apply(effect)
            case RecordRunEnded():
                self.store.apply(effect)
                self.store.save_totals(self.state.totals)  # as the runtime does at a run's end
            case _:
                pass

    def _by_states(self, states: tuple[str, ...]) -> tuple[Issue, ...]:
        wanted = {normalize_state(s) for s in states}
        return tuple(i for i in self.board.values() if normalize_state(i.state) in wanted)

    def _read(
        self,
        compute: Callable[[], tuple[Issue, ...]],
        to_event: Callable[[tuple[Issue, ...], FetchError | None], Event],
        *,
        rng: random.Random | None = None,
    ) -> None:
        draw = rng or self.rng

        def answer() -> None:
            if draw.random() < self.error_rate:
                self.stats.tracker_errors += 1
                self.send(to_event((), FetchError("tracker_request", "simulated outage")))
            else:
                self.send(to_event(compute(), None))

        self.at(draw.uniform(5, 800), answer)

    def _start_worker(self, effect: StartWorker) -> None:
        issue = effect.issue
        state = self.state
        assert issue.id not in self.workers, f"two workers for {issue.identifier}"
        assert len(state.running) <= state.config.max_concurrent_agents, "global slots exceeded"
        norm = normalize_state(issue.state)
        in_state = sum(1 for e in state.running.values() if normalize_state(e.issue.state) == norm)
        assert in_state <= state.config.state_limit(norm), f"per-state slots exceeded for {norm}"
        assert state.config_error is None, "dispatched while the workflow was invalid"
        assert self.now >= self.not_before.get(issue.id, 0.0), "re-dispatched before its retry"
        expected = self.expect_resume.pop(issue.id, None)
        if effect.resume_thread_id is not None:
            assert expected is not None, "resumed a thread no restart cut short"
            assert (effect.attempt, effect.resume_thread_id) == expected, "resumed the wrong run"
            self.stats.resumed += 1
        self.stats.dispatches += 1
        self.dispatched.add(issue.id)
        self.worked.add(issue.id)
        worker = Worker(issue.id, effect.run_id)
        self.workers[issue.id] = worker
        self.workspaces.add(issue.identifier)
        self.at(
            self.rng.uniform(10, 500),
            lambda: self._report(
                worker, WorkerInfo(issue.id, worker.run_id, f"/ws/{issue.identifier}")
            ),
        )
        self._plan(worker, issue)

    def _plan(self, worker: Worker, issue: Issue) -> None:
        rng = self.rng
        roll = rng.random()
        duration = rng.uniform(2_000, 600_000)
        if not self.chaos or roll < 0.45:
            outcome = "finish"  # the agent moves the issue on, like a real run
        elif roll < 0.7:
            outcome = "ok"
        elif roll < 0.9:
            outcome = "fail"
        else:
            outcome = "stall"
        interval = rng.uniform(5_000, 50_000)

        def beat() -> None:
            if not worker.alive:
                return
            worker.events += 1
            total = worker.events * 100
            self._report(
                worker,
                AgentUpdate(
                    issue.id,
                    worker.run_id,
                    "notification",
                    session_id=f"s-{worker.run_id}",
                    thread_id=f"t-{worker.run_id}",
                    usage=TokenUsage(total_tokens=total),
                ),
            )
            if worker.events * interval < duration:
                self.at(interval, beat)

        if outcome != "stall":
            self.at(interval, beat)

            def end() -> None:
                if not worker.alive:
                    return
                if outcome == "finish":
                    self._put(replace(self.board[issue.id], state=rng.choice(OTHER + TERMINAL)))
                worker.alive = False
                del self.workers[issue.id]
                self.send(WorkerExited(issue.id, worker.run_id, outcome != "fail", "boom"))

            self.at(duration, end)

    def _report(self, worker: Worker, event: Event) -> None:
        if worker.alive:
            self.send(event)

    def _stop_worker(self, effect: StopWorker) -> None:
        worker = self.workers.get(effect.issue_id)
        assert worker is not None and worker.run_id == effect.run_id, "stop for an unknown worker"
        worker.alive = False
        del self.workers[effect.issue_id]
        self.stats.stops += 1
        if effect.reason.startswith("stalled"):
            self.stats.stalls_killed += 1
        if effect.cleanup:
            self.stats.cleanups += 1
            self.workspaces.discard(effect.identifier)

    # --- restarts ---------------------------------------------------------------------------

    def schedule_restarts(self, until_ms: float, *, mean_ms: float = 600_000) -> None:
        def restart() -> None:
            if self.now < until_ms:
                self.restart(crash=self.restart_rng.random() < 0.5)
                self.at(self.restart_rng.expovariate(1 / mean_ms), restart, service=False)

        self.at(self.restart_rng.expovariate(1 / mean_ms), restart, service=False)

    def restart(self, *, crash: bool) -> None:
        """Stop the service (SIGTERM) or kill it, then start a new one on the store."""
        self.stats.restarts += 1
        if crash:
            self.stats.crashes += 1
            self.store.crashed(self.now)
        else:
            self.send(ShutdownRequested())
        # The old service's timers and reads are gone with it; so are its agents: a clean stop
        # kills them, and after a crash the next start kills their process groups first.
        self.epoch += 1
        for worker in self.workers.values():
            worker.alive = False
        self.workers.clear()
        self.retry_timers.clear()
        self.inflight_retry_fetches.clear()
        self.tick_token += 1
        stored_retries = dict(self.store.retries)
        saved_tokens = self.store.tokens
        self.state = OrchestratorState(config=self.config, config_error=self.config_error)
        event = self.store.restored()
        self.expect_resume = {r.issue_id: (r.attempt, r.thread_id) for r in event.resumable}
        self.send(event)
        # No retry lost: each comes back with its attempt and its due time.
        restored = self.state.retry_attempts
        assert set(restored) == set(stored_retries), "a stored retry was not restored"
        for issue_id, entry in restored.items():
            kept = stored_retries[issue_id]
            assert (entry.attempt, entry.due_ms) == (kept.attempt, kept.due_ms), "retry changed"
            # Its timer is the new service's: it must not fire before the stored due time.
            self.not_before[issue_id] = kept.due_ms
        self.stats.retries_restored += len(restored)
        assert self.state.totals.tokens.total_tokens == saved_tokens, "totals did not continue"
        self.send(Started())

    # --- invariants -------------------------------------------------------------------------

    def check_invariants(self) -> None:
        state = self.state
        live = {i: w.run_id for i, w in self.workers.items()}
        running = {i: e.run_id for i, e in state.running.items()}
        assert live == running, "core running map and live workers disagree"
        for issue_id, entry in state.retry_attempts.items():
            assert issue_id not in state.running, "issue both running and queued for retry"
            if entry.fetching:
                assert (issue_id, entry.token) in self.inflight_retry_fetches, "retry fetch lost"
            else:
                assert self.retry_timers.get(issue_id) == entry.token, "retry timer lost"
        assert len(state.blocked) <= BLOCKED_LIMIT, "blocked list unbounded"
        self.stats.most_blocked = max(self.stats.most_blocked, len(state.blocked))
        for issue_id, row in state.blocked.items():
            assert not state.is_claimed(issue_id), "a claimed issue listed as blocked"
            assert not policy.is_candidate(row.issue, state.config), "eligible issue blocked"
            assert policy.is_active(row.issue, state.config), "inactive issue listed as blocked"
        terminal = {normalize_state(s) for s in TERMINAL}
        for issue_id in state.running.keys() | state.retry_attempts.keys():
            if normalize_state(self.board[issue_id].state) in terminal:
                self.claimed_while_terminal.add(issue_id)

    def terminal_workspaces_left(self) -> set[str]:
        """Workspaces that must be gone by now: issues a worker had, whose board state is
        terminal (whether the core still held them or had released them), plus any the core
        saw as terminal while it held a claim."""
        terminal = {normalize_state(s) for s in TERMINAL}
        closed = {
            issue_id
            for issue_id in self.worked
            if normalize_state(self.board[issue_id].state) in terminal
        }
        must_go = {self.board[i].identifier for i in closed | self.claimed_while_terminal}
        return must_go & self.workspaces

    def eligible(self, issue: Issue) -> bool:
        config = self.config
        state = normalize_state(issue.state)
        labels = set(issue.labels)
        return (
            state in config.active_states
            and issue.dispatchable
            and all(label in labels for label in config.required_labels)
        )

    def summary(self) -> dict[str, Any]:
        return {**self.stats.__dict__, "sim_minutes": round(self.now / 60_000, 1)}
