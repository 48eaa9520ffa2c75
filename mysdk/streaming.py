"""Streamed responses: bytes, lines, NDJSON and Server-Sent Events as they arrive.

:meth:`mysdk.Client.stream` sends the call through the one request path (auth,
reauth, retries up to the response headers, rate limit, events) and hands back a
:class:`StreamResponse` whose body has not been read. Iterating reads it
incrementally; the connection is released when the iteration ends, when
:meth:`StreamResponse.close` is called, or when its ``with`` block exits.
Failures while reading are mysdk errors (``ServerDisconnectedError``,
``ReadTimeoutError``, ``DecodeError``), never raw ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Generic, NamedTuple, TypeVar

import requests
from urllib3.exceptions import HTTPError as _Urllib3Error
from urllib3.exceptions import ReadTimeoutError as _Urllib3ReadTimeout

from mysdk import errors

__all__ = ["ServerSentEvent", "Stream", "StreamResponse"]

T = TypeVar("T")

_CHUNK = 64 * 1024
_MAX_LINE = 16 * 1024 * 1024  # bytes; a line longer than this is a DecodeError


class ServerSentEvent(NamedTuple):
    """One event of a ``text/event-stream`` (WHATWG HTML §9.2 "Server-sent events").

    Attributes:
        event: The event type (``"message"`` when the stream named none).
        data: The data lines joined with ``"\\n"``.
        id: The last event id seen, or ``""``.
        retry: The reconnection time the server asked for, milliseconds, or None.
    """

    event: str
    data: str
    id: str
    retry: int | None

    def json(self) -> Any:
        """``data`` decoded as JSON.

        Raises:
            DecodeError: ``data`` is not JSON.
        """
        try:
            return json.loads(self.data)
        except (ValueError, RecursionError) as exc:
            raise errors.DecodeError(f"event data is not JSON: {type(exc).__name__}") from None


class StreamResponse:
    """A response whose body is read as it arrives.

    Attributes:
        status_code: The HTTP status (2xx).
        headers: The response headers.
        response: The underlying ``requests.Response`` (body unread).
    """

    def __init__(self, response: requests.Response, method: str, url: str) -> None:
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self._method = method
        self._url = url
        self._consumed = False

    def iter_bytes(self) -> Iterator[bytes]:
        """Chunks of the body (decoded Content-Encoding) as they arrive.

        Raises:
            ServerDisconnectedError: The connection broke mid-body.
            ReadTimeoutError: No data within the read timeout.
            InvalidRequestError: The body was already iterated.
        """
        if self._consumed:
            raise errors.InvalidRequestError("a streamed body can be iterated only once")
        self._consumed = True
        raw = self.response.raw
        try:
            while True:
                failure: BaseException | None = None
                try:
                    data = raw.read1(_CHUNK, decode_content=True)
                except (_Urllib3Error, OSError, ValueError) as exc:
                    failure = exc
                if failure is not None:
                    raise self._broken(failure)
                if not data:
                    return
                yield data
        finally:
            self.close()

    def iter_lines(self) -> Iterator[str]:
        """Lines of the body (UTF-8, without the line break) as they arrive.

        Raises:
            DecodeError: A line is not UTF-8 or is longer than 16 MiB.
            TransportError: As :meth:`iter_bytes`.
        """
        buffer = b""
        for chunk in self.iter_bytes():
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            if len(buffer) > _MAX_LINE:
                raise errors.DecodeError("a streamed line is longer than 16 MiB")
            for line in lines:
                yield _decode(line)
        if buffer:
            yield _decode(buffer)

    def iter_ndjson(self) -> Iterator[Any]:
        """One decoded JSON value per non-blank line (NDJSON / JSON Lines).

        Raises:
            DecodeError: A line is not JSON (the message gives its number).
            TransportError: As :meth:`iter_bytes`.
        """
        for number, line in enumerate(self.iter_lines(), start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise errors.DecodeError(
                    f"line {number} of the stream is not JSON: {type(exc).__name__}") from None

    def iter_sse(self) -> Iterator[ServerSentEvent]:
        """Server-Sent Events, parsed as WHATWG HTML §9.2.6 says.

        Comment lines (``:``) are skipped, ``data`` lines are joined with
        ``"\\n"``, an event is dispatched at a blank line, and one with no data
        is dropped; ``retry`` is kept when it is all digits.

        Raises:
            DecodeError, TransportError: As :meth:`iter_lines`.
        """
        event, last_id, retry = "", "", None
        data: list[str] = []
        for raw_line in self.iter_lines():
            line = raw_line.removesuffix("\r")
            if not line:
                if data:
                    yield ServerSentEvent(event or "message", "\n".join(data), last_id, retry)
                event, data = "", []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id" and "\0" not in value:
                last_id = value
            elif name == "retry" and value.isascii() and value.isdigit():
                retry = int(value)

    def close(self) -> None:
        """Release the connection (idempotent)."""
        self.response.close()

    def __enter__(self) -> StreamResponse:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _broken(self, failure: BaseException) -> errors.TransportError:
        kind = (errors.ReadTimeoutError if isinstance(failure, _Urllib3ReadTimeout)
                else errors.ServerDisconnectedError)
        return kind(f"stream broken off ({type(failure).__name__}) for {self._method} "
                    f"{errors.safe_url(self._url)}", method=self._method, url=self._url)


class Stream(Generic[T]):
    """A typed stream of items (NDJSON lines or SSE events parsed by ``parse``).

    Iterate it (once); use it as a context manager, or call :meth:`close`, to
    release the connection early.
    """

    def __init__(self, response: StreamResponse, parse: Callable[[Any], T],
                 fmt: str = "ndjson") -> None:
        self.response = response
        self._parse = parse
        self._fmt = fmt

    def __iter__(self) -> Iterator[T]:
        if self._fmt == "sse":
            for event in self.response.iter_sse():
                yield self._parse(event)
        elif self._fmt == "lines":
            for line in self.response.iter_lines():
                yield self._parse(line)
        else:
            for value in self.response.iter_ndjson():
                yield self._parse(value)

    def close(self) -> None:
        """Release the connection."""
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.DecodeError("a streamed line is not UTF-8") from None
