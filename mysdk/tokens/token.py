"""The :class:`Token` value: an OAuth2 access token with its absolute expiry."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from mysdk._frozen import Frozen
from mysdk.errors import TokenRequestError

__all__ = ["MAX_EXPIRES_IN", "Token"]

MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
"""Longest lifetime, in seconds (ten 365-day years), taken from a token response.

A finite ``expires_in`` above it is clamped to it; a value that is not a finite
number at all (``1e999``, ``10**400``, ``NaN``) is refused."""

# Visible ASCII (RFC 5234 VCHAR, %x21-7E). RFC 6750 §2.1's b64token (ALPHA, DIGIT,
# "-._~+/" and trailing "=") is a strict subset; real tokens outside it (e.g.
# "app|secret") still fit, and any VCHAR string is a valid header value.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
# A numeric string tolerated in place of a JSON number: digits, an optional
# fraction and exponent, no sign (a negative lifetime is refused anyway).
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")
# Registered access token types (IANA "OAuth Access Token Types"), named in the
# error when refused; any other value is not echoed (it could be a secret).
_KNOWN_TOKEN_TYPES = {"mac": "mac", "dpop": "DPoP", "pop": "PoP", "n_a": "N_A"}


class Token(Frozen):
    """An access token as issued by a token endpoint (RFC 6749 §5.1).

    Times are absolute wall-clock epoch seconds (``time.time()``), so a token
    persisted by one process means the same in another. They are computed once,
    when the token is received, from the moment the token request was *sent*:
    the token is never trusted for longer than the server said.

    ``repr()`` masks ``access_token`` and ``refresh_token``; compare tokens with
    ``==`` or identify one in logs by :attr:`fingerprint`.

    An ``access_token`` is always a non-empty string of visible ASCII
    characters (``%x21-7E``): a superset of RFC 6750 §2.1's ``b64token`` that
    is always a valid header value, so :meth:`authorization` can never produce
    a header with a line break, a control character or a second value.

    Attributes:
        access_token: The bearer credential (RFC 6750). Secret.
        token_type: ``"Bearer"`` for every token built by :meth:`from_response`
            (other types are refused there). Kept as given when a token is
            constructed directly; never used as the ``Authorization`` scheme.
        expires_at: Epoch seconds after which the token is invalid, or ``None``
            when the server sent no ``expires_in``: then the token is used until a
            401 says otherwise, never treated as valid forever.
        refresh_token: RFC 6749 §6 refresh token, or ``None``. Secret.
        scope: Space-separated scopes granted (RFC 6749 §3.3), or ``None``.
        issued_at: Epoch seconds when the token request was sent.
        refresh_at: Epoch seconds from which a proactive refresh is due, or
            ``None`` (refresh only on expiry or 401).
    """

    __slots__ = (
        "access_token",
        "expires_at",
        "issued_at",
        "refresh_at",
        "refresh_token",
        "scope",
        "token_type",
    )

    access_token: str
    token_type: str
    expires_at: float | None
    refresh_token: str | None
    scope: str | None
    issued_at: float
    refresh_at: float | None

    def __init__(
        self,
        access_token: str,
        token_type: str = "Bearer",  # noqa: S107 - a scheme name, not a secret
        expires_at: float | None = None,
        refresh_token: str | None = None,
        scope: str | None = None,
        issued_at: float = 0.0,
        refresh_at: float | None = None,
    ) -> None:
        if not _is_header_safe(access_token):
            raise ValueError(
                "Token.access_token must be a non-empty string of visible ASCII characters "
                "(RFC 6750 §2.1)"
            )
        self._set("access_token", access_token)
        self._set("token_type", token_type)
        self._set("expires_at", expires_at)
        self._set("refresh_token", refresh_token)
        self._set("scope", scope)
        self._set("issued_at", issued_at)
        self._set("refresh_at", refresh_at)

    def __repr__(self) -> str:
        return (
            f"Token(access_token='***', token_type={self.token_type!r}, "
            f"expires_at={self.expires_at!r}, refresh_token="
            f"{'***' if self.refresh_token else None!r}, scope={self.scope!r}, "
            f"issued_at={self.issued_at!r}, refresh_at={self.refresh_at!r})"
        )

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, issued_at: float) -> Token:
        """Build a token from a token endpoint's JSON (RFC 6749 §5.1), validating it.

        Validation, so that nothing unusable is ever cached or sent:

        * ``access_token``: a non-empty string of visible ASCII characters
          (``%x21-7E``; RFC 6750 §2.1 ``b64token`` is the strict subset). A
          space, a control character (CR, LF, NUL, TAB, DEL) or any character
          beyond ASCII is refused.
        * ``token_type``: ``Bearer`` in any case (RFC 6749 §5.1: case-insensitive).
          Any other type (``mac``, ``DPoP``, ``"Bearer x"``, a number) is refused
          (RFC 6749 §7.1: a client must not use a token type it does not
          understand). Deviation: RFC 6749 §5.1 makes ``token_type`` REQUIRED,
          but an absent or ``null`` one is taken as ``Bearer``, as many servers
          omit it.
        * ``expires_in``: absent/``null`` means unknown expiry. Otherwise a JSON
          number, or a numeric string (digits, optional fraction and exponent;
          tolerated although RFC 6749 §5.1 says number), that is finite and
          >= 0 seconds; a larger value than :data:`MAX_EXPIRES_IN` is clamped
          to it. A boolean, a negative number, ``NaN``, an infinity or a number
          beyond the float range (``1e999``, ``10**400``) is refused.
        * ``refresh_token`` and ``scope`` are kept when they are non-empty
          strings and ignored otherwise.

        Args:
            data: The decoded JSON object of a successful token response.
            issued_at: Epoch seconds when the token request was sent.

        Returns:
            The token, ``token_type`` ``"Bearer"``; ``refresh_at`` is left
            ``None`` for the caller to schedule.

        Raises:
            TokenRequestError: ``error="invalid_response"`` when a field above
                is invalid. The message never includes the response body or a
                field's value, which may hold secrets; the error has no
                ``__cause__`` or ``__context__``.
        """
        problem = _response_problem(data)
        if problem is not None:
            raise TokenRequestError(problem, error="invalid_response")
        lifetime = _lifetime(data.get("expires_in"))
        assert not isinstance(lifetime, str)  # _response_problem checked it
        refresh_token = data.get("refresh_token")
        scope = data.get("scope")
        return cls(
            access_token=data["access_token"],
            token_type="Bearer",  # noqa: S106 - a scheme name, not a secret
            expires_at=None if lifetime is None else issued_at + lifetime,
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token
            else None,
            scope=scope if isinstance(scope, str) and scope else None,
            issued_at=issued_at,
        )

    @property
    def lifetime(self) -> float | None:
        """Seconds between issue and expiry, or ``None`` when unknown."""
        return None if self.expires_at is None else self.expires_at - self.issued_at

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible id of the access token, safe for logs."""
        return hashlib.sha256(self.access_token.encode()).hexdigest()[:12]

    def is_expired(self, now: float) -> bool:
        """True when ``now`` (epoch seconds) is at or past ``expires_at``."""
        return self.expires_at is not None and now >= self.expires_at

    def needs_refresh(self, now: float) -> bool:
        """True when ``now`` (epoch seconds) is past ``refresh_at`` or expiry."""
        return self.is_expired(now) or (self.refresh_at is not None and now >= self.refresh_at)

    def with_refresh_at(self, refresh_at: float | None) -> Token:
        """Return a copy with ``refresh_at`` (epoch seconds) set."""
        return self.replace(refresh_at=refresh_at)

    def authorization(self) -> str:
        """The ``Authorization`` header value (RFC 6750 §2.1): ``"Bearer <access_token>"``.

        Always the ``Bearer`` scheme, whatever :attr:`token_type` says: mysdk
        supports bearer tokens only, and tokens of other types are refused when
        received (:meth:`from_response`).
        """
        return f"Bearer {self.access_token}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict for persisted caches (holds secrets)."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "issued_at": self.issued_at,
            "refresh_at": self.refresh_at,
        }

    def to_json(self) -> str:
        """Compact JSON of :meth:`to_dict`, the form persisted caches store (holds secrets)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Token:
        """Inverse of :meth:`to_json`, for a value read back from storage.

        Raises:
            ValueError: ``raw`` is not a stored token; the message says what is
                wrong and never includes the contents.
        """
        try:
            data = json.loads(raw)
        except (TypeError, ValueError, RecursionError):  # incl. JSONDecodeError, UnicodeError
            raise ValueError("not valid JSON") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            return cls.from_dict(data)
        except OverflowError:  # an integer too large for a float
            raise ValueError("a number is out of range") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: A field is missing or of the wrong type (the message
                names the field, never its value).
        """
        return cls(
            access_token=_field(data, "access_token", str),
            token_type=_field(data, "token_type", str),
            expires_at=_optional_number(data, "expires_at"),
            refresh_token=_optional_str(data, "refresh_token"),
            scope=_optional_str(data, "scope"),
            issued_at=float(_field(data, "issued_at", (int, float))),
            refresh_at=_optional_number(data, "refresh_at"),
        )


