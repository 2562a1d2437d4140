"""The runtime's side of tracker webhooks: which adapter answers, replays, and scope.

A delivery goes to the current adapter when it is a ``WebhookSource`` for the provider named in
the URL and has a secret; the adapter checks the signature and the timestamp and says which
issues the event is about. This module then refuses a delivery it already accepted, keeps the
issues in the configured scope (plus any the service holds or watches), and hands them back for
a targeted refresh. Nothing here touches the tracker except ``webhook_scope``, and only for a
delivery that passed every check.

Replays: an accepted delivery is remembered by its delivery id *and* by a digest of its signed
body, because the delivery id travels in an unsigned header that a replayer could change. The
memory outlives adapter changes (a reload that edits ``tracker.*``), keeps each delivery for
``REPLAY_KEEP_S`` (well past any timestamp window an adapter accepts) and at most
``REPLAY_LIMIT`` deliveries, forgetting the oldest first. Refused deliveries are not
remembered, so the provider's own retry of a delivery we could not take is not mistaken for a
replay.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from symphony.errors import SymphonyError
from symphony.logs import get_logger
from symphony.trackers.base import TrackerAdapter, WebhookSource
from symphony.webhooks import (
    ACCEPTED,
    IGNORED,
    REPLAYED_DELIVERY,
    WEBHOOKS_NOT_ENABLED,
    WebhookDelivery,
    WebhookNotice,
    WebhookReceipt,
    WebhookRejected,
)

log = get_logger("symphony.orchestrator")

REPLAY_KEEP_S = 600.0
REPLAY_LIMIT = 10_000


class ReplayMemory:
    """Keys of accepted deliveries, each kept for ``keep_s`` seconds, at most ``limit`` of them."""

    def __init__(
        self,
        *,
        limit: int = REPLAY_LIMIT,
        keep_s: float = REPLAY_KEEP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._keep_s = keep_s
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, keys: Iterable[str]) -> bool:
        self._expire()
        return any(key in self._seen for key in keys)

    def remember(self, keys: Iterable[str]) -> None:
        now = self._clock()
        for key in keys:
            self._seen[key] = now
            self._seen.move_to_end(key)
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._seen.pop(key, None)

    def _expire(self) -> None:
        horizon = self._clock() - self._keep_s
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest > horizon:
                return
            self._seen.popitem(last=False)


class WebhookInbox:
    """Checks deliveries for the runtime; one per runtime, across adapter changes."""

    def __init__(
        self,
        *,
        wall_ms: Callable[[], float] = lambda: time.time() * 1000.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall_ms = wall_ms
        self._clock = clock
        self._replays: dict[str, ReplayMemory] = {}

    async def receive(
        self,
        adapter: TrackerAdapter,
        provider: str,
        delivery: WebhookDelivery,
        *,
        watched: Callable[[str], bool],
        timeout_s: float,
    ) -> WebhookReceipt:
        """The answer; ``issue_ids`` of an accepted one are for a targeted refresh."""
        if not isinstance(adapter, WebhookSource) or adapter.webhook_provider != provider:
            return WebhookReceipt(
                404,
                WEBHOOKS_NOT_ENABLED,
                f"this service takes no {provider} webhooks: tracker.kind is {adapter.kind}",
            )
        problem = adapter.webhook_problem()
        if problem is not None:
            return WebhookReceipt(404, WEBHOOKS_NOT_ENABLED, problem)
        try:
            notice = adapter.verify_webhook(delivery, self._wall_ms())
        except WebhookRejected as exc:
            log.warning("webhook refused", provider=provider, code=exc.code, error=exc.message)
            return WebhookReceipt.refused(exc)
        keys = (f"delivery:{notice.delivery_id}", f"body:{notice.fingerprint}")
        replays = self._replays.setdefault(provider, ReplayMemory(clock=self._clock))
        if replays.seen(keys):
            message = f"delivery {notice.delivery_id} was already accepted"
            log.warning("webhook refused", provider=provider, code=REPLAYED_DELIVERY, error=message)
            return WebhookReceipt(401, REPLAYED_DELIVERY, message)
        # Remembered before the first await, so a copy arriving meanwhile is refused too.
        replays.remember(keys)
        try:
            issue_ids, note = await self._in_scope(adapter, notice, watched, timeout_s)
        except BaseException:
            replays.forget(keys)  # not answered: the provider's retry must get through
            raise
        if not issue_ids:
            log.debug("webhook ignored", provider=provider, subject=notice.subject, reason=note)
            return WebhookReceipt(200, IGNORED, note or f"{notice.subject} changes nothing here")
        log.info(
            "webhook accepted, refreshing issues",
            provider=provider,
            subject=notice.subject,
            issue_ids=",".join(issue_ids),
        )
        return WebhookReceipt(202, ACCEPTED, f"refreshing {notice.subject}", issue_ids)

    async def _in_scope(
        self,
        adapter: WebhookSource,
        notice: WebhookNotice,
        watched: Callable[[str], bool],
        timeout_s: float,
    ) -> tuple[tuple[str, ...], str | None]:
        if not notice.issue_ids:
            return (), notice.note
        try:
            scope = await asyncio.wait_for(adapter.webhook_scope(notice), timeout=timeout_s)
        except (SymphonyError, TimeoutError) as exc:
            # The refresh reads by id within the configured scope anyway: an issue outside it
            # comes back missing and changes nothing, so refreshing is the safe answer.
            log.warning(
                "webhook scope unknown, refreshing the issues anyway",
                subject=notice.subject,
                error=getattr(exc, "message", None) or f"timed out after {timeout_s:g} s",
            )
            return notice.issue_ids, None
        inside = set(scope.issue_ids)
        # An issue the service holds or watches matters even outside the scope (it just left).
        ids = [i for i in notice.issue_ids if i in inside or watched(i)]
        return tuple(ids), scope.note
