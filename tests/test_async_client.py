"""What only the async client has: its httpx client, the event loop, tasks, bodies.

The request path's behaviour is tested once for both clients in
tests/test_both_clients.py; this file covers what is async's own.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import mysdk
from examples.cat_api.sdk import CatError, CatNotFound
from tests.hostile.server import HostileServer, Request, respond
from tests.test_both_clients import Script, status

RETRY = mysdk.RetryPolicy(max_attempts=3, base_delay=0.0)


@pytest.fixture
def server() -> Iterator[tuple[HostileServer, Script]]:
    script = Script(status(200, {"ok": True}))
    with_server = HostileServer(script)
    try:
        yield with_server, script
    finally:
        with_server.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_import_mysdk_does_not_import_httpx() -> None:
    code = ("import sys, mysdk; assert 'httpx' not in sys.modules; "
            "mysdk.AsyncClient; assert 'httpx' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_callers_httpx_client_is_never_changed_or_closed(
        server: tuple[HostileServer, Script]) -> None:
    srv, _ = server

    async def go() -> None:
        async with httpx.AsyncClient(headers={"X-Gateway": "g"}, cookies={"c": "1"},
                                     timeout=7.0) as http:
            before = (dict(http.headers), dict(http.cookies), http.timeout, http.auth,
                      dict(http.event_hooks), http.follow_redirects)
            client = mysdk.AsyncClient(base_url=srv.url, http_client=http,
                                       auth=mysdk.StaticToken("t"))
            assert client.http_client is http
            assert await client.get("/x") == {"ok": True}
            await client.with_options(headers={"X-More": "1"}).get("/x")
            await client.aclose()
            after = (dict(http.headers), dict(http.cookies), http.timeout, http.auth,
                     dict(http.event_hooks), http.follow_redirects)
            assert after == before
            assert not http.is_closed
            assert (await http.get(srv.url)).status_code == 200  # still usable

    run(go())


def test_the_callers_gateway_headers_and_cookies_reach_the_api(
        server: tuple[HostileServer, Script]) -> None:
    srv, script = server

    async def go() -> None:
        async with httpx.AsyncClient(headers={"X-Gateway": "g"}) as http:
            client = mysdk.AsyncClient(base_url=srv.url, http_client=http)
            await client.get("/x")

    run(go())
    assert script.requests[0].header("X-Gateway") == "g"


def test_an_owned_httpx_client_is_closed_and_a_clone_does_not_close_it(
        server: tuple[HostileServer, Script]) -> None:
    srv, _ = server

    async def go() -> None:
        client = mysdk.AsyncClient(base_url=srv.url)
        clone = client.with_options(timeout=3.0)
        await clone.aclose()
        assert not client.http_client.is_closed
        await client.get("/x")
        await client.aclose()
        assert client.http_client.is_closed

    run(go())


def test_conflicting_options_are_refused_with_advice() -> None:
    async def go() -> None:
        async with httpx.AsyncClient(auth=("u", "p")) as http:
            with pytest.raises(mysdk.InvalidRequestError, match=r"http_client\.auth"):
                mysdk.AsyncClient(base_url="http://127.0.0.1:1", http_client=http,
                                  auth=mysdk.StaticToken("t"))
            with pytest.raises(mysdk.InvalidRequestError, match="verify"):
                mysdk.AsyncClient(base_url="http://127.0.0.1:1", http_client=http,
                                  verify=False)
        with pytest.raises(mysdk.InvalidRequestError, match=r"httpx\.AsyncClient"):
            mysdk.AsyncClient(base_url="http://127.0.0.1:1",
                              http_client=object())  # type: ignore[arg-type]
        with pytest.raises(mysdk.InvalidRequestError, match="http://"):
            mysdk.AsyncClient(base_url="http://api.example.com")

    run(go())


def test_a_limiter_wait_never_blocks_the_event_loop(
        server: tuple[HostileServer, Script]) -> None:
    srv, _ = server
    bucket = mysdk.TokenBucket(rate=4.0, burst=1)  # the 2nd and 3rd calls wait 0.25 s each

    async def go() -> int:
        ticks = 0
        done = False

        async def heartbeat() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        async with mysdk.AsyncClient(base_url=srv.url, rate_limiter=bucket) as client:
            for _ in range(3):
                await client.get("/x")
        done = True
        await beat
        return ticks

    started = time.monotonic()
    ticks = run(go())
    elapsed = time.monotonic() - started
    assert elapsed >= 0.45
    assert ticks >= 20  # the loop kept running through ~0.5 s of waits


def test_many_concurrent_tasks_share_one_client(server: tuple[HostileServer, Script]) -> None:
    srv, script = server

    async def go() -> list[Any]:
        async with mysdk.AsyncClient(base_url=srv.url, auth=mysdk.StaticToken("t")) as client:
            return await asyncio.gather(*(client.get("/x", params={"n": n})
                                          for n in range(200)))

    results = run(go())
    assert results == [{"ok": True}] * 200
    assert sorted(int(r.target.split("=")[1]) for r in script.requests) == list(range(200))


def test_a_cancelled_call_leaves_the_client_usable() -> None:
    def stall_then_answer(conn: socket.socket, request: Request) -> None:
        if request.target == "/slow":
            time.sleep(1.0)
        respond(conn, 200, b"{}")

    srv = HostileServer(stall_then_answer)
    try:
        async def go() -> Any:
            async with mysdk.AsyncClient(base_url=srv.url) as client:
                task = asyncio.create_task(client.get("/slow"))
                await asyncio.sleep(0.1)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return await client.get("/fast")

        assert run(go()) == {}
    finally:
        srv.stop()


def test_a_file_body_is_rewound_for_a_retry_and_an_iterator_is_not_resent() -> None:
    script = Script(status(503), status(200), status(503), status(200))
    srv = HostileServer(script)
    try:
        async def go() -> None:
            async with mysdk.AsyncClient(base_url=srv.url, retry=RETRY) as client:
                await client.request("PUT", "/f", data=io.BytesIO(b"file-bytes"))
                chunks = iter([b"a", b"b"])
                with pytest.raises(mysdk.InvalidRequestError, match="iterator"):
                    await client.request("PUT", "/g", data=chunks)

        run(go())
        bodies = [(r.target, r.body) for r in script.requests]
        assert bodies[:2] == [("/f", b"file-bytes"), ("/f", b"file-bytes")]
        assert bodies[2] == ("/g", b"ab")
        assert len(bodies) == 3
    finally:
        srv.stop()


def test_form_fields_and_multipart_files_are_sent() -> None:
    script = Script(status(200))
    srv = HostileServer(script)
    try:
        async def go() -> None:
            async with mysdk.AsyncClient(base_url=srv.url) as client:
                await client.request("POST", "/form", data=[("a", "1"), ("a", "2"), ("b", "x")])
                await client.request("POST", "/files", data={"name": "tom"},
                                     files={"photo": ("cat.jpg", io.BytesIO(b"JPEG"),
                                                      "image/jpeg")})

        run(go())
        form, upload = script.requests
        assert form.body == b"a=1&a=2&b=x"
        assert form.header("Content-Type") == "application/x-www-form-urlencoded"
        assert b'filename="cat.jpg"' in upload.body
        assert b"JPEG" in upload.body
        assert b'name="name"' in upload.body
        assert b"tom" in upload.body
    finally:
        srv.stop()


def test_declared_operations_of_an_sdk_raise_its_own_errors() -> None:
    from examples.cat_api.sdk import AsyncCatClient
    from examples.cat_api.server import API_KEY, CatServer

    with CatServer() as cats:
        async def go() -> None:
            async with AsyncCatClient(base_url=cats.url,
                                      auth=mysdk.APIKey(API_KEY, header="X-Api-Key")) as client:
                created = await client.cats.create(name="Tom", color="grey")
                assert (await client.cats.get(created.id)) == created
                raw = await client.cats.get.raw(created.id)
                assert raw.status_code == 200
                assert raw.parsed == created
                names = [cat.name async for cat in client.cats.list(per_page=1, max_pages=2)]
                assert len(names) == 2
                photos = [p async for p in client.cats(created.id).photos.list(max_items=3)]
                assert len(photos) == 3
                with pytest.raises(CatNotFound) as caught:
                    await client.cats.get(99999)
                assert isinstance(caught.value, CatError)

        run(go())


def test_a_streamed_call_is_iterated_with_async_for() -> None:
    lines = b"".join(json.dumps({"n": n}).encode() + b"\n" for n in range(5))
    srv = HostileServer(lambda conn, request: respond(
        conn, 200, lines, {"Content-Type": "application/x-ndjson"}))
    try:
        async def go() -> list[Any]:
            async with mysdk.AsyncClient(base_url=srv.url) as client, \
                    await client.stream("GET", "/events") as resp:
                return [item async for item in resp.aiter_ndjson()]

        assert run(go()) == [{"n": n} for n in range(5)]
    finally:
        srv.stop()
