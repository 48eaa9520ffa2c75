"""What the client reports as it works: one :class:`Event` per step.

Pass ``on_event=callable`` to :class:`~mysdk.Client` to receive them; the same
facts go to the ``mysdk`` logger (DEBUG for each response, INFO for retries and
token fetches). Events never carry a secret: paths, statuses, timings and token
fingerprints only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal, NamedTuple, TypeAlias

__all__ = ["Event", "EventHook", "EventKind", "emit"]

logger = logging.getLogger("mysdk")

EventKind: TypeAlias = Literal[
    "response",        # an attempt got an HTTP response (any status)
    "error",           # an attempt failed without a response (transport error)
    "retry",           # the client will sleep ``delay`` seconds and try again
    "reauth",          # a 401 made the client refresh its token and replay once
    "redirect",        # a same-origin 3xx is followed (``reason`` is the next path)
    "token_fetched",   # a token request succeeded (``reason`` names the grant)
    "rate_limited",    # the client-side limiter made the call wait ``delay`` seconds
]


class Event(NamedTuple):
    """One observable step of a call.

    Attributes:
        kind: What happened (see :data:`EventKind`).
        method: HTTP method, e.g. ``"GET"`` (``"POST"`` for token requests).
        path: Request path without query string, e.g. ``"/api/v1/cars/3"``.
        attempt: 1-based attempt number within the call (0 for token events).
        status: HTTP status code, or ``None`` when there was no response.
        elapsed: Seconds the attempt (or token request) took, or ``None``.
        delay: Seconds the client will sleep (``retry``, ``rate_limited``), else ``None``.
        reason: Short machine-friendly reason, e.g. ``"status 503"``,
            ``"ConnectError"``, ``"client_credentials"``, ``"refresh_token"``.
        operation: The operation's name (``"cats.get"``, or ``"GET /path"``).
        request_id: The response's request id header, or None.
        server_time: Milliseconds the server reports for the request
            (``Server-Timing`` total/first ``dur``, or ``X-API-Time``), or None.
    """

    kind: EventKind
    method: str = ""
    path: str = ""
    attempt: int = 0
    status: int | None = None
    elapsed: float | None = None
    delay: float | None = None
    reason: str = ""
    operation: str = ""
    request_id: str | None = None
    server_time: float | None = None


EventHook: TypeAlias = Callable[[Event], None]
"""A callable receiving each :class:`Event`; exceptions it raises propagate."""

_LEVELS = {"response": logging.DEBUG, "error": logging.INFO, "retry": logging.INFO,
           "reauth": logging.INFO, "redirect": logging.INFO, "token_fetched": logging.INFO,
           "rate_limited": logging.DEBUG}


def emit(hook: EventHook | None, event: Event, log: logging.Logger = logger) -> None:
    """Send ``event`` to ``hook`` (if any) and to ``log`` (the ``mysdk`` logger,
    or an SDK's own, see :class:`mysdk.Brand`)."""
    level = _LEVELS[event.kind]
    if log.isEnabledFor(level):
        log.log(
            level, "%s %s %s attempt=%d status=%s elapsed=%s delay=%s reason=%s",
            event.kind, event.method, event.path, event.attempt, event.status,
            _ms(event.elapsed), _ms(event.delay), event.reason,
        )
    if hook is not None:
        hook(event)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}ms"
