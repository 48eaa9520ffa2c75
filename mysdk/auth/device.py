"""The device authorization grant (RFC 8628): log a user in from a terminal.

The device asks for a device code and a user code (§3.1, §3.2), shows the user
where to enter the code (§3.3), then polls the token endpoint (§3.4) until the
user approves or denies, or the codes expire (§3.5):

* it waits ``interval`` seconds before each poll (5 when the server gives none;
  at least 1, so a server answering ``0`` is not polled in a busy loop);
* ``authorization_pending`` polls again; ``slow_down`` adds 5 s to the interval
  for this and every later poll;
* ``access_denied`` and ``expired_token`` raise :class:`LoginError`;
* a poll that gets no answer, a 5xx or a 429 doubles the interval (at most
  60 s; §3.5 "SHOULD ... exponential backoff") and polls again;
* the whole flow ends by ``expires_in`` (the device code's lifetime): a poll
  that would start after it is not made.

Ctrl-C (``KeyboardInterrupt``) ends the flow at once: the prompt is told
(``finish("cancelled")``), nothing is stored, and the ``KeyboardInterrupt``
propagates unchanged, so a program's own Ctrl-C handling keeps working.

The device code is a secret: it is sent to the token endpoint only, never
shown, logged or put in an error.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import IO, Any, Protocol, runtime_checkable

import requests

from mysdk._checks import check_base_url
from mysdk._frozen import Frozen
from mysdk.auth._token_endpoint import ClientAuthMethod, request_form, request_token
from mysdk.auth.login_errors import LoginError
from mysdk.errors import InvalidRequestError, TokenRequestError, TransportError
from mysdk.tokens.token import Token

__all__ = [
    "DEFAULT_INTERVAL",
    "DEVICE_CODE_GRANT",
    "DeviceCode",
    "DevicePrompt",
    "TerminalPrompt",
    "device_flow",
]

logger = logging.getLogger("mysdk.auth")

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
"""The grant type of the device access token request (RFC 8628 §3.4)."""

DEFAULT_INTERVAL = 5.0
"""Seconds between polls when the server gives no ``interval`` (RFC 8628 §3.5)."""

MIN_INTERVAL = 1.0
"""Fewest seconds between polls, whatever the server says."""

SLOW_DOWN_STEP = 5.0
"""Seconds added to the interval per ``slow_down`` (RFC 8628 §3.5)."""

MAX_BACKOFF = 60.0
"""Most seconds between polls after failed polls (exponential backoff)."""

MAX_EXPIRES_IN = 24 * 3600.0
"""Longest device code lifetime taken from a server, in seconds."""

_PENDING = "authorization_pending"
_SLOW_DOWN = "slow_down"


class DeviceCode(Frozen):
    """What the user needs to approve a device login (RFC 8628 §3.2); no secret.

    Attributes:
        uri: The URI to show: ``verification_uri_complete`` when the server
            gave one (it carries the user code), else ``verification_uri``.
        verification_uri: Where the user enters the code (§3.2).
        verification_uri_complete: The same with the code filled in, or ``None``.
        user_code: The code the user enters (§3.2), e.g. ``"WDJB-MJHT"``.
        expires_in: Seconds the codes live from when they were issued.
        interval: Seconds between polls, as the flow starts.
    """

    __slots__ = ("expires_in", "interval", "uri", "user_code", "verification_uri",
                 "verification_uri_complete")

    uri: str
    verification_uri: str
    verification_uri_complete: str | None
    user_code: str
    expires_in: float
    interval: float

    def __init__(self, uri: str, verification_uri: str, verification_uri_complete: str | None,
                 user_code: str, expires_in: float, interval: float) -> None:
        self._set("uri", uri)
        self._set("verification_uri", verification_uri)
        self._set("verification_uri_complete", verification_uri_complete)
        self._set("user_code", user_code)
        self._set("expires_in", expires_in)
        self._set("interval", interval)


@runtime_checkable
class DevicePrompt(Protocol):
    """Shows a device login to the user.

    Any callable taking a :class:`DeviceCode` will do; an object may also have
    ``update(remaining)`` (seconds until the code expires, called while
    waiting) and ``finish(outcome)`` (``"approved"``, ``"denied"``,
    ``"expired"``, ``"cancelled"`` or ``"failed"``), as :class:`TerminalPrompt` has.
    """

    def __call__(self, code: DeviceCode) -> object:
        """Show the user ``code.uri`` and ``code.user_code``."""
        ...


class TerminalPrompt:
    """The default prompt: plain text on a terminal (stderr), with a countdown.

    On a TTY the countdown is one line rewritten in place; elsewhere (a pipe, a
    log, a plain terminal without cursor control) a line is printed when the
    waiting starts and at most once a minute after that. With ``qr=True`` the
    URI is also drawn as a QR code (needs the ``qr`` extra:
    ``pip install 'mysdk[qr]'``; without it a note says so).

    Args:
        stream: Where to write; default ``sys.stderr`` (stdout stays for data).
        qr: Also draw a QR code of the URI.
        clock: Monotonic seconds, for the non-TTY rate limit.
    """

    def __init__(self, stream: IO[str] | None = None, *, qr: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        import sys

        self._stream = stream if stream is not None else sys.stderr
        self._qr = qr
        self._clock = clock
        isatty = getattr(self._stream, "isatty", None)
        self._tty = bool(isatty()) if callable(isatty) else False
        self._last_line = -math.inf

    def __call__(self, code: DeviceCode) -> None:
        """Print where to go and which code to enter."""
        write = self._stream.write
        write(f"\nTo log in, open this address in a browser:\n\n    {code.uri}\n\n")
        write(f"and check that it shows this code:  {code.user_code}\n"
              if code.verification_uri_complete else
              f"and enter this code:  {code.user_code}\n")
        if self._qr:
            write(_qr_text(code.uri))
        write("\n")
        self._stream.flush()

    def update(self, remaining: float) -> None:
        """Show the seconds left before the code expires."""
        text = f"Waiting for approval... (code expires in {_minutes(remaining)})"
        if self._tty:
            self._stream.write(f"\r{text} ")
        elif self._clock() - self._last_line >= 60.0:
            self._last_line = self._clock()
            self._stream.write(f"{text}\n")
        else:
            return
        self._stream.flush()

    def finish(self, outcome: str) -> None:
        """End the countdown with the outcome."""
        messages = {"approved": "Approved.", "denied": "The login was denied.",
                    "expired": "The code expired before it was approved.",
                    "cancelled": "Login cancelled.", "failed": "The login failed."}
        prefix = "\r\x1b[K" if self._tty else ""
        self._stream.write(f"{prefix}{messages.get(outcome, outcome)}\n")
        self._stream.flush()


def _minutes(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def _qr_text(uri: str) -> str:
    try:
        import qrcode  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return "(a QR code needs the 'qr' extra: pip install 'mysdk[qr]')\n"
    import io

    qr = qrcode.QRCode(border=1)
    qr.add_data(uri)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return "\n" + out.getvalue()


def device_flow(
    session: requests.Session,
    *,
    device_authorization_url: str,
    token_url: str,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethod = "client_secret_basic",
    scope: str | None = None,
    extra_params: Mapping[str, str] | None = None,
    timeout: Any,
    prompt: DevicePrompt | Callable[[DeviceCode], object],
    allow_http: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Token:
    """Run one device login (RFC 8628) and return the token the server issued.

    Args:
        session: The session for both requests (the client's TLS settings).
        device_authorization_url: The device authorization endpoint (§3.1).
        token_url: The token endpoint (RFC 6749 §3.2).
        client_id: The client identifier, sent in the form (§3.1).
        client_secret: A confidential client's secret, or ``None`` (public).
        auth_method: How a confidential client authenticates (RFC 6749 §2.3.1).
        scope: Space-separated scopes to ask for (§3.1), or ``None``.
        extra_params: More fields for both requests (``audience``, ``resource``).
        timeout: Per request: seconds, a ``(connect, read)`` pair, or ``None``.
        prompt: Shows the URI and user code (see :class:`DevicePrompt`).
        allow_http: Accept an ``http://`` verification URI on a non-loopback host.
        sleep: Waits the given seconds (injectable for tests).
        clock: Monotonic seconds (injectable for tests).

    Returns:
        The token (with its refresh token, when the server issued one).

    Raises:
        LoginError: ``access_denied`` (the user denied), ``expired_token`` (the
            codes expired first, said by the server or by ``expires_in``), or
            ``invalid_response`` (the device authorization answer is unusable).
        TokenRequestError: Another refusal (``invalid_client``,
            ``unauthorized_client``, ``invalid_scope``, ...).
        TransportError: The device authorization request got no answer.
        KeyboardInterrupt: Ctrl-C; the prompt was told, nothing was stored.
    """
    params = dict(extra_params or {})
    form = {"client_id": client_id, **params}
    if scope:
        form["scope"] = scope
    issued = clock()  # the codes' lifetime counts from before the request
    answer = request_form(session, device_authorization_url, form, client_id=client_id,
                          client_secret=client_secret, auth_method=auth_method,
                          timeout=timeout, what="device authorization request")
    device_code, code = _read_answer(answer, allow_http=allow_http)
    deadline = issued + code.expires_in
    poll_form = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, **params}
    finish = getattr(prompt, "finish", None)
    try:
        prompt(code)
        token = _poll(session, token_url, poll_form, code.interval, deadline,
                      client_id=client_id, client_secret=client_secret, auth_method=auth_method,
                      timeout=timeout, update=getattr(prompt, "update", None),
                      sleep=sleep, clock=clock)
    except KeyboardInterrupt:
        _tell(finish, "cancelled")
        raise
    except LoginError as exc:
        _tell(finish, {"access_denied": "denied", "expired_token": "expired"}.get(
            exc.error, "failed"))
        raise
    except Exception:
        _tell(finish, "failed")
        raise
    _tell(finish, "approved")
    return token


def _tell(finish: Any, outcome: str) -> None:
    if callable(finish):
        finish(outcome)


def _poll(session: requests.Session, token_url: str, form: dict[str, str], interval: float,
          deadline: float, *, client_id: str, client_secret: str | None,
          auth_method: ClientAuthMethod, timeout: Any, update: Any,
          sleep: Callable[[float], None], clock: Callable[[], float]) -> Token:
    backoff = interval
    while True:
        if clock() + backoff >= deadline:
            raise LoginError(
                "the device login was not approved before its code expired; run the login "
                "again (RFC 8628 §3.5)", error="expired_token")
        _wait(backoff, deadline, update=update, sleep=sleep, clock=clock)
        try:
            return request_token(session, token_url, form, client_id=client_id,
                                 client_secret=client_secret, auth_method=auth_method,
                                 timeout=timeout)
        except TokenRequestError as exc:
            if exc.error == _PENDING:
                backoff = interval
            elif exc.error == _SLOW_DOWN:
                interval += SLOW_DOWN_STEP
                backoff = interval
            elif exc.retryable:
                backoff = min(max(backoff * 2, interval), MAX_BACKOFF)
                logger.info("device login poll failed (%s); next poll in %.0f s",
                            exc.error or exc.status_code, backoff)
            else:
                raise _outcome(exc) from None
        except TransportError as exc:
            backoff = min(max(backoff * 2, interval), MAX_BACKOFF)
            logger.info("device login poll failed (%s); next poll in %.0f s",
                        type(exc).__name__, backoff)


def _outcome(exc: TokenRequestError) -> Exception:
    if exc.error == "access_denied":
        return LoginError("the device login was denied by the user (RFC 8628 §3.5 "
                          "access_denied)", error="access_denied",
                          error_description=exc.error_description)
    if exc.error == "expired_token":
        return LoginError("the device code expired before the login was approved; run the "
                          "login again (RFC 8628 §3.5 expired_token)", error="expired_token",
                          error_description=exc.error_description)
    return exc


def _wait(seconds: float, deadline: float, *, update: Any, sleep: Callable[[float], None],
          clock: Callable[[], float]) -> None:
    """Sleep ``seconds`` in steps of at most 1 s, updating the countdown."""
    end = clock() + seconds
    while True:
        now = clock()
        if callable(update):
            update(max(0.0, deadline - now))
        if now >= end:
            return
        sleep(min(1.0, end - now))


def _read_answer(answer: Mapping[str, Any], *, allow_http: bool) -> tuple[str, DeviceCode]:
    """The device code and what the user sees, from a §3.2 answer (checked)."""
    def bad(what: str) -> LoginError:
        return LoginError(f"the device authorization answer is unusable: {what} "
                          "(RFC 8628 §3.2)", error="invalid_response")

    device_code = answer.get("device_code")
    user_code = answer.get("user_code")
    uri = answer.get("verification_uri")
    complete = answer.get("verification_uri_complete")
    if not isinstance(device_code, str) or not device_code:
        raise bad("no device_code")
    if not isinstance(user_code, str) or not user_code or not user_code.isprintable():
        raise bad("no printable user_code")
    for name, value in (("verification_uri", uri), ("verification_uri_complete", complete)):
        if value is None and name == "verification_uri_complete":
            continue
        try:
            check_base_url(value, allow_http=allow_http, argument=name)
        except InvalidRequestError as exc:
            raise bad(exc.message) from None
    expires_in = _seconds(answer.get("expires_in"))
    if expires_in is None or expires_in <= 0:
        raise bad("expires_in is not a positive number of seconds")
    interval = answer.get("interval")
    given = DEFAULT_INTERVAL if interval is None else _seconds(interval)
    if given is None:
        raise bad("interval is not a number of seconds")
    assert isinstance(uri, str)
    code = DeviceCode(
        uri=complete if isinstance(complete, str) else uri, verification_uri=uri,
        verification_uri_complete=complete if isinstance(complete, str) else None,
        user_code=user_code, expires_in=min(expires_in, MAX_EXPIRES_IN),
        interval=max(given, MIN_INTERVAL))
    return device_code, code


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None
