"""Pending user grants: device authorizations (RFC 8628) and authorization codes (RFC 6749 §4.1).

oauthlib runs the protocol (validation, error codes, token issuance); these
stores only remember what it asked the validator to save, on the server's clock,
and never log or expose a code.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "USER_CODE_ALPHABET",
    "AuthorizationCode",
    "CodeStore",
    "DeviceGrant",
    "DeviceStore",
    "generate_user_code",
    "normalise_user_code",
]

#: RFC 8628 §6.1: no vowels (no words), no easily confused characters.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
SLOW_DOWN_STEP = 5  # seconds added to the interval per slow_down (RFC 8628 §3.5)


def generate_user_code() -> str:
    """A user code like ``"WDJB-MJHT"`` (RFC 8628 §6.1: 8 characters of 20, ~34.5 bits)."""
    chars = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_user_code(text: str) -> str:
    """What a user typed, as stored: upper case, without dashes or spaces (RFC 8628 §6.1)."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass
class DeviceGrant:
    """One device authorization (RFC 8628 §3.2) until it is used, denied or expired."""

    client_id: str
    user_code: str
    scopes: tuple[str, ...]
    expires_at: float  # on the store's clock
    interval: float  # seconds the device must wait between polls
    status: str = "pending"  # "pending", "approved" or "denied"
    user: str | None = None
    last_poll: float | None = None


class DeviceStore:
    """Device authorizations, keyed by device code; user codes index them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._by_device: dict[str, DeviceGrant] = {}
        self._by_user: dict[str, str] = {}

    def add(self, *, device_code: str, user_code: str, client_id: str, scopes: list[str],
            lifetime: float, interval: float) -> None:
        with self._lock:
            self._by_device[device_code] = DeviceGrant(
                client_id, user_code, tuple(scopes), self._clock() + lifetime, interval)
            self._by_user[normalise_user_code(user_code)] = device_code

    def decide(self, user_code: str, *, approve: bool, user: str) -> bool:
        """Record the user's decision; False when the code is unknown, used or expired."""
        with self._lock:
            device_code = self._by_user.get(normalise_user_code(user_code))
            grant = self._by_device.get(device_code) if device_code else None
            if grant is None or grant.status != "pending" or self._clock() >= grant.expires_at:
                return False
            grant.status = "approved" if approve else "denied"
            grant.user = user
            return True

    def poll(self, client_id: str, device_code: str) -> tuple[str | None, DeviceGrant | None]:
        """The RFC 8628 §3.5 status of one poll, as oauthlib's ``DEVICE_CODE_*`` strings.

        ``None`` (unknown, another client's, or already used: ``invalid_grant``),
        ``"expired_token"``, ``"slow_down"`` (polled sooner than the interval; the
        interval grows by 5 s), ``"access_denied"``, ``"authorized"`` (the grant is
        consumed: a device code yields one token response) or
        ``"authorization_pending"``.
        """
        with self._lock:
            grant = self._by_device.get(device_code)
            if grant is None or grant.client_id != client_id:
                return None, None
            now = self._clock()
            if now >= grant.expires_at:
                self._forget(device_code, grant)
                return "expired_token", grant
            too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval
            grant.last_poll = now
            if too_soon:
                grant.interval += SLOW_DOWN_STEP
                return "slow_down", grant
            if grant.status == "denied":
                self._forget(device_code, grant)
                return "access_denied", grant
            if grant.status == "approved":
                self._forget(device_code, grant)
                return "authorized", grant
            return "authorization_pending", grant

    def _forget(self, device_code: str, grant: DeviceGrant) -> None:
        self._by_device.pop(device_code, None)
        self._by_user.pop(normalise_user_code(grant.user_code), None)


@dataclass(frozen=True)
class AuthorizationCode:
    """One authorization code (RFC 6749 §4.1.2) with its PKCE challenge (RFC 7636 §4.4)."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    user: str
    expires_at: float
    challenge: str | None = None
    challenge_method: str | None = None


class CodeStore:
    """Authorization codes until they are exchanged (once) or expire."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._codes: dict[str, AuthorizationCode] = {}

    def add(self, code: str, record: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code] = record

    def get(self, code: str) -> AuthorizationCode | None:
        """The live code's record, or None when unknown, used or expired."""
        with self._lock:
            record = self._codes.get(code)
            if record is not None and self._clock() >= record.expires_at:
                del self._codes[code]
                return None
            return record

    def discard(self, code: str) -> None:
        with self._lock:
            self._codes.pop(code, None)

    def lifetime_from_now(self, seconds: float) -> float:
        """Absolute expiry on this store's clock, ``seconds`` from now."""
        return self._clock() + seconds
