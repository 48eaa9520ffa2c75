"""The ``mysdk`` command: help, login (in a real process), status, token, logout, call."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mysdk import cli
from mysdk.tokens.file import FileTokenCache
from refserver import DEFAULT_PUBLIC_CLIENT_ID, RunningServer

from .conftest import FakeClock
from .test_login import logged_in

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"code:\s+([A-Z]{4}-[A-Z]{4})")


@pytest.fixture
def env(server: RunningServer, token_dir: Path, monkeypatch: pytest.MonkeyPatch
        ) -> dict[str, str]:
    values = {"MYSDK_ISSUER": server.issuer, "MYSDK_CLIENT_ID": DEFAULT_PUBLIC_CLIENT_ID,
              "MYSDK_SCOPE": "cars:read cars:write", "MYSDK_BASE_URL": server.base_url,
              "MYSDK_TOKEN_DIR": str(token_dir)}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MYSDK_CLIENT_SECRET", raising=False)
    return {**os.environ, **values}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv", [[], ["auth"], ["auth", "login"], ["auth", "status"],
                                  ["auth", "token"], ["auth", "logout"], ["call"]])
def test_help_everywhere(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([*argv, "--help"])
    assert info.value.code == 0
    assert "usage: mysdk" in capsys.readouterr().out


def test_no_command_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([], capsys)
    assert code == cli.EXIT_USAGE
    assert "commands" in err


def test_missing_issuer_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYSDK_ISSUER", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main(["auth", "status", "--client-id", "x"])
    assert info.value.code == cli.EXIT_USAGE
    assert "--issuer is required (or set MYSDK_ISSUER)" in capsys.readouterr().err


def test_status_token_call_logout(env: dict[str, str], server: RunningServer,
                                  file_cache: FileTokenCache, clock: FakeClock,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["auth", "status"], capsys)
    assert code == cli.EXIT_LOGIN_REQUIRED
    assert "Not logged in" in err
    assert "mysdk auth login" in err
    login = logged_in(server, file_cache, clock)
    saved = login.saved(file_cache)
    assert saved is not None
    code, out, err = run(["auth", "status"], capsys)
    assert code == 0
    assert out == ""
    assert server.issuer in err
    assert "mysdk-cli" in err
    assert "cars:read cars:write" in err
    assert "valid until" in err
    assert "refresh token: saved" in err
    assert saved.access_token not in err
    assert str(saved.refresh_token) not in err
    code, out, err = run(["auth", "token"], capsys)
    assert (code, out, err) == (0, saved.access_token + "\n", "")
    code, out, _ = run(["call", "POST", "/api/v1/cars", "--json",
                        '{"make": "Saab", "model": "900", "year": 1992}'], capsys)
    assert code == 0
    assert json.loads(out)["make"] == "Saab"
    code, out, _ = run(["call", "get", "/api/v1/cars/1"], capsys)
    assert (code, json.loads(out)["id"]) == (0, 1)
    code, _, err = run(["call", "GET", "/api/v1/cars/99"], capsys)
    assert code == cli.EXIT_ERROR
    assert "404" in err
    code, _, err = run(["auth", "logout"], capsys)
    assert code == 0
    assert "Logged out" in err
    assert "refresh token and access token" in err
    code, _, err = run(["call", "GET", "/api/v1/cars"], capsys)
    assert code == cli.EXIT_LOGIN_REQUIRED
    assert "run `mysdk auth login`" in err


def test_bad_json_is_a_usage_error(env: dict[str, str], capsys: pytest.CaptureFixture[str]
                                   ) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["call", "POST", "/api/v1/cars", "--json", "{nope"])
    assert info.value.code == cli.EXIT_USAGE
    assert "--json is not valid JSON" in capsys.readouterr().err


def test_refused_login_says_log_in_again(env: dict[str, str], server: RunningServer,
                                         file_cache: FileTokenCache, clock: FakeClock,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    login = logged_in(server, file_cache, clock)
    saved = login.saved(file_cache)
    assert saved is not None
    import requests

    requests.post(f"{server.issuer}/oauth/revoke", timeout=5, data={
        "token": saved.refresh_token, "client_id": DEFAULT_PUBLIC_CLIENT_ID})
    code, _, err = run(["call", "GET", "/api/v1/cars"], capsys)
    assert code == cli.EXIT_LOGIN_REQUIRED
    assert "has ended" in err
    assert "run `mysdk auth login`" in err


def read_lines(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for_code(lines: queue.Queue[str | None], seen: list[str]) -> str:
    while True:
        line = lines.get(timeout=30)
        assert line is not None, "".join(seen)
        seen.append(line)
        found = CODE.search(line)
        if found:
            return found.group(1)


def test_device_login_in_a_plain_terminal(start: object, token_dir: Path) -> None:
    server: RunningServer = start(device_interval=1)  # type: ignore[operator]
    env = {**os.environ, "MYSDK_ISSUER": server.issuer,
           "MYSDK_CLIENT_ID": DEFAULT_PUBLIC_CLIENT_ID, "MYSDK_TOKEN_DIR": str(token_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "mysdk", "auth", "login", "--device"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        lines = read_lines(proc)
        user_code = wait_for_code(lines, seen)
        assert server.decide_device(user_code)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while (line := lines.get(timeout=5)) is not None:
        seen.append(line)
    assert proc.stdout is not None
    proc.stdout.close()
    text = "".join(seen)
    assert f"{server.issuer}/device?user_code={user_code}" in text
    assert "Waiting for approval... (code expires in" in text
    assert "Approved." in text
    assert "Logged in to" in text
    assert "\x1b" not in text
    assert "\r" not in text
    assert FileTokenCache(token_dir).get(_key(server)) is not None


def _key(server: RunningServer) -> str:
    from mysdk.auth.login import Login

    return Login(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID).cache_key


def test_ctrl_c_cancels_the_login(start: object, token_dir: Path) -> None:
    server: RunningServer = start(device_interval=1)  # type: ignore[operator]
    env = {**os.environ, "MYSDK_ISSUER": server.issuer,
           "MYSDK_CLIENT_ID": DEFAULT_PUBLIC_CLIENT_ID, "MYSDK_TOKEN_DIR": str(token_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "mysdk", "auth", "login"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        lines = read_lines(proc)
        wait_for_code(lines, seen)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == cli.EXIT_CANCELLED
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while (line := lines.get(timeout=5)) is not None:
        seen.append(line)
    assert proc.stdout is not None
    proc.stdout.close()
    text = "".join(seen)
    assert "Login cancelled." in text
    assert "mysdk: cancelled" in text
    assert "Traceback" not in text
    assert [p for p in token_dir.iterdir() if p.suffix == ".json"] == []
