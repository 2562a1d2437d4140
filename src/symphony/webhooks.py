"""Tracker webhooks, provider-neutral: what the HTTP surface hands the runtime, what an adapter
reads out of a signed delivery, and what the runtime answers.

The flow (docs/trackers/linear.md, "Webhooks"): ``POST /api/v1/webhooks/<provider>`` reads the
body (at most ``MAX_BODY_BYTES``) -> ``RuntimeView.receive_webhook`` -> the current adapter,
if it is a ``WebhookSource`` for that provider, checks the signature and the timestamp and says
which issues the event is about -> the runtime refuses replays, keeps the issues in scope and
starts a targeted refresh of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from symphony.errors import SymphonyError

# Deliveries are small JSON documents (Linear's are a few KiB); anything bigger is refused
# before it is read into memory.
MAX_BODY_BYTES = 1_048_576

ACCEPTED = "accepted"
IGNORED = "ignored"
# Error codes of the answers (the adapters add their own for signatures and bodies).
WEBHOOKS_NOT_ENABLED = "webhooks_not_enabled"
REPLAYED_DELIVERY = "replayed_delivery"


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One POST as received: header names in lower case, and the raw body (the signature covers
    these exact bytes)."""

    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class WebhookNotice:
    """A delivery whose signature and timestamp the adapter checked.

    ``delivery_id`` is the provider's id for this delivery; ``fingerprint`` is a digest of the
    signed body, so a replay under a made-up delivery id is recognised too. ``issue_ids`` are
    the issues whose scheduling may have changed (empty: nothing to do, ``note`` says why).
    ``scopes`` are the provider's scope ids the event names (Linear: the issue's project before
    and after the change). ``subject`` names the event for messages, e.g. ``Issue SYM-12``.
    """

    delivery_id: str
    fingerprint: str
    subject: str
    issue_ids: tuple[str, ...] = ()
    scopes: frozenset[str] = frozenset()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookScope:
    """The notice's issues that are in the configured scope; ``note`` says why none are."""

    issue_ids: tuple[str, ...]
    note: str | None = None


class WebhookRejected(SymphonyError):
    """A delivery that is refused: ``status`` is the HTTP status to answer with."""

    code = "webhook_rejected"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """The runtime's answer: 202 ``accepted`` (``issue_ids`` are being refreshed), 200
    ``ignored`` (``message`` says why), or an error status with its error code."""

    status: int
    code: str
    message: str
    issue_ids: tuple[str, ...] = ()

    @classmethod
    def refused(cls, error: WebhookRejected) -> WebhookReceipt:
        return cls(error.status, error.code, error.message)
