"""The :class:`Token` value: an OAuth2 access token with its absolute expiry."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from mysdk._frozen import Frozen
from mysdk.errors import TokenRequestError

__all__ = ["Token"]


class Token(Frozen):
    """An access token as issued by a token endpoint (RFC 6749 §5.1).

    Times are absolute wall-clock epoch seconds (``time.time()``), so a token
    persisted by one process means the same in another. They are computed once,
    when the token is received, from the moment the token request was *sent*:
    the token is never trusted for longer than the server said.

    ``repr()`` masks ``access_token`` and ``refresh_token``; compare tokens with
    ``==`` or identify one in logs by :attr:`fingerprint`.

    Attributes:
        access_token: The bearer credential (RFC 6750). Secret.
        token_type: ``"Bearer"`` unless the server said otherwise.
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
        if not isinstance(access_token, str) or not access_token:
            raise ValueError("Token.access_token must be a non-empty string")
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
        """Build a token from a token endpoint's JSON (RFC 6749 §5.1).

        Args:
            data: The decoded JSON object of a successful token response.
            issued_at: Epoch seconds when the token request was sent.

        Returns:
            The token; ``refresh_at`` is left ``None`` for the caller to schedule.

        Raises:
            TokenRequestError: ``error="invalid_response"`` when ``access_token``
                is missing or ``expires_in`` is not a number. The message never
                includes the response body, which holds secrets.
        """
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise TokenRequestError(
                "token response has no access_token (RFC 6749 §5.1)", error="invalid_response"
            )
        refresh_token = data.get("refresh_token")
        scope = data.get("scope")
        return cls(
            access_token=access_token,
            token_type=str(data.get("token_type") or "Bearer"),
            expires_at=_expires_at(data.get("expires_in"), issued_at),
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
        """The ``Authorization`` header value (RFC 6750 §2.1), e.g. ``"Bearer abc"``."""
        kind = "Bearer" if self.token_type.lower() == "bearer" else self.token_type
        return f"{kind} {self.access_token}"

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


def _expires_at(expires_in: Any, issued_at: float) -> float | None:
    if expires_in is None:
        return None  # unknown: refresh on 401 only
    try:
        # Some servers send expires_in as a string; RFC 6749 §5.1 says number.
        seconds = float(expires_in)
    except (TypeError, ValueError):
        raise TokenRequestError(
            "token response has a non-numeric expires_in (RFC 6749 §5.1)",
            error="invalid_response",
        ) from None
    if isinstance(expires_in, bool) or not math.isfinite(seconds):
        raise TokenRequestError(
            "token response has an invalid expires_in (RFC 6749 §5.1)", error="invalid_response"
        )
    return issued_at + max(seconds, 0.0)


def _field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"persisted token field {name!r} is missing or has the wrong type")
    return value


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else str(_field(data, name, str))


def _optional_number(data: Mapping[str, Any], name: str) -> float | None:
    return None if data.get(name) is None else float(_field(data, name, (int, float)))
