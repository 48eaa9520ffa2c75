"""Tests of the reference Cars API server, over real loopback HTTP with ``requests``.

No ``__init__.py`` in this folder on purpose: as a package it would be named
``refserver`` and shadow the real package once pytest puts ``tests/`` on sys.path.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from refserver import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FaultConfig,
    RunningServer,
    ServerConfig,
    start_server,
)
from refserver.faults import FaultInjector
from refserver.validation import decode_cursor, encode_cursor

ROOT = Path(__file__).resolve().parents[2]
CLIENT = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
FORD = {"make": "Ford", "model": "Model T", "year": 1908}
TIMEOUT = 10.0


# -- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with start_server() as srv:
        yield srv


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def token_response(
    srv: RunningServer, http: requests.Session, *, basic: bool = True, scope: str | None = None
) -> requests.Response:
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    if basic:
        return http.post(srv.token_url, data=form, auth=CLIENT, timeout=TIMEOUT)
    form.update(client_id=CLIENT[0], client_secret=CLIENT[1])
    return http.post(srv.token_url, data=form, timeout=TIMEOUT)


def bearer(srv: RunningServer, http: requests.Session, scope: str | None = None) -> dict[str, str]:
    resp = token_response(srv, http, scope=scope)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture
def auth(server: RunningServer, http: requests.Session) -> dict[str, str]:
    return bearer(server, http)


def cars_url(srv: RunningServer, suffix: str = "") -> str:
    return f"{srv.base_url}/api/v1/cars{suffix}"


def create_car(
    srv: RunningServer, http: requests.Session, auth: dict[str, str], **fields: Any
) -> dict[str, Any]:
    resp = http.post(cars_url(srv), json={**FORD, **fields}, headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 201, resp.text
    car: dict[str, Any] = resp.json()
    return car


# -- OAuth token endpoint (RFC 6749) ---------------------------------------------------------


def test_healthz_needs_no_auth(server: RunningServer, http: requests.Session) -> None:
    resp = http.get(f"{server.base_url}/healthz", timeout=TIMEOUT)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}
    assert len(resp.headers["X-Request-Id"]) == 32


@pytest.mark.parametrize("basic", [True, False], ids=["client_secret_basic", "client_secret_post"])
def test_client_credentials_token(
    server: RunningServer, http: requests.Session, basic: bool
) -> None:
    resp = token_response(server, http, basic=basic)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "cars:read cars:write"
    assert len(body["access_token"]) >= 30
    assert "refresh_token" not in body  # RFC 6749 §4.4.3, flag off by default


@pytest.mark.parametrize("basic", [True, False], ids=["basic", "post"])
def test_wrong_secret_is_invalid_client(
    server: RunningServer, http: requests.Session, basic: bool
) -> None:
    form = {"grant_type": "client_credentials"}
    if basic:
        resp = http.post(server.token_url, data=form, auth=(CLIENT[0], "nope"), timeout=TIMEOUT)
    else:
        form.update(client_id=CLIENT[0], client_secret="nope")
        resp = http.post(server.token_url, data=form, timeout=TIMEOUT)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert resp.json()["error"] == "invalid_client"
    assert resp.json()["error_description"]
    assert "nope" not in resp.text


def test_unknown_client_and_no_credentials(server: RunningServer, http: requests.Session) -> None:
    form = {"grant_type": "client_credentials"}
    for credentials in (("who", "x"), None):
        resp = http.post(server.token_url, data=form, auth=credentials, timeout=TIMEOUT)
        assert resp.status_code == 401
        assert resp.json()["error"] == "invalid_client"


def test_unsupported_and_missing_grant(server: RunningServer, http: requests.Session) -> None:
    resp = http.post(
        server.token_url, data={"grant_type": "password"}, auth=CLIENT, timeout=TIMEOUT
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "unsupported_grant_type"
    resp = http.post(server.token_url, data={}, auth=CLIENT, timeout=TIMEOUT)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"


def test_scopes(server: RunningServer, http: requests.Session) -> None:
    resp = token_response(server, http, scope="cars:admin")
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_scope"
    read_only = bearer(server, http, scope="cars:read")
    assert http.get(cars_url(server), headers=read_only, timeout=TIMEOUT).status_code == 200
    resp = http.post(cars_url(server), json=FORD, headers=read_only, timeout=TIMEOUT)
    assert resp.status_code == 403
    assert resp.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]


def test_refresh_grant_rotates(http: requests.Session) -> None:
    clients = {**dict([CLIENT]), "other": "other-secret"}
    with start_server(ServerConfig(issue_refresh_tokens=True, clients=clients)) as srv:
        first = token_response(srv, http).json()
        old_refresh = first["refresh_token"]
        form = {"grant_type": "refresh_token", "refresh_token": old_refresh}
        # A refresh token is bound to its client (RFC 6749 §6).
        stolen = http.post(
            srv.token_url, data=form, auth=("other", "other-secret"), timeout=TIMEOUT
        )
        assert stolen.json()["error"] == "invalid_grant"
        resp = http.post(srv.token_url, data=form, auth=CLIENT, timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        second = resp.json()
        assert second["refresh_token"] != old_refresh
        assert second["access_token"] != first["access_token"]
        assert second["scope"] == "cars:read cars:write"
        headers = {"Authorization": f"Bearer {second['access_token']}"}
        assert http.get(cars_url(srv), headers=headers, timeout=TIMEOUT).status_code == 200
        reuse = http.post(srv.token_url, data=form, auth=CLIENT, timeout=TIMEOUT)
        assert reuse.status_code == 400
        assert reuse.json()["error"] == "invalid_grant"
        stats = srv.stats.snapshot()
        assert stats["invalid_grant"] == 2
        assert stats["token_requests_by_grant"] == {"client_credentials": 1, "refresh_token": 3}
        assert stats["tokens_issued"] == 2


def test_refresh_grant_without_refresh_tokens(
    server: RunningServer, http: requests.Session
) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "made-up"}
    resp = http.post(server.token_url, data=form, auth=CLIENT, timeout=TIMEOUT)
    assert resp.json()["error"] == "invalid_grant"


# -- bearer checks (RFC 6750) -------------------------------------------------------------------


def test_missing_and_invalid_bearer(server: RunningServer, http: requests.Session) -> None:
    resp = http.get(cars_url(server), timeout=TIMEOUT)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.json()["error"] == "invalid_token"
    resp = http.get(cars_url(server), headers={"Authorization": "Bearer nope"}, timeout=TIMEOUT)
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert resp.json()["error"] == "invalid_token"
    assert "nope" not in resp.text


def test_expire_access_tokens(
    server: RunningServer, http: requests.Session, auth: dict[str, str]
) -> None:
    assert http.get(cars_url(server), headers=auth, timeout=TIMEOUT).status_code == 200
    assert server.expire_access_tokens() == 1
    resp = http.get(cars_url(server), headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_token_lifetime_config(http: requests.Session) -> None:
    with start_server(ServerConfig(access_token_lifetime=1)) as srv:
        assert token_response(srv, http).json()["expires_in"] == 1
    with start_server(ServerConfig(access_token_lifetime=0.6)) as srv:
        body = token_response(srv, http).json()
        assert body["expires_in"] == 0  # whole seconds, rounded down
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        assert http.get(cars_url(srv), headers=headers, timeout=TIMEOUT).status_code == 200
        time.sleep(0.7)
        assert http.get(cars_url(srv), headers=headers, timeout=TIMEOUT).status_code == 401


# -- Cars API -----------------------------------------------------------------------------------


def test_crud_happy_path(
    server: RunningServer, http: requests.Session, auth: dict[str, str]
) -> None:
    resp = http.post(
        cars_url(server), json={**FORD, "color": "black"}, headers=auth, timeout=TIMEOUT
    )
    assert resp.status_code == 201
    car = resp.json()
    assert resp.headers["Location"] == f"/api/v1/cars/{car['id']}"
    assert {k: car[k] for k in ("make", "model", "year", "color")} == {**FORD, "color": "black"}
    assert car["created_at"].endswith("Z")
    assert car["created_at"] == car["updated_at"]
    url = cars_url(server, f"/{car['id']}")
    assert http.get(url, headers=auth, timeout=TIMEOUT).json() == car

    resp = http.put(
        url, json={"make": "Ford", "model": "Model A", "year": 1927}, headers=auth, timeout=TIMEOUT
    )
    assert resp.status_code == 200
    assert resp.json()["model"] == "Model A"
    assert resp.json()["color"] is None  # full replace: absent color means null

    resp = http.patch(url, json={"color": "green"}, headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 200
    assert (resp.json()["model"], resp.json()["color"]) == ("Model A", "green")

    resp = http.delete(url, headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 204
    assert resp.content == b""
    assert http.get(url, headers=auth, timeout=TIMEOUT).status_code == 404


def test_not_found(server: RunningServer, http: requests.Session, auth: dict[str, str]) -> None:
    resp = http.get(cars_url(server, "/42"), headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 404
    assert resp.json() == {"error": "not_found", "message": "car 42 not found"}
    for method in ("PUT", "PATCH", "DELETE"):
        resp = http.request(
            method, cars_url(server, "/42"), json=FORD, headers=auth, timeout=TIMEOUT
        )
        assert resp.status_code == 404, method
    assert http.get(cars_url(server, "/abc"), headers=auth, timeout=TIMEOUT).status_code == 404
    assert (
        http.get(f"{server.base_url}/api/v1/trucks", headers=auth, timeout=TIMEOUT).status_code
        == 404
    )
    resp = http.get(f"{server.base_url}/nowhere", timeout=TIMEOUT)
    assert resp.status_code == 404
    assert resp.json()["error"] == "not_found"
    assert "X-Request-Id" in resp.headers


def test_method_not_allowed(
    server: RunningServer, http: requests.Session, auth: dict[str, str]
) -> None:
    resp = http.delete(cars_url(server), headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({**FORD, "year": True}, {"year": "must be an integer between 1886 and 2100"}),
        ({**FORD, "year": 1885}, {"year": "must be an integer between 1886 and 2100"}),
        ({**FORD, "year": "1908"}, {"year": "must be an integer between 1886 and 2100"}),
        ({**FORD, "make": ""}, {"make": "must be a non-empty string of at most 64 characters"}),
        (
            {**FORD, "model": "x" * 65},
            {"model": "must be a non-empty string of at most 64 characters"},
        ),
        (
            {**FORD, "color": "c" * 33},
            {"color": "must be null or a string of at most 32 characters"},
        ),
        ({**FORD, "wheels": 4}, {"wheels": "unknown field"}),
        ({**FORD, "id": 7}, {"id": "is read-only"}),
        ({"make": "Ford"}, {"model": "is required", "year": "is required"}),
        ([FORD], {"body": "must be a JSON object"}),
    ],
)
def test_validation_errors(
    server: RunningServer,
    http: requests.Session,
    auth: dict[str, str],
    payload: object,
    expected: dict[str, str],
) -> None:
    resp = http.post(cars_url(server), json=payload, headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 422
    assert resp.json() == {
        "error": "validation_error",
        "message": "invalid car",
        "fields": expected,
    }
    assert server.stats.cars_created == 0


def test_patch_validation(
    server: RunningServer, http: requests.Session, auth: dict[str, str]
) -> None:
    car = create_car(server, http, auth)
    url = cars_url(server, f"/{car['id']}")
    resp = http.patch(url, json={"year": 3000, "make": None}, headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 422
    assert set(resp.json()["fields"]) == {"year", "make"}


def test_invalid_json(server: RunningServer, http: requests.Session, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    for body in (b"{not json", b"", b"\xff\xfe"):
        resp = http.post(cars_url(server), data=body, headers=headers, timeout=TIMEOUT)
        assert resp.status_code == 400
        assert resp.json() == {"error": "bad_request", "message": "body is not valid JSON"}


def test_cursor_pagination_walk(
    server: RunningServer, http: requests.Session, auth: dict[str, str]
) -> None:
    created = [
        create_car(server, http, auth, make="Ford" if i % 3 else "Fiat")["id"] for i in range(23)
    ]
    http.delete(cars_url(server, f"/{created[5]}"), headers=auth, timeout=TIMEOUT)
    expected = [c for c in created if c != created[5]]
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 5}
    pages = 0
    while True:
        body = http.get(cars_url(server), params=params, headers=auth, timeout=TIMEOUT).json()
        assert len(body["items"]) <= 5
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == expected
    assert pages == 5
    default_page = http.get(cars_url(server), headers=auth, timeout=TIMEOUT).json()
    assert len(default_page["items"]) == 20
    fiats = http.get(
        cars_url(server), params={"make": "Fiat"}, headers=auth, timeout=TIMEOUT
    ).json()
    assert {i["make"] for i in fiats["items"]} == {"Fiat"}
    assert len(fiats["items"]) == 8


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": encode_cursor(1)[:-2]}, "cursor"),
    ],
)
def test_bad_paging_params(
    server: RunningServer,
    http: requests.Session,
    auth: dict[str, str],
    params: dict[str, str],
    field: str,
) -> None:
    resp = http.get(cars_url(server), params=params, headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 422
    assert resp.json()["error"] == "validation_error"
    assert field in resp.json()["fields"]


def test_cursor_roundtrip() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    assert decode_cursor("") is None


def test_idempotency_key_replay(
    server: RunningServer, http: requests.Session, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "key-1"}
    first = http.post(cars_url(server), json=FORD, headers=headers, timeout=TIMEOUT)
    second = http.post(cars_url(server), json=FORD, headers=headers, timeout=TIMEOUT)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert server.stats.cars_created == 1
    assert server.stats.idempotent_replays == 1
    listing = http.get(cars_url(server), headers=auth, timeout=TIMEOUT).json()
    assert len(listing["items"]) == 1
    other = http.post(
        cars_url(server), json={**FORD, "year": 1909}, headers=headers, timeout=TIMEOUT
    )
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", ["2", None])
def test_fault_503(
    server: RunningServer, http: requests.Session, auth: dict[str, str], retry_after: str | None
) -> None:
    server.set_faults(FaultConfig(error_503_rate=1.0, retry_after_503=retry_after))
    resp = http.get(cars_url(server), headers=auth, timeout=TIMEOUT)
    assert resp.status_code == 503
    assert resp.headers.get("Retry-After") == retry_after
    assert "X-Request-Id" in resp.headers
    # Never on the token endpoint or health check.
    assert token_response(server, http).status_code == 200
    assert http.get(f"{server.base_url}/healthz", timeout=TIMEOUT).status_code == 200
    server.set_faults(None)
    assert http.get(cars_url(server), headers=auth, timeout=TIMEOUT).status_code == 200
    assert server.stats.faults_injected == {"error_503": 1}


def test_fault_rate_limit(
    server: RunningServer, http: requests.Session, auth: dict[str, str]
) -> None:
    # 1/s with a burst of 1: the second request within the same second is limited.
    server.set_faults(FaultConfig(rate_limit_per_second=1.0))
    responses = [http.get(cars_url(server), headers=auth, timeout=TIMEOUT) for _ in range(3)]
    assert responses[0].status_code == 200
    limited = responses[1]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"] == "rate_limited"
    assert server.stats.api_requests == 3
    assert server.stats.faults_injected["rate_limit_429"] >= 1


def test_fault_drop(server: RunningServer, http: requests.Session, auth: dict[str, str]) -> None:
    server.set_faults(FaultConfig(drop_rate=1.0))
    with pytest.raises(requests.ConnectionError):
        http.post(cars_url(server), json=FORD, headers=auth, timeout=TIMEOUT)
    assert server.stats.cars_created == 0
    assert server.stats.api_requests == 1
    assert server.stats.faults_injected == {"drop": 1}


def test_fault_drop_after_processing_with_idempotent_retry(
    server: RunningServer, http: requests.Session, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "lost-response"}
    server.set_faults(FaultConfig(drop_rate=1.0, drop_after_processing=True))
    with pytest.raises(requests.ConnectionError):
        http.post(cars_url(server), json=FORD, headers=headers, timeout=TIMEOUT)
    assert server.stats.cars_created == 1  # processed, only the response was lost
    server.set_faults(None)
    retry = http.post(cars_url(server), json=FORD, headers=headers, timeout=TIMEOUT)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert server.stats.cars_created == 1


def test_fault_slow(server: RunningServer, http: requests.Session, auth: dict[str, str]) -> None:
    server.set_faults(FaultConfig(slow_rate=1.0, slow_seconds=0.3))
    started = time.monotonic()
    assert http.get(f"{server.base_url}/api/v1/ping", headers=auth, timeout=TIMEOUT).json() == {
        "pong": True
    }
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.Timeout):
        http.get(f"{server.base_url}/api/v1/ping", headers=auth, timeout=0.05)
    assert server.stats.faults_injected == {"slow": 2}


def test_faults_are_deterministic_with_seed() -> None:
    def run() -> list[tuple[bool, bool]]:
        injector = FaultInjector(FaultConfig(error_503_rate=0.5, drop_rate=0.3, seed=7))
        return [(d.error_503, d.drop) for d in (injector.decide() for _ in range(50))]

    first = run()
    assert first == run()
    assert 5 < sum(e for e, _ in first) < 45


def test_fault_config_validates() -> None:
    with pytest.raises(ValueError, match="error_503_rate"):
        FaultConfig(error_503_rate=1.5)
    with pytest.raises(ValueError, match="rate_limit_per_second"):
        FaultConfig(rate_limit_per_second=0)


def test_faults_from_start_config(http: requests.Session) -> None:
    with start_server(ServerConfig(faults=FaultConfig(error_503_rate=1.0))) as srv:
        headers = bearer(srv, http)
        assert (
            http.get(f"{srv.base_url}/api/v1/ping", headers=headers, timeout=TIMEOUT).status_code
            == 503
        )


# -- stats, isolation, persistence ------------------------------------------------------------


def test_stats(server: RunningServer, http: requests.Session, auth: dict[str, str]) -> None:
    create_car(server, http, auth)
    http.get(cars_url(server), headers=auth, timeout=TIMEOUT)
    http.get(cars_url(server), timeout=TIMEOUT)  # 401 still counts
    token_response(server, http, basic=False)
    snap = server.stats.snapshot()
    assert snap["token_requests"] == 2
    assert snap["token_requests_by_grant"] == {"client_credentials": 2}
    assert snap["tokens_issued"] == 2
    assert snap["api_requests"] == 3
    assert snap["api_requests_by_method"] == {"POST": 1, "GET": 2}
    assert snap["cars_created"] == 1
    assert snap["faults_injected"] == {}
    server.stats.reset()
    assert server.stats.snapshot()["api_requests"] == 0
    assert server.stats.token_requests_by_grant == {}


def test_two_servers_at_once(http: requests.Session) -> None:
    with start_server() as one, start_server() as two:
        assert one.port != two.port
        auth_one = bearer(one, http)
        create_car(one, http, auth_one)
        resp = http.get(cars_url(two), headers=auth_one, timeout=TIMEOUT)
        assert resp.status_code == 401  # tokens are per server
        listing = http.get(cars_url(two), headers=bearer(two, http), timeout=TIMEOUT).json()
        assert listing["items"] == []
        assert one.stats.cars_created == 1
        assert two.stats.cars_created == 0


def test_file_database_persists(tmp_path: Path, http: requests.Session) -> None:
    config = ServerConfig(db_path=str(tmp_path / "cars.sqlite3"))
    with start_server(config) as srv:
        car = create_car(srv, http, bearer(srv, http))
    with start_server(config) as srv:
        resp = http.get(cars_url(srv, f"/{car['id']}"), headers=bearer(srv, http), timeout=TIMEOUT)
        assert resp.json() == car


def test_port_in_use_fails_cleanly(server: RunningServer) -> None:
    with pytest.raises(RuntimeError, match="failed to start") as info:
        start_server(ServerConfig(port=server.port))
    assert isinstance(info.value.__cause__, OSError)


def test_tokens_and_secrets_never_logged(
    caplog: pytest.LogCaptureFixture, http: requests.Session
) -> None:
    caplog.set_level(logging.DEBUG)
    with start_server(ServerConfig(issue_refresh_tokens=True, access_log=True)) as srv:
        first = token_response(srv, http).json()
        form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        second = http.post(srv.token_url, data=form, auth=CLIENT, timeout=TIMEOUT).json()
        http.post(srv.token_url, data=form, auth=CLIENT, timeout=TIMEOUT)  # reuse: invalid_grant
        headers = {"Authorization": f"Bearer {second['access_token']}"}
        http.get(cars_url(srv), headers=headers, timeout=TIMEOUT)
        srv.expire_access_tokens()
        http.get(cars_url(srv), headers=headers, timeout=TIMEOUT)
    assert "/api/v1/cars" in caplog.text  # the access log did run
    for secret in (first["access_token"], first["refresh_token"], second["access_token"]):
        assert secret not in caplog.text
    assert DEFAULT_CLIENT_SECRET not in caplog.text


def test_stop_is_idempotent_and_closes_port(http: requests.Session) -> None:
    srv = start_server()
    url = f"{srv.base_url}/healthz"
    assert http.get(url, timeout=TIMEOUT).status_code == 200
    srv.stop()
    srv.stop()
    with requests.Session() as fresh, pytest.raises(requests.ConnectionError):
        fresh.get(url, timeout=TIMEOUT)


# -- command line --------------------------------------------------------------------------------


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"no output from refserver within {timeout}s")
    return proc.stdout.readline()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_prints_listening_line(http: requests.Session, sig: signal.Signals) -> None:
    cmd = [sys.executable, "-m", "refserver", "--port", "0", "--token-lifetime", "60"]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    with subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            line = _read_line(proc, TIMEOUT)
            assert line.startswith("refserver listening on http://127.0.0.1:"), line
            base_url = line.split(" on ", 1)[1].strip()
            assert http.get(f"{base_url}/healthz", timeout=TIMEOUT).json() == {"status": "ok"}
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert out == ""
    assert "Traceback" not in err
