"""Async streaming (AsyncStreamResponse, AsyncStream) and its sameness with the sync one.

Where sync and async must agree (line splitting, SSE parsing, NDJSON errors, the
line bound) one test runs both: the sync StreamResponse reads a scripted body
through urllib3's ``read1`` (each read returns one scripted chunk, so chunk
boundaries are exact), the async one an ``httpx.MockTransport`` stream yielding
the same chunks. Transport failures (a drip, a drop, a stall) use the hostile
loopback server. Every wait is bounded by a read timeout or ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import urllib3

import mysdk
from mysdk._decoders import MAX_LINE, LineDecoder, SSEDecoder
from mysdk.errors import DecodeError, InvalidRequestError, MySDKError
from mysdk.streaming import (
    AsyncStream,
    AsyncStreamResponse,
    ServerSentEvent,
    Stream,
    StreamResponse,
)
from tests.hostile.server import Request, drip, hostile_server

URL = "https://api.example.com/events"
IMPLS = ["sync", "async"]
CHUNK = 64 * 1024  # what the sync reader asks for per read


# -- scripted bodies: the same chunks for both implementations ------------------------


class ScriptedBody(io.RawIOBase):
    """A body for urllib3 whose every ``read1`` returns (at most) one scripted chunk."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._left = b""
        self.served = 0

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        if not self._left:
            self._left = next(self._chunks, b"")
            self.served += bool(self._left)
        if size is None or size < 0:
            size = len(self._left)
        out, self._left = self._left[:size], self._left[size:]
        return out

    def read(self, size: int = -1) -> bytes:
        return self.read1(size)


