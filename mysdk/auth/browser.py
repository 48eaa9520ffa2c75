"""Browser login: authorization code with PKCE and a loopback redirect.

RFC 6749 §4.1 with RFC 7636 (``S256``) for native apps (RFC 8252): mysdk
listens on ``127.0.0.1`` on a port the system picks (RFC 8252 §7.3, §8.3),
opens the authorization URL in the user's browser, and waits for the
redirect to ``http://127.0.0.1:PORT/callback``. The answer must carry this
login's ``state`` (RFC 6749 §10.12) and, when it has one or the server's
metadata promises one, the expected ``iss`` (RFC 9207 §2.4); then the code is
exchanged, with the ``code_verifier``, at the token endpoint (RFC 7636 §4.5).
The browser gets a plain page saying how it ended.

The listener serves one login and is closed after it, on success, failure,
timeout or Ctrl-C. It answers only the first ``GET /callback`` (anything else is
a 404), serves each connection in a thread of its own (a browser's idle
pre-connection cannot hold up the real request) and drops one that sends
nothing for 10 s, and logs nothing: the query carries the code. The code, the
verifier and the state never appear in a log, a message or an error.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import secrets
import threading
import webbrowser
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from mysdk.auth._token_endpoint import ClientAuthMethod, request_token
from mysdk.auth.login_errors import LoginError
from mysdk.errors import MySDKError
from mysdk.tokens.token import Token

__all__ = ["DEFAULT_LOGIN_TIMEOUT", "PkcePair", "browser_flow", "pkce_pair"]

DEFAULT_LOGIN_TIMEOUT = 300.0
"""Seconds a browser login waits for the user (5 minutes)."""

CALLBACK_PATH = "/callback"
_REQUEST_TIMEOUT = 10.0  # seconds to read one request to the listener
_MAX_DESCRIPTION = 300  # characters of an error_description kept


class PkcePair:
    """A PKCE code verifier and its ``S256`` challenge (RFC 7636 §4.1, §4.2).

    The verifier is 86 characters of the unreserved set from 64 random bytes
    (RFC 7636 §7.1: at least 256 bits of entropy). ``repr()`` masks it.
    """

    __slots__ = ("challenge", "verifier")
    method = "S256"

    def __init__(self, verifier: str) -> None:
        self.verifier = verifier
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        self.challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def __repr__(self) -> str:
        return f"PkcePair(verifier='***', challenge={self.challenge!r}, method='S256')"


def pkce_pair() -> PkcePair:
    """A new random verifier and its ``S256`` challenge (RFC 7636 §4.1, §4.2)."""
    return PkcePair(secrets.token_urlsafe(64))


class _Login:
    """One login's expectations and outcome, shared with the request handler."""

    def __init__(self, *, state: str, issuer: str | None, iss_required: bool,
                 exchange: Callable[[str], Token]) -> None:
        self.state = state
        self.issuer = issuer
        self.iss_required = iss_required
        self.exchange = exchange
        self.token: Token | None = None
        self.error: MySDKError | None = None
        self.finished = threading.Event()
        self._lock = threading.Lock()

    def answer(self, query: Mapping[str, list[str]]) -> MySDKError | bool | None:
        """Take the first redirect: check it, exchange its code; False for any later one."""
        with self._lock:
            if self.finished.is_set():
                return False
            try:
                error = self._check(query)
                if error is not None:
                    self.error = error
                return error
            finally:
                self.finished.set()

    def _check(self, query: Mapping[str, list[str]]) -> MySDKError | None:
        values = {name: v[0] for name, v in query.items() if len(v) == 1}
        state = values.get("state", "")
        if not hmac.compare_digest(state.encode(), self.state.encode()):
            return LoginError(
                "the browser's answer does not carry this login's state; it may be forged "
                "(RFC 6749 §10.12), so the login was stopped", error="state_mismatch")
        iss = values.get("iss")
        if self.issuer is not None and (iss is not None or self.iss_required) and \
                iss != self.issuer:
            return LoginError(
                "the browser's answer names another issuer than this login's (RFC 9207 §2.4: "
                "a mix-up attack?), so the login was stopped", error="iss_mismatch")
        error = values.get("error")
        if error is not None:
            description = values.get("error_description")
            shown = _printable(description) if description else None
            return LoginError(
                f"the authorization server refused the login: {_printable(error)}"
                + (f" ({shown})" if shown else ""), error=_printable(error),
                error_description=shown)
        code = values.get("code")
        if not code:
            return LoginError("the browser's answer has no authorization code",
                              error="invalid_response")
        try:
            self.token = self.exchange(code)
        except MySDKError as exc:
            return exc
        return None


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text[:_MAX_DESCRIPTION])


