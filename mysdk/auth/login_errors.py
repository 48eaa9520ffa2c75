"""Errors of discovery and user logins, all within :class:`~mysdk.errors.AuthError`::

    AuthError
    ├── DiscoveryError        the issuer's metadata could not be had or is unusable
    ├── LoginError            a device or browser login did not complete
    └── TokenRequestError
        └── LoginRequiredError  no saved login, or its refresh token was refused

None of them carries a token, a refresh token, a code, a verifier or a device
code in its message, attributes or ``__cause__``/``__context__`` chain; each
pickles like every :class:`~mysdk.errors.MySDKError`.
"""

from __future__ import annotations

from mysdk.errors import AuthError, TokenRequestError, safe_url

__all__ = ["DiscoveryError", "LoginError", "LoginRequiredError"]


class DiscoveryError(AuthError):
    """The issuer's metadata (OpenID Connect Discovery 1.0 §4; RFC 8414 §3) failed.

    Attributes:
        issuer: The configured issuer URL (without userinfo or secret query values).
        url: The metadata URL last tried, or ``""``.
        status_code: HTTP status of the answer, or ``0`` when there was none.
        retryable: True when trying again later may work (no answer, a 5xx or
            a 429); False for an answer that will not change by itself (a 404,
            an ``issuer`` that does not match, a missing endpoint).
    """

    def __init__(self, message: str = "", *, issuer: str = "", url: str = "",
                 status_code: int = 0, retryable: bool = False, attempts: int = 1) -> None:
        super().__init__(message, attempts=attempts)
        self.issuer = safe_url(issuer)
        self.url = safe_url(url)
        self.status_code = status_code
        self.retryable = retryable


class LoginError(AuthError):
    """A device login (RFC 8628) or a browser login (RFC 6749 §4.1) did not complete.

    Attributes:
        error: What happened: ``"access_denied"`` (the user said no),
            ``"expired_token"`` (the device code expired first), ``"timeout"``
            (no answer from the browser in time), ``"state_mismatch"`` (RFC 6749
            §10.12), ``"iss_mismatch"`` (RFC 9207 §2.4), ``"invalid_response"``
            (the server's answer was unusable), or an RFC 6749 §4.1.2.1 error
            code the authorization server sent back.
        error_description: The server's ``error_description``, or ``None``.
    """

    def __init__(self, message: str = "", *, error: str = "", error_description: str | None = None,
                 attempts: int = 1) -> None:
        super().__init__(message, attempts=attempts)
        self.error = error
        self.error_description = error_description


class LoginRequiredError(TokenRequestError):
    """There is no saved login, or the server refused its refresh token: log in again.

    Raised by :class:`~mysdk.auth.refresh.RefreshTokenProvider` (and through it
    by every call of a client using it) when no refresh token is at hand
    (``error="login_required"``, ``status_code`` 0) or when the token endpoint
    refused the refresh token (``error="invalid_grant"``, RFC 6749 §5.2: it
    expired, was revoked, or was rotated away). The message says how to log in.
    """
