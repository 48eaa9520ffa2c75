"""A child forked while parent threads hold mysdk locks or a token fetch is in flight.

Each scenario runs in a fresh interpreter (forking pytest, which may run threads,
is what the standard library warns about): a parent thread is parked inside a
token fetch, a cache or a rate limiter, the process forks, and the child must use
the same objects at once. The child bounds its own wait (2.5 s) and reports one
line; the parent always releases its thread, reaps the child and exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"),
                                reason="os.fork does not exist on this platform (Windows)")

_SCRIPT = r'''
import os, sys, threading, time, warnings

warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads running

from mysdk import MemoryTokenCache, Token, TokenBucket
from mysdk.auth.manager import TokenManager

scenario = sys.argv[1]
PARENT = os.getpid()
parked = threading.Event()   # a parent thread is inside the critical section
release = threading.Event()  # lets it out (parent only)


def park() -> None:
    """Block the calling parent thread until released; never in the child."""
    if os.getpid() == PARENT and threading.current_thread().name == "holder":
        parked.set()
        release.wait(30)


class Provider:
    cache_key = "fork-identity"
    token_url = "https://auth.example/token"

    def fetch_token(self, session, *, timeout, previous):
        park()
        now = time.time()
        return Token(access_token=f"token-of-{os.getpid()}", expires_at=now + 3600, issued_at=now)


def clock() -> float:
    park()
    return time.monotonic()


def timer() -> float:
    park()
    return time.time()


if scenario == "manager":
    # lock_timeout and the request timeout are long: an inherited flight would
    # keep the child waiting for 37 s.
    manager = TokenManager(Provider(), MemoryTokenCache(), session=None, timeout=(2.0, 5.0),
                           lock_timeout=30.0)
    hold = manager.token

    def in_child():
        token = manager.token()
        return token.access_token == f"token-of-{os.getpid()}"
elif scenario == "memory-cache":
    cache = MemoryTokenCache(timer=timer)  # its timer runs under the cache's lock
    hold = lambda: cache.get("k")  # noqa: E731

    def in_child():
        with cache.lock("k", timeout=5) as held:
            token = Token(access_token="child", expires_at=time.time() + 60, issued_at=time.time())
            cache.set("k", token)
            return held and cache.get("k") == token
elif scenario == "memory-cache-key-lock":
    cache = MemoryTokenCache()

    def hold():
        with cache.lock("k", timeout=5):
            park()

    def in_child():
        with cache.lock("k", timeout=5) as held:
            return held
elif scenario == "bucket":
    bucket = TokenBucket(rate=1000.0, burst=10, clock=clock)  # its clock runs under its lock
    hold = bucket.try_acquire

    def in_child():
        return bucket.try_acquire() and bucket.acquire() == 0.0
elif scenario == "redis-breaker":
    import redis
    from mysdk.tokens.redis import RedisTokenCache

    client = redis.Redis(host="127.0.0.1", port=9)  # never connected: get is replaced
    cache = RedisTokenCache(client, op_timeout=5.0, cooldown=0.0)
    stored = Token(access_token="stored", expires_at=time.time() + 60, issued_at=time.time())

    def refuse(name):
        raise redis.ConnectionError("refused (test)")

    client.get = refuse
    assert cache.get("k") is None  # the breaker opens; with cooldown 0 the next call is a trial

    def answer(name):
        if os.getpid() == PARENT:  # the parent's trial hangs in a worker thread
            parked.set()
            release.wait(30)
        return stored.to_json()

    client.get = answer
    hold = lambda: cache.get("k")  # noqa: E731

    def in_child():
        return cache.get("k") == stored  # a trial of the child's own, not skipped
else:
    raise SystemExit(f"unknown scenario {scenario}")

holder = threading.Thread(target=hold, name="holder", daemon=True)
holder.start()
assert parked.wait(10), "the holder never got inside"

pid = os.fork()
if pid == 0:
    code = 1
    try:
        outcome = []
        started = time.monotonic()
        worker = threading.Thread(target=lambda: outcome.append(in_child()), daemon=True)
        worker.start()
        worker.join(2.5)
        elapsed = time.monotonic() - started
        if not outcome:
            print(f"child: stuck for {elapsed:.2f} s", flush=True)
        else:
            print(f"child: ok={outcome[0]} in {elapsed:.2f} s", flush=True)
            code = 0 if outcome[0] else 2
    finally:
        os._exit(code)

release.set()
holder.join(10)
deadline = time.monotonic() + 10
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("parent: child killed", flush=True)
        sys.exit(4)
    time.sleep(0.01)
sys.exit(os.waitstatus_to_exitcode(status))
'''


def run_scenario(scenario: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, scenario],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=30, check=False,
    )


def child_seconds(output: str) -> float:
    line = next(line for line in output.splitlines() if line.startswith("child: ok=True"))
    return float(line.split(" in ")[1].split()[0])


def test_child_forked_during_a_token_fetch_fetches_its_own_token() -> None:
    result = run_scenario("manager")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert child_seconds(result.stdout) < 2.0


def test_child_forked_while_a_thread_holds_the_memory_cache_lock() -> None:
    result = run_scenario("memory-cache")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert child_seconds(result.stdout) < 2.0


def test_child_forked_while_a_thread_holds_a_memory_cache_key_lock() -> None:
    result = run_scenario("memory-cache-key-lock")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert child_seconds(result.stdout) < 2.0


def test_child_forked_while_a_thread_holds_the_token_bucket_lock() -> None:
    result = run_scenario("bucket")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert child_seconds(result.stdout) < 2.0


def test_child_forked_during_a_redis_breaker_trial_tries_redis_itself() -> None:
    result = run_scenario("redis-breaker")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert child_seconds(result.stdout) < 2.0
