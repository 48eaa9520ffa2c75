"""The demo (`make demo`): it talks to the reference server, loses its token, carries on."""

from __future__ import annotations

import re

import pytest

from examples import cars_async_demo, cars_demo

pytestmark = pytest.mark.integration


def test_demo_runs_and_reauthenticates(capsys: pytest.CaptureFixture[str]) -> None:
    assert cars_demo.main(["--token-lifetime", "1"]) == 0
    out = capsys.readouterr().out
    calls = re.findall(r"^  (GET|POST|PATCH|PUT|DELETE)\s+(\S+)\s+-> (\d{3})\s+[\d.]+ ms$",
                       out, re.MULTILINE)
    assert ("POST", "/api/v1/cars", "201") in calls
    assert ("DELETE", "/api/v1/cars/2", "204") in calls
    assert ("GET", "/api/v1/cars/3", "401") in calls  # then refreshed and replayed:
    assert calls[-1] == ("GET", "/api/v1/cars/3", "200")
    assert out.count("token  fetched") == 1
    assert out.count("token  refreshed") == 2  # after the lifetime, and after the 401


def test_demo_failure_exits_non_zero_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cars_demo, "DEFAULT_CLIENT_SECRET", "not-the-secret")
    assert cars_demo.main(["--token-lifetime", "1"]) == 1
    err = capsys.readouterr().err
    assert "demo failed: TokenRequestError" in err
    assert "invalid_client" in err
    assert "not-the-secret" not in err


def test_async_demo_shares_one_token_request_per_expiry(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cars_async_demo.main(["--token-lifetime", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("token  fetched") == 1
    assert out.count("-> 1 token request for 50 calls") == 1
    replayed = re.search(r"-> 1 token request; (\d+) calls replayed once after their 401", out)
    assert replayed is not None, out
    assert int(replayed.group(1)) == 50  # a fresh 3 s token is not refreshed early
    assert "done: the server saw 3 token requests and 158 API requests" in out


def test_async_demo_failure_exits_non_zero_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cars_async_demo, "DEFAULT_CLIENT_SECRET", "not-the-secret")
    assert cars_async_demo.main(["--token-lifetime", "1"]) == 1
    err = capsys.readouterr().err
    assert "demo failed: TokenRequestError" in err
    assert "not-the-secret" not in err
