"""User logins saved in the token cache: device or browser login, refresh, logout.

A :class:`Login` is a :class:`~mysdk.auth.refresh.RefreshTokenProvider` (pass
it as a client's ``auth``) that can also log a user in and out::

    from mysdk.auth import Login
    from mysdk.tokens.file import FileTokenCache

    login = Login(issuer="https://id.example.com", client_id="cars-cli", scope="cars:read")
    cache = FileTokenCache()
    if login.saved(cache) is None:
        login.device(cache=cache)          # prints a URL and a code, waits for approval
    with mysdk.Client(base_url="https://api.example.com", auth=login,
                      token_cache=cache) as client:
        client.get("/v1/cars")             # the next process finds the login: no prompt
    login.logout(cache=cache)              # revokes, then forgets the login

The login's token, with its refresh token, is stored under
:attr:`~RefreshTokenProvider.cache_key` (issuer, client id, scope), so any
process sharing the cache (a :class:`~mysdk.tokens.file.FileTokenCache`: 0600
files, atomic writes, a cross-process lock) uses it with no prompt and at most
one refresh request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from mysdk._frozen import Frozen
from mysdk._types import DEFAULT_TIMEOUT
from mysdk.auth.browser import DEFAULT_LOGIN_TIMEOUT, browser_flow
from mysdk.auth.device import DeviceCode, DevicePrompt, TerminalPrompt, device_flow
from mysdk.auth.discovery import ServerMetadata
from mysdk.auth.login_errors import LoginError
from mysdk.auth.refresh import RefreshTokenProvider
from mysdk.auth.revocation import TokenTypeHint, revoke_token
from mysdk.errors import MySDKError
from mysdk.tokens.cache import TokenCache
from mysdk.tokens.token import Token

__all__ = ["Login", "LogoutResult"]

_LEEWAY = 60.0  # seconds before expiry a stored login token is due for refresh
_LOCK_TIMEOUT = 30.0  # seconds to wait for the cache lock when storing or removing


class LogoutResult(Frozen):
    """What :meth:`Login.logout` did.

    Attributes:
        was_logged_in: A saved login was found.
        removed: The cache entry was removed (always, when there was one).
        revoked: The token types revoked at the server, in order
            (``"refresh_token"``, ``"access_token"``).
        errors: What went wrong revoking (a :class:`~mysdk.errors.MySDKError`
            each); the login was removed from the cache all the same.
    """

    __slots__ = ("errors", "removed", "revoked", "was_logged_in")

    was_logged_in: bool
    removed: bool
    revoked: tuple[str, ...]
    errors: tuple[MySDKError, ...]

    def __init__(self, was_logged_in: bool, removed: bool, revoked: tuple[str, ...] = (),
                 errors: tuple[MySDKError, ...] = ()) -> None:
        self._set("was_logged_in", was_logged_in)
        self._set("removed", removed)
        self._set("revoked", tuple(revoked))
        self._set("errors", tuple(errors))

    @property
    def ok(self) -> bool:
        """True when nothing went wrong."""
        return not self.errors


class Login(RefreshTokenProvider):
    """A user login with an authorization server, saved in a token cache.

    Takes every argument of :class:`~mysdk.auth.refresh.RefreshTokenProvider`
    (``client_id``, ``issuer`` or ``token_url``, ``client_secret``, ``scope``,
    ``on_refresh_token``, ...) and, to use instead of discovered ones:

    Args:
        device_authorization_url: The device authorization endpoint (RFC 8628 §4).
        authorization_url: The authorization endpoint (RFC 6749 §3.1).
        revocation_url: The revocation endpoint (RFC 7009).
        **kwargs: Passed to :class:`~mysdk.auth.refresh.RefreshTokenProvider`.

    Raises:
        InvalidRequestError: As :class:`~mysdk.auth.refresh.RefreshTokenProvider`.
    """

    def __init__(self, *, device_authorization_url: str | None = None,
                 authorization_url: str | None = None, revocation_url: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from mysdk._checks import check_base_url

        for name, value in (("device_authorization_url", device_authorization_url),
                            ("authorization_url", authorization_url),
                            ("revocation_url", revocation_url)):
            if value is not None:
                check_base_url(value, allow_http=self.allow_http, argument=f"Login.{name}")
        self.device_authorization_url = device_authorization_url
        self.authorization_url = authorization_url
        self.revocation_url = revocation_url

    def metadata(self, session: requests.Session, *, timeout: Any) -> ServerMetadata:
        """The endpoints: discovered from ``issuer``, overridden by the URLs given.

        Raises:
            DiscoveryError: Discovery failed.
        """
        found = super().metadata(session, timeout=timeout)
        changes = {name: value for name, value in (
            ("device_authorization_endpoint", self.device_authorization_url),
            ("authorization_endpoint", self.authorization_url),
            ("revocation_endpoint", self.revocation_url)) if value is not None}
        return found.replace(**changes) if changes else found

    # -- logging in ------------------------------------------------------------------

    def device(
        self,
        *,
        cache: TokenCache,
        session: requests.Session | None = None,
        timeout: Any = DEFAULT_TIMEOUT,
        prompt: DevicePrompt | Callable[[DeviceCode], object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Token:
        """Log in with the device authorization grant (RFC 8628) and save the login.

        Args:
            cache: Where the login is saved (under :attr:`cache_key`).
            session: The session to use; default a new one, closed afterwards.
            timeout: Per request: seconds, ``(connect, read)`` or ``None``.
            prompt: Shows the URI and code; default :class:`TerminalPrompt` (stderr).
            sleep: Waits between polls (injectable for tests).
            clock: Monotonic seconds (injectable for tests).

        Returns:
            The token, as saved.

        Raises:
            LoginError: Denied, expired, an unusable answer, or the server has
                no device authorization endpoint (``error="unsupported"``).
            DiscoveryError: The issuer's metadata could not be had.
            TokenRequestError: The server refused another way.
            TransportError: The server could not be reached.
            KeyboardInterrupt: Ctrl-C; nothing was saved.
        """
        with _session(session) as http:
            found = self.metadata(http, timeout=timeout)
            if found.device_authorization_endpoint is None:
                raise LoginError(f"{self.identity} offers no device login (no "
                                 "device_authorization_endpoint, RFC 8628 §4)",
                                 error="unsupported")
            token = device_flow(
                http, device_authorization_url=found.device_authorization_endpoint,
                token_url=found.token_endpoint, client_id=self.client_id,
                client_secret=self._client_secret, auth_method=self.auth_method,
                scope=self.scope, extra_params=self.extra_params, timeout=timeout,
                prompt=prompt if prompt is not None else TerminalPrompt(),
                allow_http=self.allow_http, sleep=sleep, clock=clock)
        return self._save(cache, token)

    def browser(
        self,
        *,
        cache: TokenCache,
        session: requests.Session | None = None,
        timeout: Any = DEFAULT_TIMEOUT,
        open_browser: Callable[[str], object] | None = None,
        login_timeout: float = DEFAULT_LOGIN_TIMEOUT,
    ) -> Token:
        """Log in in the browser (authorization code + PKCE S256, loopback) and save the login.

        Args:
            cache: Where the login is saved.
            session: The session to use; default a new one, closed afterwards.
            timeout: Token request timeout: seconds, ``(connect, read)`` or ``None``.
            open_browser: Opens the authorization URL (in a thread of its own);
                default :func:`webbrowser.open`.
            login_timeout: Seconds to wait for the browser's answer (default 300).

        Returns:
            The token, as saved.

        Raises:
            LoginError: Timeout, state or ``iss`` mismatch, the server's refusal,
                or the server has no authorization endpoint (``"unsupported"``).
            DiscoveryError: The issuer's metadata could not be had.
            TokenRequestError: The code exchange was refused.
            TransportError: The token endpoint could not be reached.
        """
        with _session(session) as http:
            found = self.metadata(http, timeout=timeout)
            if found.authorization_endpoint is None:
                raise LoginError(f"{self.identity} offers no browser login (no "
                                 "authorization_endpoint, RFC 8414 §2)", error="unsupported")
            token = browser_flow(
                http, authorization_url=found.authorization_endpoint,
                token_url=found.token_endpoint, client_id=self.client_id,
                client_secret=self._client_secret, auth_method=self.auth_method,
                scope=self.scope, extra_params=self.extra_params,
                issuer=self.issuer, iss_required=found.iss_parameter_supported,
                timeout=timeout, open_browser=open_browser, login_timeout=login_timeout)
        return self._save(cache, token)

    def saved(self, cache: TokenCache) -> Token | None:
        """The saved login's token (maybe expired, with its refresh token), or None."""
        return cache.get(self.cache_key)

    # -- logging out -----------------------------------------------------------------

    def logout(
        self,
        *,
        cache: TokenCache,
        session: requests.Session | None = None,
        timeout: Any = DEFAULT_TIMEOUT,
        revoke: bool = True,
    ) -> LogoutResult:
        """Revoke the saved login's tokens (RFC 7009) and remove it from the cache.

        The refresh token is revoked first, then the access token (unless it
        has expired). Whatever the server answers, the login is removed from
        the cache (with any temporary file of its entry, for a file cache); a
        failure to revoke is reported in the result, never raised.

        Args:
            cache: Where the login is saved.
            session: The session to use; default a new one, closed afterwards.
            timeout: Per request: seconds, ``(connect, read)`` or ``None``.
            revoke: Ask the server to revoke the tokens (default True).

        Returns:
            What was done (see :class:`LogoutResult`).
        """
        key = self.cache_key
        with cache.lock(key, timeout=_LOCK_TIMEOUT):
            token = cache.get(key)
            revoked: list[str] = []
            errors: list[MySDKError] = []
            if token is not None and revoke:
                self._revoke(token, session, timeout, revoked, errors)
            removed = cache.delete(key) if token is not None else False
        return LogoutResult(token is not None, removed, tuple(revoked), tuple(errors))

    def _revoke(self, token: Token, session: requests.Session | None, timeout: Any,
                revoked: list[str], errors: list[MySDKError]) -> None:
        pairs: list[tuple[str, TokenTypeHint]] = []
        if token.refresh_token:
            pairs.append((token.refresh_token, "refresh_token"))
        if not token.is_expired(time.time()):
            pairs.append((token.access_token, "access_token"))
        with _session(session) as http:
            try:
                url = self.metadata(http, timeout=timeout).revocation_endpoint
            except MySDKError as exc:
                errors.append(exc)
                return
            if url is None:
                errors.append(LoginError(f"{self.identity} offers no token revocation (no "
                                         "revocation_endpoint, RFC 8414 §2); the tokens stay "
                                         "valid until they expire", error="unsupported"))
                return
            for value, hint in pairs:
                try:
                    revoke_token(http, url, value, token_type_hint=hint,
                                 client_id=self.client_id, client_secret=self._client_secret,
                                 auth_method=self.auth_method, timeout=timeout)
                except MySDKError as exc:
                    errors.append(exc)
                else:
                    revoked.append(hint)

    def _save(self, cache: TokenCache, token: Token) -> Token:
        lifetime = token.lifetime
        if token.expires_at is not None and lifetime is not None:
            token = token.with_refresh_at(token.expires_at - min(_LEEWAY, lifetime / 2))
        with cache.lock(self.cache_key, timeout=_LOCK_TIMEOUT):
            cache.set(self.cache_key, token)
        return token


@contextmanager
def _session(session: requests.Session | None) -> Iterator[requests.Session]:
    if session is not None:
        yield session
        return
    with requests.Session() as own:
        yield own
