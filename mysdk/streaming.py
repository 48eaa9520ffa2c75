"""Streamed responses: bytes, lines, NDJSON and Server-Sent Events as they arrive.

:meth:`mysdk.Client.stream` sends the call through the one request path (auth,
reauth, retries up to the response headers, rate limit, events) and hands back a
:class:`StreamResponse` whose body has not been read. Iterating reads it
incrementally; the connection is released when the iteration ends, when
:meth:`StreamResponse.close` is called, or when its ``with`` block exits.
Failures while reading are mysdk errors (``ServerDisconnectedError``,
``ReadTimeoutError``, ``DecodeError``), never raw ones.

:class:`AsyncStreamResponse` and :class:`AsyncStream` are the same for an
``httpx.AsyncClient`` response (the ``async`` extra); this module itself never
imports httpx. Sync and async run the same incremental decoders
(:mod:`mysdk._decoders`), so lines, NDJSON values and events come out
identically:

* a line ends at CRLF, LF or a lone CR (also split across chunks); the break is
  not part of it; one UTF-8 byte order mark at the start of the body is dropped;
* a line must be UTF-8 and at most 16 MiB, else :class:`~mysdk.errors.DecodeError`
  (the bound holds while the line arrives: an endless line costs at most 16 MiB);
* SSE is parsed as WHATWG HTML §9.2.6 says, except that invalid UTF-8 is an
  error rather than U+FFFD.

What bounds a wait: each wait for the next bytes is bounded by the read timeout
(requests' read timeout, per socket read; httpx's ``read`` timeout, per network
read). A stream as a whole has no deadline (it may be endless), so a server
dripping a byte just inside the read timeout keeps it alive; bound the whole
with your own deadline (``asyncio.timeout()``, or stop iterating) if you need to.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import requests
from urllib3.exceptions import HTTPError as _Urllib3Error
from urllib3.exceptions import ReadTimeoutError as _Urllib3ReadTimeout

from mysdk import errors
from mysdk._decoders import Decoder, LineDecoder, NDJSONDecoder, ServerSentEvent, SSEDecoder

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncStream", "AsyncStreamResponse", "ServerSentEvent", "Stream", "StreamResponse"]

T = TypeVar("T")
_R = TypeVar("_R")

_CHUNK = 64 * 1024


class _Body(Generic[_R]):
    """What :class:`StreamResponse` and :class:`AsyncStreamResponse` share: the
    response, the call it answers (for messages) and the one-pass rule."""

    def __init__(self, response: _R, method: str, url: str) -> None:
        self.response = response
        self._method = method
        self._url = url
        self._consumed = False

    def _consume(self) -> None:
        """Mark the body as being iterated.

        Raises:
            InvalidRequestError: It was already.
        """
        if self._consumed:
            raise errors.InvalidRequestError("a streamed body can be iterated only once")
        self._consumed = True


def _decoder(fmt: str) -> Decoder[Any]:
    """The decoder of a typed stream's ``fmt``: ``"sse"``, ``"lines"``, else NDJSON."""
    if fmt == "sse":
        return SSEDecoder()
    if fmt == "lines":
        return LineDecoder()
    return NDJSONDecoder()