class _Handler(BaseHTTPRequestHandler):
    server: _Listener
    timeout = _REQUEST_TIMEOUT  # a connection that sends nothing is dropped

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        error = (self.server.login.answer(parse_qs(parts.query, keep_blank_values=True))
                 if parts.path == CALLBACK_PATH else False)
        if error is False:
            self._page(404, "Not found", "This address only receives one login.")
        elif error is None:
            self._page(200, "Login complete", "You are logged in. You can close this window.")
        else:
            assert isinstance(error, MySDKError)
            self._page(400, "Login failed", f"{error.message}. You can close this window.")

    def _page(self, status: int, title: str, text: str) -> None:
        body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
                f"</head><body><h1>{title}</h1><p>{html.escape(text)}</p></body></html>"
                ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line carries the authorization code: never logged


class _Listener(ThreadingHTTPServer):
    daemon_threads = True  # a stalled connection's thread never holds up the exit

    def __init__(self, login: _Login) -> None:
        self.login = login
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a broken browser connection is not the login's failure; never print


def browser_flow(
    session: requests.Session,
    *,
    authorization_url: str,
    token_url: str,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethod = "client_secret_basic",
    scope: str | None = None,
    extra_params: Mapping[str, str] | None = None,
    issuer: str | None = None,
    iss_required: bool = False,
    timeout: Any,
    open_browser: Callable[[str], object] | None = None,
    login_timeout: float = DEFAULT_LOGIN_TIMEOUT,
) -> Token:
    """Run one browser login (authorization code + PKCE, loopback redirect).

    Args:
        session: The session for the token request (the client's TLS settings).
        authorization_url: The authorization endpoint (RFC 6749 §3.1).
        token_url: The token endpoint (RFC 6749 §3.2).
        client_id: The client identifier.
        client_secret: A confidential client's secret, or ``None`` (public).
        auth_method: How a confidential client authenticates (RFC 6749 §2.3.1).
        scope: Space-separated scopes to ask for, or ``None``.
        extra_params: More fields for the authorization and token requests.
        issuer: The expected ``iss`` of the answer (RFC 9207), or ``None`` to
            skip that check (no issuer known).
        iss_required: The server's metadata says it sends ``iss`` (RFC 9207
            §3): an answer without it is refused.
        timeout: Token request timeout: seconds, ``(connect, read)`` or ``None``.
        open_browser: Called with the authorization URL, in a thread of its own
            (a console browser may block); default :func:`webbrowser.open`.
        login_timeout: Seconds to wait for the browser's answer (default 300).

    Returns:
        The token the code was exchanged for.

    Raises:
        LoginError: ``timeout`` (no answer in time), ``state_mismatch``,
            ``iss_mismatch``, ``invalid_response`` (no code), or the error the
            authorization server sent back (e.g. ``access_denied``).
        TokenRequestError: The token endpoint refused the code (e.g.
            ``invalid_grant``: a wrong ``code_verifier``).
        TransportError: The token endpoint could not be reached.
        AuthError: The loopback listener could not be opened.
    """
    pkce = pkce_pair()
    state = secrets.token_urlsafe(32)
    params = dict(extra_params or {})
    redirect: dict[str, str] = {}

    def exchange(code: str) -> Token:
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect["uri"], "code_verifier": pkce.verifier, **params}
        return request_token(session, token_url, form, client_id=client_id,
                             client_secret=client_secret, auth_method=auth_method,
                             timeout=timeout)

    login = _Login(state=state, issuer=issuer, iss_required=iss_required, exchange=exchange)
    try:
        listener = _Listener(login)
    except OSError as exc:
        raise LoginError(f"cannot listen on 127.0.0.1 for the browser's answer "
                         f"({type(exc).__name__})", error="listener") from None
    with listener:
        redirect["uri"] = f"http://127.0.0.1:{listener.server_address[1]}{CALLBACK_PATH}"
        query = {"response_type": "code", "client_id": client_id,
                 "redirect_uri": redirect["uri"], "state": state,
                 "code_challenge": pkce.challenge, "code_challenge_method": pkce.method,
                 **params}
        if scope:
            query["scope"] = scope
        url = authorization_url + ("&" if "?" in authorization_url else "?") + urlencode(query)
        opener = open_browser if open_browser is not None else webbrowser.open
        server = threading.Thread(target=listener.serve_forever, args=(0.05,),
                                  name="mysdk-login-listener", daemon=True)
        server.start()
        try:
            threading.Thread(target=_open, args=(opener, url), name="mysdk-open-browser",
                             daemon=True).start()
            login.finished.wait(login_timeout)
        finally:
            listener.shutdown()
            server.join(5.0)
    if login.error is not None:
        raise login.error
    if login.token is None:
        raise LoginError(f"no answer from the browser within {login_timeout:g} s; run the "
                         "login again", error="timeout")
    return login.token


def _open(opener: Callable[[str], object], url: str) -> None:
    with contextlib.suppress(Exception):  # the user can still open the URL by hand
        opener(url)
