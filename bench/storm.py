"""Token storms: many threads and processes hitting one token expiry together.

Each storm runs against the reference server, which counts the token requests
it serves, so the figures come from the server's side:

* ``thread_storm``: one client, N threads, the token revoked server-side.
* ``rotation_storm``: the same with refresh tokens that rotate on every use.
* ``process_storm``: P worker processes x T threads sharing a file or Redis
  token cache, tokens expiring every ``lifetime`` seconds for ``duration``.
* ``async_storm``: N asyncio tasks of one ``mysdk.AsyncClient`` meet one token
  expiry (revoked server-side, or its lifetime run out) together.

Used by ``bench/token_storm.py`` and ``bench/async_storm.py`` (print the
tables) and by ``tests/integration/test_storms.py`` (asserts on the same results).
A worker is this module run as ``python -m bench.storm worker ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import mysdk
from mysdk.tokens.cache import TokenCache
from refserver import RunningServer, ServerConfig, start_server
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

ROOT = Path(__file__).resolve().parents[1]
_WORKER_GRACE = 60.0  # seconds a worker may run past its duration before it is killed
_CALL_PAUSE = 0.005  # seconds between two calls of one thread: a busy app, not a DoS


class WorkerReport(TypedDict):
    """What one storm worker prints as its last line (JSON)."""

    calls: int
    errors: dict[str, int]
    first_call: float  # epoch seconds
    last_call: float


@dataclass
class StormResult:
    """What one storm did, counted by the client and by the server."""

    name: str
    threads: int
    processes: int
    expiries: int  # token lifetimes that elapsed (or forced server-side expiries)
    token_requests: int  # as counted by the server
    failed_calls: int
    calls: int
    wall_seconds: float
    invalid_grant: int = 0
    by_grant: dict[str, int] = field(default_factory=dict)  # token requests per grant_type
    errors: dict[str, int] = field(default_factory=dict)
    api_requests: int = 0  # as counted by the server (async_storm only)

    @property
    def extra_token_requests(self) -> int:
        """Token requests beyond one per expiry (negative: fewer)."""
        return self.token_requests - self.expiries

    @property
    def one_per_expiry(self) -> bool:
        """At most one token request beyond one per lifetime over the whole run.

        One fewer is tolerated: each refresh happens a few ms after the expiry
        that triggers it, so over a run the last lifetime can start after the
        last call (the drift, not a saving).
        """
        return -1 <= self.extra_token_requests <= 1


def _provider(server: RunningServer) -> mysdk.ClientCredentials:
    return mysdk.ClientCredentials(token_url=server.token_url, client_id=DEFAULT_CLIENT_ID,
                                   client_secret=DEFAULT_CLIENT_SECRET)


def _hammer(threads: int, call: Callable[[], object]) -> tuple[int, Counter[str]]:
    """Run ``call`` once in each of ``threads`` threads released together."""
    barrier = threading.Barrier(threads)
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(timeout=30)
        try:
            call()
        except mysdk.MySDKError as exc:
            with lock:
                errors[type(exc).__name__] += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return threads, errors


def thread_storm(threads: int = 64, *, refresh_tokens: bool = False) -> StormResult:
    """``threads`` threads of one client all get a 401 for the same revoked token."""
    name = "rotation" if refresh_tokens else "threads"
    with start_server(ServerConfig(issue_refresh_tokens=refresh_tokens)) as server, \
            mysdk.Client(base_url=server.base_url, auth=_provider(server)) as client:
        client.get("/api/v1/ping")
        server.expire_access_tokens()
        server.stats.reset()
        started = time.monotonic()
        calls, errors = _hammer(threads, lambda: client.get("/api/v1/ping"))
        snapshot = server.stats.snapshot()
        return StormResult(
            name=name, threads=threads, processes=1, expiries=1,
            token_requests=snapshot["token_requests"], failed_calls=sum(errors.values()),
            calls=calls, wall_seconds=time.monotonic() - started,
            invalid_grant=snapshot["invalid_grant"],
            by_grant=dict(snapshot["token_requests_by_grant"]), errors=dict(errors),
        )


def rotation_storm(threads: int = 16) -> StormResult:
    """:func:`thread_storm` with refresh tokens rotated on every use (RFC 6749 §6)."""
    return thread_storm(threads, refresh_tokens=True)


def process_storm(
    cache: str, *, processes: int = 4, threads: int = 16, lifetime: float = 4.0,
    duration: float = 20.0, redis_url: str | None = None, refresh_tokens: bool = False,
) -> StormResult:
    """``processes`` x ``threads`` callers sharing a ``cache`` ("file" or "redis").

    Tokens live ``lifetime`` seconds; the workers call for ``duration`` seconds
    with proactive refresh off (leeway 0), so one token request per lifetime is
    the ideal; the result's ``expiries`` is the number of lifetimes that began.
    With ``refresh_tokens`` every token carries a refresh token that rotates on
    use, so a process replaying a rotated-away one would show as ``invalid_grant``.
    """
    config = ServerConfig(access_token_lifetime=lifetime, issue_refresh_tokens=refresh_tokens)
    with start_server(config) as server, \
            tempfile.TemporaryDirectory() as tmp:
        target = redis_url if cache == "redis" else tmp
        if target is None:
            raise ValueError("a Redis storm needs redis_url")
        prefix = f"storm-{os.getpid()}-{time.monotonic_ns()}:"
        command = [sys.executable, "-m", "bench.storm", "worker", cache, target, prefix,
                   server.base_url, str(threads), str(duration)]
        started = time.monotonic()
        children = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
                    for _ in range(processes)]
        reports = [_collect(child, duration + _WORKER_GRACE) for child in children]
        wall = time.monotonic() - started
        snapshot = server.stats.snapshot()
        first = min(r["first_call"] for r in reports)
        last = max(r["last_call"] for r in reports)
        errors: Counter[str] = Counter()
        for report in reports:
            errors.update(report["errors"])
        return StormResult(
            name=f"{cache} cache" + (" + rotation" if refresh_tokens else ""),
            threads=threads, processes=processes,
            expiries=max(1, math.ceil((last - first) / lifetime)),
            token_requests=snapshot["token_requests"], failed_calls=sum(errors.values()),
            calls=sum(r["calls"] for r in reports), wall_seconds=wall,
            invalid_grant=snapshot["invalid_grant"],
            by_grant=dict(snapshot["token_requests_by_grant"]), errors=dict(errors),
        )


ASYNC_EXPIRIES = ("revoked", "expired")
# Seconds: the token lifetime of an "expired" storm. Longer than a storm takes (~15 s
# for 1,000 tasks on a busy 2-core box), so the new token does not expire in turn while
# queued calls still carry it: one expiry per storm, as the target assumes.
_ASYNC_LIFETIME = 20.0
_ASYNC_STORM_TIMEOUT = 120.0  # seconds the tasks of one storm may take in all


def async_storm(tasks: int = 1000, *, expiry: str = "revoked") -> StormResult:
    """``tasks`` asyncio tasks of one ``mysdk.AsyncClient`` all meet one token expiry.

    The client is ``mysdk.AsyncClient(base_url=..., auth=mysdk.ClientCredentials(...))``
    with its defaults (its own httpx client, memory cache, retry policy). After a
    first call has fetched a token, either the server drops it while the client
    still holds it (``expiry="revoked"``: every task's call gets a 401 and is
    replayed after the refresh) or its lifetime runs out (``"expired"``: every task
    finds it stale before sending). Then the tasks are released together, each
    making one ``GET /api/v1/ping``; the server counts the token requests.
    """
    if expiry not in ASYNC_EXPIRIES:
        raise ValueError(f"expiry must be one of {ASYNC_EXPIRIES}, got {expiry!r}")
    if not 1 <= tasks <= 100_000:
        raise ValueError("tasks must be 1..100000")
    config = ServerConfig(access_token_lifetime=_ASYNC_LIFETIME if expiry == "expired"
                          else 3600.0)
    with start_server(config) as server:
        return asyncio.run(_async_storm(server, tasks, expiry))


async def _async_storm(server: RunningServer, tasks: int, expiry: str) -> StormResult:
    async with mysdk.AsyncClient(base_url=server.base_url, auth=_provider(server)) as client:
        await client.get("/api/v1/ping")  # fetches the first token
        if expiry == "revoked":
            server.expire_access_tokens()
        else:  # past the server's lifetime and the client's refresh time
            await asyncio.sleep(_ASYNC_LIFETIME + 0.5)
        server.stats.reset()
        go = asyncio.Event()
        errors: Counter[str] = Counter()

        async def call() -> None:
            await go.wait()
            try:
                await client.get("/api/v1/ping")
            except Exception as exc:  # any failure is a failed call, whatever its class
                errors[type(exc).__name__] += 1

        pending = [asyncio.create_task(call()) for _ in range(tasks)]
        await asyncio.sleep(0)  # every task starts and waits for the go
        started = time.monotonic()
        go.set()
        _, unfinished = await asyncio.wait(pending, timeout=_ASYNC_STORM_TIMEOUT)
        wall = time.monotonic() - started
        for task in unfinished:
            task.cancel()
            errors["unfinished"] += 1
        if unfinished:
            await asyncio.wait(unfinished, timeout=10.0)
        snapshot = server.stats.snapshot()
    return StormResult(
        name=f"async {expiry}", threads=tasks, processes=1, expiries=1,
        token_requests=snapshot["token_requests"], failed_calls=sum(errors.values()),
        calls=tasks, wall_seconds=wall, invalid_grant=snapshot["invalid_grant"],
        by_grant=dict(snapshot["token_requests_by_grant"]), errors=dict(errors),
        api_requests=snapshot["api_requests"],
    )


def _collect(child: subprocess.Popen[str], timeout: float) -> WorkerReport:
    try:
        out, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise RuntimeError("a storm worker did not finish in time") from None
    if child.returncode != 0:
        raise RuntimeError(f"a storm worker failed with exit status {child.returncode}")
    report: WorkerReport = json.loads(out.strip().splitlines()[-1])
    return report


def _worker_cache(kind: str, target: str, prefix: str) -> TokenCache:
    if kind == "file":
        from mysdk.tokens.file import FileTokenCache

        return FileTokenCache(target)
    from mysdk.tokens.redis import RedisTokenCache

    return RedisTokenCache(url=target, prefix=prefix)


def worker(argv: Sequence[str]) -> int:
    """One storm process: T threads calling ``/api/v1/ping`` until the deadline."""
    kind, target, prefix, base_url, threads_s, duration_s = argv
    threads, duration = int(threads_s), float(duration_s)
    provider = mysdk.ClientCredentials(token_url=f"{base_url}/oauth/token",
                                       client_id=DEFAULT_CLIENT_ID,
                                       client_secret=DEFAULT_CLIENT_SECRET)
    cache = _worker_cache(kind, target, prefix)
    client = mysdk.Client(base_url=base_url, auth=provider, token_cache=cache,
                          token_leeway=0.0, retry=None)
    lock = threading.Lock()
    errors: Counter[str] = Counter()
    calls = [0]
    first_call, last_call = [math.inf], [0.0]
    deadline = time.time() + duration

    def loop() -> None:
        while time.time() < deadline:
            now = time.time()
            try:
                client.get("/api/v1/ping")
            except mysdk.MySDKError as exc:
                with lock:
                    errors[type(exc).__name__] += 1
            with lock:
                calls[0] += 1
                first_call[0] = min(first_call[0], now)
                last_call[0] = max(last_call[0], now)
            time.sleep(_CALL_PAUSE)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=duration + _WORKER_GRACE)
    client.close()
    close = getattr(cache, "close", None)
    if close is not None:
        close()
    print(json.dumps({"calls": calls[0], "errors": dict(errors),
                      "first_call": first_call[0], "last_call": last_call[0]}))
    return 0


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description="storm worker (internal)")
    arguments.add_argument("mode", choices=["worker"])
    arguments.add_argument("args", nargs=6)
    parsed = arguments.parse_args()
    sys.exit(worker(parsed.args))