def _is_header_safe(value: object) -> bool:
    return isinstance(value, str) and _HEADER_SAFE.fullmatch(value) is not None


def _response_problem(data: Mapping[str, Any]) -> str | None:
    """What makes ``data`` unusable as a token response, or None (never a value)."""
    access_token = data.get("access_token")
    if access_token is None:
        return "token response has no access_token (RFC 6749 §5.1)"
    if not _is_header_safe(access_token):
        return ("token response has an unusable access_token: not a non-empty string of "
                "visible ASCII characters (RFC 6750 §2.1)")
    token_type = data.get("token_type")
    if token_type is not None and not (
            isinstance(token_type, str) and token_type.isascii()
            and token_type.lower() == "bearer"):
        known = _KNOWN_TOKEN_TYPES.get(token_type.lower()) if isinstance(token_type, str) \
            else None
        named = f"token_type {known!r}" if known else "token_type (value not shown)"
        return (f"token response has an unsupported {named}: only the bearer token type "
                "is supported (RFC 6750; RFC 6749 §7.1)")
    lifetime = _lifetime(data.get("expires_in"))
    if isinstance(lifetime, str):
        return f"token response has an invalid expires_in: {lifetime} (RFC 6749 §5.1)"
    return None


def _lifetime(expires_in: Any) -> float | str | None:
    """Seconds of validity from ``expires_in``; None when absent; a reason when invalid."""
    if expires_in is None:
        return None  # unknown: refresh on 401 only
    if isinstance(expires_in, bool):
        return "a boolean, not a number"
    if isinstance(expires_in, str):
        # Some servers send a string; RFC 6749 §5.1 says number.
        text = expires_in.strip()
        if _DECIMAL.fullmatch(text) is None:
            return "not a non-negative number"
        seconds = float(text)  # cannot fail for this grammar; "1e999" gives inf
    elif isinstance(expires_in, int):
        if expires_in < 0:
            return "negative"
        try:
            seconds = float(expires_in)
        except OverflowError:  # 10**400: beyond the range of a float
            return "not a finite number"
    elif isinstance(expires_in, float):
        seconds = expires_in
    else:
        return "not a number"
    if not math.isfinite(seconds):
        return "not a finite number"
    if seconds < 0:
        return "negative"
    return min(seconds, float(MAX_EXPIRES_IN))


def _field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"persisted token field {name!r} is missing or has the wrong type")
    return value


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else str(_field(data, name, str))


def _optional_number(data: Mapping[str, Any], name: str) -> float | None:
    return None if data.get(name) is None else float(_field(data, name, (int, float)))
