"""One call's state across attempts, and how its URL and query are built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mysdk._body import Body
from mysdk.errors import InvalidRequestError
from mysdk.retry import RetryPolicy, is_replay_safe

_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})

__all__ = ["Call", "build_url", "normalise_params"]


class Call:
    """What :meth:`mysdk.Client.request` sends, fixed before the first attempt.

    ``attempt``, ``reauthed`` and ``note`` change as the call proceeds.
    """

    __slots__ = ("_operation", "attempt", "auth", "body", "deadline", "has_key", "headers",
                 "hops", "marked", "method", "note", "params", "policy", "reauthed",
                 "replay_safe", "send_auth", "started", "stream", "timeout", "truncated", "url")

    def __init__(
        self, *, method: str, url: str, params: Mapping[str, Any] | None,
        body: Body, headers: dict[str, str], timeout: Any, policy: RetryPolicy,
        replay_safe: bool, started: float, has_key: bool = False, auth: Any = None,
        send_auth: Any = None, operation: str | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.params = params
        self.body = body
        self.headers = headers
        self.timeout = timeout
        self.policy = policy
        self.replay_safe = replay_safe
        self.started = started  # monotonic seconds, for the retry budget
        # The call's total deadline (the retry budget) also bounds each body read.
        budget = policy.total_budget
        self.deadline = None if budget is None else started + budget
        self.has_key = has_key
        self.auth = auth  # the Credentials stamped on each attempt, or None
        self.send_auth = send_auth  # requests' auth= (keeps session.auth/netrc off)
        self._operation = operation
        self.stream = False  # a 2xx body is left unread for the caller to stream
        self.marked = False  # a middleware marked the last response retryable
        self.hops = 0  # redirects followed
        self.truncated = False  # the last response's body was cut at MAX_ERROR_BODY
        self.attempt = 0
        self.reauthed = False  # at most one refresh-and-replay per call
        self.note = ""  # appended to the final error's message

    def follow(self, method: str, url: str, *, keep_body: bool) -> None:
        """Turn the call into the next hop of a redirect (see :mod:`mysdk.redirects`)."""
        self.hops += 1
        self.url = url
        self.params = None  # the Location carries the whole query
        if not keep_body:
            self.body = Body()
            for name in [n for n in self.headers if n.lower() in _BODY_HEADERS]:
                del self.headers[name]
        if method != self.method:
            self.method = method
            self.replay_safe = is_replay_safe(method, has_idempotency_key=self.has_key,
                                              policy=self.policy)

    @property
    def operation(self) -> str:
        """The operation's name: the declared one, else ``"METHOD /path"``."""
        return self._operation or f"{self.method} {self.path}"

    @property
    def path(self) -> str:
        """The URL's path, for events and logs (derived only when one is emitted)."""
        return urlsplit(self.url).path


def build_url(base_url: str, path: str) -> str:
    """Join ``path`` to ``base_url``.

    Raises:
        InvalidRequestError: ``path`` is an absolute URL on another origin
            (credentials must not be sent there) or not a string.
    """
    if not isinstance(path, str):
        raise InvalidRequestError(f"path must be a string, got {type(path).__name__}")
    if path.startswith(("http://", "https://")):
        target, base = urlsplit(path), urlsplit(base_url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise InvalidRequestError(
                f"refusing to send credentials to another origin: {target.scheme}://"
                f"{target.hostname} is not {base.scheme}://{base.hostname}"
            )
        return path
    return base_url + path if path.startswith("/") else f"{base_url}/{path}"


def normalise_params(params: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Drop ``None`` values; send booleans as ``true``/``false``; keep ``0`` and ``False``."""
    if not params:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out
