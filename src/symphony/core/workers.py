"""SSH worker hosts in the scheduling core (SPEC Appendix A, docs/workers.md).

Which host a run goes to, how loaded each one is, and which are down. Pure: the runtime reports
a host failure as the worker's exit code (``host_unreachable``); a host is down until its
cooldown passes, and nothing is placed on it meanwhile. With hosts configured nothing ever runs
on this machine: no host with room means the issue waits (``no_worker_capacity``).
"""

from __future__ import annotations

from symphony.core.effects import Effect, Log, Notify
from symphony.core.state import HostHealth, OrchestratorState

HOST_UNREACHABLE = "host_unreachable"
NO_WORKER_CAPACITY = "no_worker_capacity"
NO_WORKER_CAPACITY_ERROR = "no_worker_capacity: no worker host is up with a free slot"


def enabled(state: OrchestratorState) -> bool:
    return bool(state.config.worker_hosts)


def load(state: OrchestratorState) -> dict[str, int]:
    """Running agents per configured host (hosts with none included)."""
    counts = dict.fromkeys(state.config.worker_hosts, 0)
    for entry in state.running.values():
        host = entry.worker_host
        if host is not None and host in counts:
            counts[host] += 1
    return counts


def is_down(state: OrchestratorState, host: str, now: float) -> bool:
    health = state.hosts.get(host)
    return health is not None and health.down_until_ms is not None and health.down_until_ms > now


def pick(state: OrchestratorState, now: float, preferred: str | None = None) -> str | None:
    """The host for a new run: ``preferred`` (a retry's previous host, its workspace is there)
    when it is up with room, else the least loaded up host with room, ties by config order.
    None: no host can take it now."""
    cap = state.config.max_agents_per_host
    counts = load(state)

    def free(host: str) -> bool:
        return not is_down(state, host, now) and (cap is None or counts[host] < cap)

    if preferred is not None and preferred in counts and free(preferred):
        return preferred
    best: str | None = None
    for host in state.config.worker_hosts:
        if free(host) and (best is None or counts[host] < counts[best]):
            best = host
    return best


def has_room(state: OrchestratorState, now: float) -> bool:
    """True without hosts (local runs), else whether some host can take a run now."""
    return not enabled(state) or pick(state, now) is not None


def mark_down(
    state: OrchestratorState, host: str, error: str | None, now: float, out: list[Effect]
) -> None:
    until = now + state.config.host_cooldown_ms
    state.hosts[host] = HostHealth(down_until_ms=until, error=error)
    out.append(
        Log.warning(
            "worker host down",
            worker_host=host,
            cooldown_ms=state.config.host_cooldown_ms,
            error=error,
        )
    )
    out.append(Notify())


def forget_recovered(state: OrchestratorState, now: float) -> None:
    """Drop the health rows of hosts whose cooldown passed (and of hosts no longer listed)."""
    for host in list(state.hosts):
        if host not in state.config.worker_hosts or not is_down(state, host, now):
            del state.hosts[host]
