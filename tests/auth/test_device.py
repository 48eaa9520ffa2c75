"""The device authorization grant (RFC 8628) with a fake clock: polling, errors, Ctrl-C."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from mysdk.auth.device import DeviceCode, TerminalPrompt, device_flow
from mysdk.auth.login import Login
from mysdk.auth.login_errors import LoginError
from mysdk.errors import TokenRequestError
from mysdk.tokens import MemoryTokenCache
from mysdk.tokens.file import FileTokenCache
from refserver import DEFAULT_PUBLIC_CLIENT_ID, RunningServer

from .conftest import FakeClock

DEVICE_URL = "https://id.example.com/device_authorization"
TOKEN_URL = "https://id.example.com/token"
ANSWER = {"device_code": "dc-secret-1", "user_code": "WDJB-MJHT",
          "verification_uri": "https://id.example.com/device",
          "verification_uri_complete": "https://id.example.com/device?user_code=WDJB-MJHT",
          "expires_in": 60, "interval": 5}
PENDING = {"status": 400, "json": {"error": "authorization_pending"}}
TOKEN = {"json": {"access_token": "at-1", "refresh_token": "rt-secret-1", "expires_in": 3600}}


class Recorder:
    """A prompt that records what it was shown and told."""

    def __init__(self, on_show: Any = None) -> None:
        self.codes: list[DeviceCode] = []
        self.updates: list[float] = []
        self.outcomes: list[str] = []
        self._on_show = on_show

    def __call__(self, code: DeviceCode) -> None:
        self.codes.append(code)
        if self._on_show is not None:
            self._on_show(code)

    def update(self, remaining: float) -> None:
        self.updates.append(remaining)

    def finish(self, outcome: str) -> None:
        self.outcomes.append(outcome)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        yield rs


def run(session: requests.Session, clock: FakeClock, prompt: Any, **kwargs: Any) -> Any:
    return device_flow(session, device_authorization_url=DEVICE_URL, token_url=TOKEN_URL,
                       client_id="cli", scope="cars:read", timeout=5, prompt=prompt,
                       sleep=clock.sleep, clock=clock, **kwargs)


def test_device_authorization_request_and_prompt(
    mock: responses.RequestsMock, session: requests.Session, clock: FakeClock
) -> None:
    mock.post(DEVICE_URL, json=ANSWER, match=[responses.matchers.urlencoded_params_matcher(
        {"client_id": "cli", "scope": "cars:read"})])
    mock.post(TOKEN_URL, **TOKEN)  # type: ignore[arg-type]
    prompt = Recorder()
    token = run(session, clock, prompt)
    assert token.refresh_token == "rt-secret-1"
    (code,) = prompt.codes
    assert code.uri == ANSWER["verification_uri_complete"]  # the _complete form when given
    assert code.user_code == "WDJB-MJHT"
    assert code.expires_in == 60
    assert prompt.outcomes == ["approved"]
    poll = mock.calls[1].request
    assert "device_code=dc-secret-1" in str(poll.body)
    assert "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" in str(poll.body)
    assert sum(clock.sleeps) == 5  # waited one interval before the first poll


def test_pending_polls_every_interval_and_slow_down_adds_five(
    mock: responses.RequestsMock, session: requests.Session, clock: FakeClock
) -> None:
    mock.post(DEVICE_URL, json=ANSWER)
    times: list[float] = []
    answers = [PENDING, {"status": 400, "json": {"error": "slow_down"}}, PENDING, TOKEN]

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        import json

        times.append(clock())
        answer = answers[len(times) - 1]
        return answer.get("status", 200), {}, json.dumps(answer["json"])  # type: ignore[arg-type]

    mock.add_callback(responses.POST, TOKEN_URL, callback=callback)
    clock_start = clock()
    run(session, clock, Recorder(), )
    gaps = [round(b - a) for a, b in zip([clock_start, *times], times, strict=False)]
    assert gaps == [5, 5, 10, 10]


def test_access_denied(mock: responses.RequestsMock, session: requests.Session,
                       clock: FakeClock) -> None:
    mock.post(DEVICE_URL, json=ANSWER)
    mock.post(TOKEN_URL, status=400, json={"error": "access_denied"})
    prompt = Recorder()
    with pytest.raises(LoginError, match="denied") as info:
        run(session, clock, prompt)
    assert info.value.error == "access_denied"
    assert prompt.outcomes == ["denied"]
    assert "dc-secret" not in str(info.value) + repr(info.value)


def test_expired_token_from_the_server(mock: responses.RequestsMock, session: requests.Session,
                                       clock: FakeClock) -> None:
    mock.post(DEVICE_URL, json=ANSWER)
    mock.post(TOKEN_URL, status=400, json={"error": "expired_token"})
    prompt = Recorder()
    with pytest.raises(LoginError, match="expired") as info:
        run(session, clock, prompt)
    assert info.value.error == "expired_token"
    assert prompt.outcomes == ["expired"]


def test_bounded_by_expires_in(mock: responses.RequestsMock, session: requests.Session,
                               clock: FakeClock) -> None:
    mock.post(DEVICE_URL, json=ANSWER)
    mock.post(TOKEN_URL, **PENDING)  # type: ignore[arg-type]
    start = clock()
    with pytest.raises(LoginError, match="expired") as info:
        run(session, clock, Recorder())
    assert info.value.error == "expired_token"
    assert clock() - start <= 60
    assert len(mock.calls) - 1 == 11  # polls at 5, 10, ..., 55 s; none at or after 60 s


def test_ctrl_c_cancels_cleanly(mock: responses.RequestsMock, session: requests.Session,
                                clock: FakeClock) -> None:
    mock.post(DEVICE_URL, json=ANSWER)
    mock.post(TOKEN_URL, **PENDING)  # type: ignore[arg-type]
    sleeps = [0]

    def sleep(seconds: float) -> None:
        sleeps[0] += 1
        if sleeps[0] == 8:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    prompt = Recorder()
    with pytest.raises(KeyboardInterrupt):
        device_flow(session, device_authorization_url=DEVICE_URL, token_url=TOKEN_URL,
                    client_id="cli", timeout=5, prompt=prompt, sleep=sleep, clock=clock)
    assert prompt.outcomes == ["cancelled"]
    polls = len(mock.calls) - 1
    assert polls == 1  # the first poll after 5 s, then Ctrl-C while waiting


def test_unanswered_polls_back_off(mock: responses.RequestsMock, session: requests.Session,
                                   clock: FakeClock) -> None:
    mock.post(DEVICE_URL, json={**ANSWER, "expires_in": 600})
    times: list[float] = []
    answers: list[Any] = [requests.exceptions.ConnectionError("refused"),
                          {"status": 503, "json": {"error": "temporarily_unavailable"}},
                          PENDING, TOKEN]

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        import json

        times.append(clock())
        answer = answers[len(times) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer.get("status", 200), {}, json.dumps(answer["json"])

    mock.add_callback(responses.POST, TOKEN_URL, callback=callback)
    start = clock()
    run(session, clock, Recorder())
    gaps = [round(b - a) for a, b in zip([start, *times], times, strict=False)]
    assert gaps == [5, 10, 20, 5]  # doubled after each failure, back to the interval after


@pytest.mark.parametrize(("change", "match"), [
    ({"device_code": None}, "no device_code"),
    ({"user_code": "\x1b[31m"}, "user_code"),
    ({"verification_uri": "javascript:alert(1)"}, "verification_uri"),
    ({"verification_uri": "http://id.example.com/device"}, "not loopback"),
    ({"expires_in": 0}, "expires_in"),
    ({"expires_in": "soon"}, "expires_in"),
    ({"interval": -1}, "interval"),
])
def test_unusable_device_authorization_answer(
    mock: responses.RequestsMock, session: requests.Session, clock: FakeClock,
    change: dict[str, Any], match: str,
) -> None:
    answer = {k: v for k, v in {**ANSWER, **change}.items() if v is not None}
    mock.post(DEVICE_URL, json=answer)
    with pytest.raises(LoginError, match=match) as info:
        run(session, clock, Recorder())
    assert info.value.error == "invalid_response"
    assert "dc-secret" not in str(info.value)


def test_refused_device_authorization(mock: responses.RequestsMock, session: requests.Session,
                                      clock: FakeClock) -> None:
    mock.post(DEVICE_URL, status=400, json={"error": "invalid_scope"})
    with pytest.raises(TokenRequestError, match="device authorization request refused"):
        run(session, clock, Recorder())


def test_interval_defaults_to_five_and_is_at_least_one(
    mock: responses.RequestsMock, session: requests.Session, clock: FakeClock
) -> None:
    mock.post(DEVICE_URL, json={k: v for k, v in ANSWER.items() if k != "interval"})
    mock.post(TOKEN_URL, **TOKEN)  # type: ignore[arg-type]
    run(session, clock, Recorder())
    assert sum(clock.sleeps) == 5
    clock.sleeps.clear()
    mock.replace(responses.POST, DEVICE_URL, json={**ANSWER, "interval": 0})
    run(session, clock, Recorder())
    assert sum(clock.sleeps) == 1


def test_no_secret_in_logs(mock: responses.RequestsMock, session: requests.Session,
                           clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    mock.post(DEVICE_URL, json={**ANSWER, "expires_in": 600})
    mock.post(TOKEN_URL, body=requests.exceptions.ConnectionError("refused"))
    with caplog.at_level(logging.DEBUG), pytest.raises(LoginError):
        run(session, clock, Recorder())
    assert "device login poll failed" in caplog.text
    assert "dc-secret" not in caplog.text


# -- the terminal prompt -------------------------------------------------------------------------


def code(**changes: Any) -> DeviceCode:
    values: dict[str, Any] = {"uri": ANSWER["verification_uri_complete"],
                              "verification_uri": ANSWER["verification_uri"],
                              "verification_uri_complete": ANSWER["verification_uri_complete"],
                              "user_code": "WDJB-MJHT", "expires_in": 600.0, "interval": 5.0}
    values.update(changes)
    return DeviceCode(**values)


def test_terminal_prompt_plain(clock: FakeClock) -> None:
    out = io.StringIO()
    prompt = TerminalPrompt(out, clock=clock)
    prompt(code())
    prompt.update(599.5)
    prompt.update(594)  # within the minute: no new line on a plain stream
    clock.advance(60)
    prompt.update(534)
    prompt.finish("approved")
    text = out.getvalue()
    assert ANSWER["verification_uri_complete"] in text
    assert "WDJB-MJHT" in text
    assert "code expires in 9:59" in text
    assert "8:54" in text
    assert "9:54" not in text
    assert text.rstrip().endswith("Approved.")
    assert "\x1b" not in text
    assert "\r" not in text


def test_terminal_prompt_without_complete_uri_says_enter() -> None:
    out = io.StringIO()
    TerminalPrompt(out)(code(uri=ANSWER["verification_uri"], verification_uri_complete=None))
    assert "enter this code:  WDJB-MJHT" in out.getvalue()


def test_terminal_prompt_tty_countdown_in_place() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    prompt = TerminalPrompt(out)
    prompt.update(65)
    prompt.update(60)
    prompt.finish("cancelled")
    assert out.getvalue().count("\r") == 3
    assert "1:05" in out.getvalue()
    assert "Login cancelled." in out.getvalue()


def test_terminal_prompt_qr_code() -> None:
    out = io.StringIO()
    TerminalPrompt(out, qr=True)(code())
    assert "█" in out.getvalue() or "▀" in out.getvalue()


def test_terminal_prompt_qr_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "qrcode", None)
    out = io.StringIO()
    TerminalPrompt(out, qr=True)(code())
    assert "pip install 'mysdk[qr]'" in out.getvalue()


# -- a device login against the reference server, saved in the cache ----------------------------


def test_device_login_against_the_refserver_is_saved(
    start: Any, clock: FakeClock, file_cache: FileTokenCache
) -> None:
    server: RunningServer = start(clock=clock, device_interval=5)
    login = Login(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID, scope="cars:read")
    approvals: list[str] = []

    def approve_after_two_polls(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 12 and approvals:
            assert server.decide_device(approvals[0])

    prompt = Recorder(on_show=lambda c: approvals.append(c.user_code))
    token = login.device(cache=file_cache, prompt=prompt, sleep=approve_after_two_polls,
                         clock=clock)
    assert prompt.codes[0].uri.startswith(f"{server.issuer}/device?user_code=")
    saved = login.saved(file_cache)
    assert saved == token
    assert saved is not None
    assert saved.refresh_token
    assert saved.scope == "cars:read"
    polls = server.stats.token_requests_by_grant[
        "urn:ietf:params:oauth:grant-type:device_code"]
    assert polls == 3  # pending, pending, approved
    assert server.stats.invalid_grant == 0


def test_device_login_denied_saves_nothing(start: Any, clock: FakeClock) -> None:
    server: RunningServer = start(clock=clock)
    cache = MemoryTokenCache()
    login = Login(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID)
    prompt = Recorder(on_show=lambda c: server.decide_device(c.user_code, approve=False))
    with pytest.raises(LoginError, match="denied"):
        login.device(cache=cache, prompt=prompt, sleep=clock.sleep, clock=clock)
    assert login.saved(cache) is None


def test_device_login_expires_against_the_refserver(start: Any, clock: FakeClock) -> None:
    server: RunningServer = start(clock=clock, device_code_lifetime=30)
    login = Login(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID)
    with pytest.raises(LoginError) as info:
        login.device(cache=MemoryTokenCache(), prompt=Recorder(), sleep=clock.sleep,
                     clock=clock)
    assert info.value.error == "expired_token"
    assert server.stats.token_requests_by_grant[
        "urn:ietf:params:oauth:grant-type:device_code"] == 5  # at 5, 10, 15, 20, 25 s
