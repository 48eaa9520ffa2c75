"""Turn a non-success HTTP response into the matching :mod:`mysdk.errors` class."""

from __future__ import annotations

import time
from typing import Any

import requests

from mysdk.errormap import DEFAULT_ERROR_MAP, ErrorInfo, ErrorMap
from mysdk.errors import APIResponseError, APIStatusError, RedirectError, safe_url
from mysdk.redirects import resolve_location
from mysdk.retry import parse_retry_after
from mysdk.timing import server_timing

__all__ = ["error_from_body", "error_from_response"]

_REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id", "X-Correlation-Id")
_MAX_TEXT = 2000  # characters of a non-JSON error body kept on the error
_MAX_DEPTH = 32  # nesting levels of a JSON error body kept parsed; deeper is kept as text


def error_from_response(
    resp: requests.Response, method: str, url: str, attempts: int = 1, note: str = "",
    *, body_truncated: bool = False, error_map: ErrorMap = DEFAULT_ERROR_MAP,
) -> APIStatusError:
    """Build the error for ``resp`` (status >= 300) without raising it.

    Args:
        resp: The response.
        method: HTTP method of the request.
        url: The request URL (userinfo is stripped by the error).
        attempts: Attempts the call made.
        note: Extra text for the message (e.g. why a 401 was not replayed).
        body_truncated: The body was cut at :data:`mysdk.errors.MAX_ERROR_BODY`
            bytes; JSON is then not parsed and the text is kept.
        error_map: Reads the API's error envelope and picks registered classes.

    Returns:
        An instance of the class ``error_map`` picks (by error code, by status,
        else :func:`mysdk.errors.status_error_class`), with ``body`` (JSON or
        text), ``code``, ``details``, ``request_id`` (header, else envelope),
        ``retry_after`` (RFC 9110 §10.2.3, seconds) and ``server_timing`` filled in.
    """
    body = _body(resp, body_truncated)
    info = error_map.read(body)
    error = _build(resp, method, url, body, info, error_map.error_class(resp.status_code, info),
                   attempts, note)
    error.body_truncated = body_truncated
    if isinstance(error, RedirectError):
        target = resolve_location(url, resp.headers.get("Location"))
        error.location = safe_url(target) if target else ""
    return error


def error_from_body(
    resp: requests.Response, method: str, url: str, body: Any, info: ErrorInfo,
    *, error_map: ErrorMap = DEFAULT_ERROR_MAP, attempts: int = 1,
) -> APIStatusError:
    """Build the error for a 2xx whose decoded ``body`` reports a failure.

    Returns:
        The class registered for ``info.code`` in ``error_map``, else
        :class:`~mysdk.errors.APIResponseError`.
    """
    cls = error_map.error_class(resp.status_code, info, default=APIResponseError)
    if not issubclass(cls, APIResponseError) and resp.status_code not in error_map.by_status \
            and (info.code is None or info.code not in error_map.by_code):
        cls = APIResponseError
    return _build(resp, method, url, body, info, cls, attempts, "")


def _build(
    resp: requests.Response, method: str, url: str, body: Any, info: ErrorInfo | None,
    cls: type[APIStatusError], attempts: int, note: str,
) -> APIStatusError:
    status = resp.status_code
    url = safe_url(url)  # the message must not carry userinfo (a password)
    headers = dict(resp.headers)
    reason = getattr(resp, "reason", None) or getattr(resp, "reason_phrase", "")  # requests, httpx
    message = f"HTTP {status} {reason or ''}".rstrip() + f" for {method} {url}"
    summary = (info.message if info is not None and info.message else None) or _summary(body)
    if info is not None and info.code:
        summary = f"[{info.code}] {summary}" if summary else f"[{info.code}]"
    if summary:
        message += f": {summary}"
    if note:
        message += f" ({note})"
    header_id = next((resp.headers[h] for h in _REQUEST_ID_HEADERS if h in resp.headers), None)
    error = cls(
        message,
        status_code=status,
        headers=headers,
        body=body,
        method=method,
        url=url,
        request_id=header_id or (info.request_id if info is not None else None),
        retry_after=parse_retry_after(resp.headers.get("Retry-After"), now=time.time()),
        attempts=attempts,
        response=resp,
    )
    if info is not None:
        error.code = info.code
        error.details = info.details
    timing = server_timing(resp.headers)
    if timing:
        error.server_timing = timing
    return error


def _body(resp: requests.Response, truncated: bool) -> Any:
    if not resp.content:
        return ""
    if not truncated and "json" in resp.headers.get("Content-Type", ""):
        try:
            parsed = resp.json()
        except (ValueError, RecursionError):  # malformed, or nested deeper than the stack
            parsed = None
        if parsed is not None and _shallow(parsed):
            return parsed
    try:
        return resp.text[:_MAX_TEXT]
    except (LookupError, ValueError):  # an unknown charset in Content-Type
        return resp.content[:_MAX_TEXT].decode("utf-8", "replace")


def _shallow(value: Any) -> bool:
    """True when ``value`` nests at most :data:`_MAX_DEPTH` levels (an error must
    pickle and print without hitting the recursion limit)."""
    level: list[Any] = [value]
    for _ in range(_MAX_DEPTH):
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return True
    return False


def _summary(body: Any) -> str:
    """The server's own short explanation, if the body has one."""
    if isinstance(body, dict):
        for field in ("message", "error_description", "detail", "error", "title"):
            value = body.get(field)
            if isinstance(value, str) and value:
                return value[:200]
        return ""
    return body[:200] if isinstance(body, str) else ""