class ScriptedStream(httpx.AsyncByteStream):
    """An httpx body yielding the scripted chunks one by one, lazily."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.served = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.served += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Outcome:
    values: list[Any]
    error: MySDKError | None
    closed: bool  # the connection was released
    served: int  # chunks the source handed out


def sync_response(chunks: Iterable[bytes]) -> tuple[StreamResponse, ScriptedBody]:
    body = ScriptedBody(chunks)
    resp = requests.Response()
    resp.status_code = 200
    resp.raw = urllib3.HTTPResponse(body=body, preload_content=False, status=200,
                                    decode_content=True)
    return StreamResponse(resp, "GET", URL), body


def mock_client(streams: Iterator[ScriptedStream]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"X-Id": "7"}, stream=next(streams))))


async def async_response(client: httpx.AsyncClient) -> AsyncStreamResponse:
    resp = await client.send(client.build_request("GET", URL), stream=True)
    return AsyncStreamResponse(resp, "GET", URL)


def run(impl: str, chunkings: list[list[bytes]], mode: str) -> list[Outcome]:
    """Iterate ``iter_<mode>``/``aiter_<mode>`` over each chunking; collect what came."""
    if impl == "sync":
        outcomes = []
        for chunks in chunkings:
            stream, body = sync_response(chunks)
            values: list[Any] = []
            error = None
            try:
                values.extend(getattr(stream, f"iter_{mode}")())
            except MySDKError as exc:
                error = exc
            outcomes.append(Outcome(values, error, bool(stream.response.raw.closed),
                                    body.served))
        return outcomes

    async def main() -> list[Outcome]:
        scripted = [ScriptedStream(chunks) for chunks in chunkings]
        outcomes = []
        async with mock_client(iter(scripted)) as client:
            for source in scripted:
                stream = await async_response(client)
                values: list[Any] = []
                error = None
                try:
                    async for value in getattr(stream, f"aiter_{mode}")():
                        values.append(value)
                except MySDKError as exc:
                    error = exc
                outcomes.append(Outcome(values, error, stream.response.is_closed,
                                        source.served))
        return outcomes

    return asyncio.run(main())


def chunkings(body: bytes) -> list[list[bytes]]:
    """The body whole, one byte at a time, and split in two at every offset."""
    splits = [[body[:i], body[i:]] for i in range(1, len(body))]
    return [[body], [body[i:i + 1] for i in range(len(body))], *splits]


# -- tricky bodies: the same values and errors, sync and async, however chunked ------

LONG_RETRY = b"9" * 5000  # int() of this raises ValueError on Python >= 3.11

SSE_BODY = (
    b"\xef\xbb\xbf: a comment, then a BOM-less field name\r\n"
    b"retry: 1500\r\n"
    b"event: add\r\n"
    b'data: {"x": 1}\r\n'
    b"data:second\r\n"
    b"id: 7\r\n"
    b"\r\n"
    b"data\n"  # a field without a colon: data "" (an event with empty data)
    b"id: a\x00b\n"  # an id with NUL is ignored
    b"retry: 12x\n"  # not all digits: ignored
    b"retry: " + LONG_RETRY + b"\n"  # too long: ignored, not a crash
    b"unknown: y\n"
    b"\n"
    b"event: lonely\n"
    b"\n"  # no data: dropped, and its event name does not carry over
    b"data:  two spaces\r"  # lone CRs end lines
    b"\r"
    b"id:\n"  # an empty id resets the last event id
    b"data: z\n"
    b"\n"
    b"data: never dispatched: no blank line before the end\n"
)
SSE_EVENTS = [
    ("add", '{"x": 1}\nsecond', "7", 1500),
    ("message", "", "7", 1500),
    ("message", " two spaces", "7", 1500),
    ("message", "z", "", 1500),
]

CASES = [
    pytest.param(b"\xef\xbb\xbfone\r\ntwo\rthree\n\nfour\r\r\nfive \xc3\xa9\xe2\x82\xac", "lines",
                 ["one", "two", "three", "", "four", "", "five \u00e9\u20ac"], None,
                 id="crlf-cr-lf-bom-and-utf8-split-anywhere"),
    pytest.param(b"a\n\xef\xbb\xbfb\r\n", "lines", ["a", "\ufeffb"], None,
                 id="only-a-leading-bom-is-dropped"),
    pytest.param(b"\xef\xbb", "lines", [], "not UTF-8", id="a-bom-cut-short-is-invalid"),
    pytest.param(b"ok\r\n\xff\xfe\r\nnever\n", "lines", ["ok"], "not UTF-8",
                 id="invalid-utf8-after-a-good-line"),
    pytest.param(SSE_BODY, "sse", SSE_EVENTS, None, id="sse-fields-comments-retry-id-data"),
    pytest.param(b"data: a\r\n\r\ndata: \xc3\x28\r\n\r\n", "sse", [("message", "a", "", None)],
                 "not UTF-8", id="sse-invalid-utf8"),
    pytest.param(b'\xef\xbb\xbf{"n": 1}\r\n\r\n  \r\n{"n": [2]}', "ndjson", [{"n": 1}, {"n": [2]}],
                 None, id="ndjson-blank-lines-and-a-last-line-without-break"),
    pytest.param(b'{"n": 1}\n\n  \nnot json\n{"n": 3}\n', "ndjson", [{"n": 1}],
                 "line 4 of the stream is not JSON", id="ndjson-invalid-line-named"),
    pytest.param(b"[" * 100_000 + b"\n", "ndjson", [], "line 1 of the stream is not JSON",
                 id="ndjson-too-deep"),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("body", "mode", "values", "error"), CASES)
def test_tricky_bodies_decode_the_same_sync_and_async_however_chunked(
    impl: str, body: bytes, mode: str, values: list[Any], error: str | None,
) -> None:
    splits = chunkings(body) if len(body) < 1000 else [[body], [body[:7], body[7:]]]
    for chunks, outcome in zip(splits, run(impl, splits, mode), strict=True):
        where = f"chunks={[len(c) for c in chunks][:8]}"
        assert outcome.values == values, where
        if error is None:
            assert outcome.error is None, where
        else:
            assert isinstance(outcome.error, DecodeError), where
            assert re.search(error, str(outcome.error)), (where, str(outcome.error))
        assert outcome.closed, where  # released at the end, and on a decode error


def test_server_sent_event_keeps_its_public_home() -> None:
    event = ServerSentEvent("message", '{"a": 1}', "", None)
    assert ServerSentEvent is mysdk.ServerSentEvent
    assert ServerSentEvent.__module__ == "mysdk.streaming"
    assert event.json() == {"a": 1}


# -- the line bound, while the line is still arriving ---------------------------------


@pytest.mark.parametrize("impl", IMPLS)
def test_an_endless_line_stops_at_16_mib_without_reading_further(impl: str) -> None:
    limit = MAX_LINE // CHUNK  # chunks that make exactly 16 MiB
    endless = itertools.repeat(b"x" * CHUNK, limit + 64)  # 20 MiB, never a line break
    [outcome] = run(impl, [endless], "lines")  # type: ignore[list-item]
    assert isinstance(outcome.error, DecodeError)
    assert "longer than 16 MiB" in str(outcome.error)
    assert outcome.values == []
    assert outcome.served == limit + 1  # stopped at the first chunk past the bound
    assert outcome.closed


@pytest.mark.parametrize("impl", IMPLS)
def test_a_line_of_exactly_16_mib_passes_and_one_byte_more_does_not(impl: str) -> None:
    exact = [*itertools.repeat(b"x" * CHUNK, MAX_LINE // CHUNK), b"\r\nok\n"]
    over = [b"x" * (MAX_LINE + 1) + b"\n"]  # one chunk: complete, but too long
    fine, too_long = run(impl, [exact, over], "lines")
    assert fine.error is None
    assert [len(v) for v in fine.values] == [MAX_LINE, 2]
    assert isinstance(too_long.error, DecodeError)


def test_the_line_decoder_is_linear_for_a_line_dripped_a_byte_at_a_time() -> None:
    decoder = LineDecoder(max_line=1 << 20)
    started = time.perf_counter()
    for _ in range(200_000):
        assert list(decoder.feed(b"x")) == []
    assert [len(line) for line in decoder.feed(b"\n")] == [200_000]
    assert time.perf_counter() - started < 5.0  # quadratic re-scanning takes minutes


def test_sse_decoder_leaves_values_unread_for_the_next_feed() -> None:
    decoder = SSEDecoder()
    first = decoder.feed(b"data: a\n\ndata: b\n\n")
    assert next(first).data == "a"
    # the rest of the first chunk comes out, in order, before the second's
    assert [e.data for e in decoder.feed(b"data: c\n\n")] == ["b", "c"]


# -- typed streams ------------------------------------------------------------------

TYPED = [
    ("ndjson", b'{"n": 1}\n{"n": 2}\n', lambda v: v["n"], [1, 2]),
    ("sse", b"data: a\n\nevent: e\ndata: b\n\n", lambda e: (e.event, e.data),
     [("message", "a"), ("e", "b")]),
    ("lines", b"a\r\nb", str.upper, ["A", "B"]),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("fmt", "body", "parse", "expected"), TYPED)
def test_typed_streams_yield_the_same_items(
    impl: str, fmt: str, body: bytes, parse: Callable[[Any], Any], expected: list[Any],
) -> None:
    chunks = [body[i:i + 3] for i in range(0, len(body), 3)]
    if impl == "sync":
        response, _ = sync_response(chunks)
        with Stream(response, parse, fmt) as stream:
            items = list(stream)
        assert items == expected
        return

    async def main() -> list[Any]:
        async with mock_client(iter([ScriptedStream(chunks)])) as client:
            async with AsyncStream(await async_response(client), parse, fmt) as stream:
                items = [item async for item in stream]
            assert stream.response.response.is_closed
            return items

    assert asyncio.run(main()) == expected


def test_async_stream_released_early_and_on_a_parse_error() -> None:
    def parse(value: Any) -> int:
        if value["n"] == 2:
            raise DecodeError("bad item")
        return int(value["n"])

    async def main() -> None:
        sources = [ScriptedStream([b'{"n": 1}\n{"n": 2}\n{"n": 3}\n']) for _ in range(3)]
        async with mock_client(iter(sources)) as client:
            # leaving the async with after one item releases the connection
            async with AsyncStream(await async_response(client), parse) as stream:
                async for item in stream:
                    assert item == 1
                    break
            assert stream.response.response.is_closed
            # a parse error closes the source and the connection
            stream = AsyncStream(await async_response(client), parse)
            with pytest.raises(DecodeError, match="bad item"):
                _ = [item async for item in stream]
            assert stream.response.response.is_closed
            # never iterated: aclose() releases it
            stream = AsyncStream(await async_response(client), parse)
            await stream.aclose()
            assert stream.response.response.is_closed

    asyncio.run(main())


def test_async_stream_response_attributes_and_one_pass() -> None:
    async def main() -> None:
        async with mock_client(iter([ScriptedStream([b"a\n"]), ScriptedStream([b"b\n"])])) as c:
            async with await async_response(c) as response:
                assert (response.status_code, response.headers["x-id"]) == (200, "7")
                assert isinstance(response.response, httpx.Response)
                assert [line async for line in response.aiter_lines()] == ["a"]
                with pytest.raises(InvalidRequestError, match="only once"):
                    _ = [chunk async for chunk in response.aiter_bytes()]
            closed = await async_response(c)
            await closed.aclose()
            await closed.aclose()  # idempotent
            with pytest.raises(MySDKError):  # httpx's StreamClosed, mapped
                _ = [line async for line in closed.aiter_lines()]

    asyncio.run(main())


def test_importing_streaming_does_not_import_httpx() -> None:
    code = "import sys, mysdk.streaming\nprint('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "False"


# -- a real, misbehaving server ------------------------------------------------------

HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n")
DRIP_SSE = b"retry: 10\r\ndata: a\r\ndata: b\r\n\r\n: ping\n\nid: 1\ndata: {\"n\": 2}\n\n"


def consume(impl: str, url: str, mode: str, *, read: float, wait: float | None = None,
            on_value: Callable[[], Any] = lambda: None,
            ) -> tuple[list[Any], BaseException | None, bool]:
    """Stream ``url`` with a read timeout of ``read`` s; values, error and closed.

    ``wait`` bounds the whole async iteration (``asyncio.wait_for``);
    ``on_value`` is called after each value arrived.
    """
    if impl == "sync":
        client = mysdk.Client(base_url=url, timeout=(2.0, read), retry=None)
        stream = client.stream("GET", "/s")
        values: list[Any] = []
        try:
            for value in getattr(stream, f"iter_{mode}")():
                values.append(value)
                on_value()
        except MySDKError as exc:
            return values, exc, bool(stream.response.raw.closed)
        return values, None, bool(stream.response.raw.closed)

    async def main() -> tuple[list[Any], BaseException | None, bool]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(2.0, read=read)) as client:
            resp = await client.send(client.build_request("GET", url + "/s"), stream=True)
            stream = AsyncStreamResponse(resp, "GET", url + "/s")
            values: list[Any] = []

            async def iterate() -> None:
                async for value in getattr(stream, f"aiter_{mode}")():
                    values.append(value)
                    on_value()

            try:
                await asyncio.wait_for(iterate(), wait)
            except (MySDKError, TimeoutError) as exc:
                return values, exc, resp.is_closed
            return values, None, resp.is_closed

    return asyncio.run(main())


@pytest.mark.parametrize("impl", IMPLS)
def test_sse_dripped_a_byte_at_a_time_parses_the_same(impl: str) -> None:
    def handler(conn: socket.socket, request: Request) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(HEAD % (b"text/event-stream", len(DRIP_SSE)))
        drip(conn, DRIP_SSE, 0.001, limit=10.0)

    with hostile_server(handler) as server:
        events, error, closed = consume(impl, server.url, "sse", read=2.0)
    assert error is None
    assert events == [("message", "a\nb", "", 10), ("message", '{"n": 2}', "1", 10)]
    assert closed


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("how", ["eof-before-content-length", "reset"])
def test_a_connection_dropped_mid_stream_is_a_mysdk_transport_error(impl: str, how: str) -> None:
    first_read = threading.Event()

    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(HEAD % (b"application/x-ndjson", 100) + b'{"n": 1}\n')
        first_read.wait(5.0)  # drop only once the client has the first value
        if how == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    with hostile_server(handler) as server:
        values, error, closed = consume(impl, server.url, "ndjson", read=2.0,
                                        on_value=first_read.set)
    assert values == [{"n": 1}]
    assert isinstance(error, mysdk.ServerDisconnectedError)
    assert not isinstance(error, (httpx.HTTPError, requests.RequestException))
    assert (error.method, error.outcome_unknown) == ("GET", True)
    assert closed


@contextlib.contextmanager
def stalled_server() -> Iterator[str]:
    """The URL of a server that sends one NDJSON line of 100 bytes promised, then stalls.

    It stays silent until the ``with`` block ends (at most 5 s).
    """
    release = threading.Event()

    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(HEAD % (b"application/x-ndjson", 100) + b'{"n": 1}\n')
        release.wait(5.0)

    with hostile_server(handler) as server:
        try:
            yield server.url
        finally:
            release.set()


@pytest.mark.parametrize("impl", IMPLS)
def test_a_stalled_stream_ends_within_the_read_timeout(impl: str) -> None:
    with stalled_server() as url:
        started = time.monotonic()
        values, error, closed = consume(impl, url, "ndjson", read=0.3)
        elapsed = time.monotonic() - started
    assert values == [{"n": 1}]
    assert isinstance(error, mysdk.ReadTimeoutError)
    assert elapsed < 3.0
    assert closed


def test_a_caller_deadline_cancels_an_async_stream_and_releases_it() -> None:
    with stalled_server() as url:
        started = time.monotonic()
        values, error, closed = consume("async", url, "ndjson", read=30.0, wait=0.3)
    assert values == [{"n": 1}]
    assert isinstance(error, TimeoutError)
    assert time.monotonic() - started < 3.0
    assert closed


@pytest.mark.parametrize("impl", IMPLS)
def test_a_corrupt_content_encoding_is_a_mysdk_transport_error(impl: str) -> None:
    body = b"this is not gzip\n"

    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(HEAD.replace(b"\r\n\r\n", b"\r\nContent-Encoding: gzip\r\n\r\n")
                     % (b"application/x-ndjson", len(body)) + body)

    with hostile_server(handler) as server:
        values, error, closed = consume(impl, server.url, "ndjson", read=2.0)
    assert values == []
    assert isinstance(error, mysdk.ServerDisconnectedError)
    assert closed
