"""One token request per expiry across threads, processes and machines (bench.storm)."""

from __future__ import annotations

import pytest

from bench.storm import process_storm, rotation_storm, thread_storm
from tests.redis_server import RedisServer

pytestmark = pytest.mark.integration


def test_64_threads_one_token_request() -> None:
    result = thread_storm(64)
    assert (result.token_requests, result.failed_calls) == (1, 0)


def test_rotation_under_16_threads_never_reuses_a_rotated_refresh_token() -> None:
    result = rotation_storm(16)
    assert result.by_grant == {"refresh_token": 1}
    assert (result.invalid_grant, result.failed_calls) == (0, 0)


def test_4_processes_share_the_file_cache() -> None:
    result = process_storm("file", processes=4, threads=16, lifetime=4.0, duration=20.0)
    assert result.expiries >= 5
    assert result.failed_calls == 0, result.errors
    assert result.one_per_expiry, (result.token_requests, result.expiries)


def test_rotation_across_4_processes_never_replays_a_rotated_refresh_token() -> None:
    result = process_storm("file", processes=4, threads=8, lifetime=3.0, duration=10.0,
                           refresh_tokens=True)
    assert result.failed_calls == 0, result.errors
    assert result.invalid_grant == 0
    assert result.by_grant.get("refresh_token", 0) >= result.expiries - 1
    assert result.one_per_expiry, (result.token_requests, result.expiries)


def test_4_processes_share_the_redis_cache(redis_server: RedisServer) -> None:
    result = process_storm("redis", processes=4, threads=16, lifetime=4.0, duration=20.0,
                           redis_url=redis_server.url)
    assert result.expiries >= 5
    assert result.failed_calls == 0, result.errors
    assert result.one_per_expiry, (result.token_requests, result.expiries)