class StreamResponse(_Body[requests.Response]):
    """A response whose body is read as it arrives.

    Each wait for data is bounded by the call's read timeout; the stream as a
    whole is not (see the module's docstring).

    Attributes:
        status_code: The HTTP status (2xx).
        headers: The response headers.
        response: The underlying ``requests.Response`` (body unread).
    """

    def __init__(self, response: requests.Response, method: str, url: str) -> None:
        super().__init__(response, method, url)
        self.status_code = response.status_code
        self.headers = response.headers

    def iter_bytes(self) -> Iterator[bytes]:
        """Chunks of the body (decoded Content-Encoding) as they arrive.

        Raises:
            ServerDisconnectedError: The connection broke mid-body.
            ReadTimeoutError: No data within the read timeout.
            InvalidRequestError: The body was already iterated.
        """
        self._consume()
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

        A line ends at CRLF, LF or a lone CR; a leading byte order mark is dropped.

        Raises:
            DecodeError: A line is not UTF-8 or is longer than 16 MiB.
            TransportError: As :meth:`iter_bytes`.
        """
        return _drain(self.iter_bytes(), LineDecoder())

    def iter_ndjson(self) -> Iterator[Any]:
        """One decoded JSON value per non-blank line (NDJSON / JSON Lines).

        Raises:
            DecodeError: A line is not JSON (the message gives its number).
            TransportError: As :meth:`iter_bytes`.
        """
        return _drain(self.iter_bytes(), NDJSONDecoder())

    def iter_sse(self) -> Iterator[ServerSentEvent]:
        """Server-Sent Events, parsed as WHATWG HTML §9.2.6 says.

        Comment lines (``:``) are skipped, ``data`` lines are joined with
        ``"\\n"``, an event is dispatched at a blank line, and one with no data
        is dropped; ``id`` and ``retry`` (kept when all digits) carry over to
        later events; an event not closed by a blank line is dropped.

        Raises:
            DecodeError, TransportError: As :meth:`iter_lines`.
        """
        return _drain(self.iter_bytes(), SSEDecoder())

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
        for value in _drain(self.response.iter_bytes(), _decoder(self._fmt)):
            yield self._parse(value)

    def close(self) -> None:
        """Release the connection."""
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncStreamResponse(_Body["httpx.Response"]):
    """A streamed ``httpx.Response`` (status already checked: 2xx), read as it arrives.

    The async twin of :class:`StreamResponse`: the same methods with ``a`` in
    front, the same lines, values, events and errors. Iterate one of the
    ``aiter_*`` methods (once), then the connection is released; to release it
    early, ``await aclose()`` or use ``async with``.

    What bounds a wait: each network read is bounded by the client's httpx
    ``read`` timeout (seconds), so every wait for the next chunk ends within it
    (:class:`~mysdk.errors.ReadTimeoutError`); the stream as a whole has no
    deadline. Wrap the iteration in ``asyncio.timeout(seconds)`` to bound it; a
    cancelled iteration still releases the connection.

    Args:
        response: From ``httpx.AsyncClient.send(..., stream=True)``, body unread.
        method: The HTTP method, for error messages.
        url: The request URL, for error messages (redacted there).

    Attributes:
        status_code: The HTTP status (2xx).
        headers: The response headers (``httpx.Headers``, case-insensitive).
        response: The underlying ``httpx.Response`` (body unread).
    """

    def __init__(self, response: httpx.Response, method: str, url: str) -> None:
        super().__init__(response, method, url)
        self.status_code = response.status_code
        self.headers = response.headers

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Chunks of the body (decoded Content-Encoding) as they arrive.

        Raises:
            ServerDisconnectedError: The connection broke mid-body.
            ReadTimeoutError: No data within the read timeout.
            TransportError: Another httpx transport failure (mapped by
                :func:`mysdk._httpx.map_httpx_exception`; never a raw httpx error).
            InvalidRequestError: The body was already iterated, or the response
                was closed before it was read.
        """
        self._consume()
        # Only an httpx response gets here, so httpx is installed.
        import httpx

        from mysdk._httpx import map_httpx_exception

        chunks = self.response.aiter_bytes()
        try:
            while True:
                failure: BaseException | None = None
                try:
                    data = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
                    failure = exc
                if failure is not None:  # raised outside the except: no raw __context__
                    raise map_httpx_exception(failure, self._method, self._url)
                if data:
                    yield data
        finally:
            # httpx's own iterator first (so nothing is left to the garbage
            # collector), then the response, whose close maps its failures.
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(httpx.HTTPError, httpx.StreamError, OSError):
                    await aclose()
            await self.aclose()

    def aiter_lines(self) -> AsyncGenerator[str, None]:
        """Lines of the body (UTF-8, without the line break) as they arrive.

        A line ends at CRLF, LF or a lone CR; a leading byte order mark is dropped.

        Raises:
            DecodeError: A line is not UTF-8 or is longer than 16 MiB.
            TransportError: As :meth:`aiter_bytes`.
        """
        return _adrain(self.aiter_bytes(), LineDecoder())

    def aiter_ndjson(self) -> AsyncGenerator[Any, None]:
        """One decoded JSON value per non-blank line (NDJSON / JSON Lines).

        Raises:
            DecodeError: A line is not JSON (the message gives its number).
            TransportError: As :meth:`aiter_bytes`.
        """
        return _adrain(self.aiter_bytes(), NDJSONDecoder())

    def aiter_sse(self) -> AsyncGenerator[ServerSentEvent, None]:
        """Server-Sent Events, parsed as :meth:`StreamResponse.iter_sse` parses them.

        Raises:
            DecodeError, TransportError: As :meth:`aiter_lines`.
        """
        return _adrain(self.aiter_bytes(), SSEDecoder())

    async def aclose(self) -> None:
        """Release the connection (idempotent).

        Raises:
            TransportError: Closing the connection failed (mapped, never raw).
        """
        import httpx

        from mysdk._httpx import map_httpx_exception

        failure: BaseException | None = None
        try:
            await self.response.aclose()
        except (httpx.HTTPError, OSError) as exc:
            failure = exc
        if failure is not None:
            raise map_httpx_exception(failure, self._method, self._url)

    async def __aenter__(self) -> AsyncStreamResponse:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()


class AsyncStream(Generic[T]):
    """A typed async stream of items (NDJSON lines or SSE events parsed by ``parse``).

    The async twin of :class:`Stream`: ``async for item in stream`` (once);
    ``async with stream`` or ``await stream.aclose()`` releases the connection
    early. Waits are bounded as :class:`AsyncStreamResponse` says.

    Args:
        response: The streamed response.
        parse: Builds one item from a JSON value (``"ndjson"``), a
            :class:`ServerSentEvent` (``"sse"``) or a line (``"lines"``).
        fmt: ``"ndjson"`` (also for anything unknown, as :class:`Stream`),
            ``"sse"`` or ``"lines"``.
    """

    def __init__(self, response: AsyncStreamResponse, parse: Callable[[Any], T],
                 fmt: str = "ndjson") -> None:
        self.response = response
        self._parse = parse
        self._fmt = fmt

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        source = _adrain(self.response.aiter_bytes(), _decoder(self._fmt))
        try:
            async for value in source:
                yield self._parse(value)
        finally:
            await source.aclose()

    async def aclose(self) -> None:
        """Release the connection (idempotent)."""
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()


# -- the shells: the same decoder driven by a sync or an async source of chunks ------


def _drain(chunks: Iterator[bytes], decoder: Decoder[T]) -> Iterator[T]:
    try:
        for chunk in chunks:
            yield from decoder.feed(chunk)
        yield from decoder.close()
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:  # releases the connection on a decode error too
            close()


async def _adrain(chunks: AsyncGenerator[bytes, None],
                  decoder: Decoder[T]) -> AsyncGenerator[T, None]:
    try:
        async for chunk in chunks:
            for item in decoder.feed(chunk):
                yield item
        for item in decoder.close():
            yield item
    finally:
        await chunks.aclose()  # releases the connection on a decode error too
