"""Configuration of one reference server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from refserver.faults import FaultConfig

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PUBLIC_CLIENT_ID",
    "DEFAULT_SCOPES",
    "DEFAULT_USER",
    "FaultConfig",
    "ServerConfig",
]

DEFAULT_CLIENT_ID = "demo-client"
#: A public client (no secret, RFC 6749 §2.1), as a CLI or desktop app is.
DEFAULT_PUBLIC_CLIENT_ID = "mysdk-cli"
#: The resource owner who approves device and browser logins on this server.
DEFAULT_USER = "demo-user"
# A published demo credential for a loopback-only test server, not a secret.
DEFAULT_CLIENT_SECRET = "demo-secret-change-me"
DEFAULT_SCOPES: frozenset[str] = frozenset({"cars:read", "cars:write"})


def _default_clients() -> dict[str, str]:
    return {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}


def _default_public_clients() -> frozenset[str]:
    return frozenset({DEFAULT_PUBLIC_CLIENT_ID})


@dataclass
class ServerConfig:
    """Everything a server needs at start; faults can also change later via ``set_faults``.

    ``issue_refresh_tokens``: RFC 6749 §4.4.3 says a refresh token SHOULD NOT be
    included in a client-credentials response. The flag (default False) exists only
    so SDK tests can exercise the refresh grant (RFC 6749 §6) against this server.
    """

    host: str = "127.0.0.1"
    port: int = 0
    db_path: str = ":memory:"
    #: Access-token lifetime in seconds; the server enforces the exact value while
    #: ``expires_in`` in the token response is that value rounded down (RFC 6749 §5.1
    #: defines it as whole seconds), so a client never believes in a longer life.
    access_token_lifetime: float = 3600.0
    issue_refresh_tokens: bool = False
    #: client_id -> client_secret; every client is confidential (RFC 6749 §2.1).
    clients: dict[str, str] = field(default_factory=_default_clients)
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: Scopes a client may ask for (others: invalid_scope); a token request without
    #: scope gets all of them. The API itself wants cars:read for reads, cars:write
    #: for writes, so keep those in the set.
    scopes: frozenset[str] = DEFAULT_SCOPES
    #: Tornado access log per request; off so test and benchmark output stays clean.
    access_log: bool = False
    #: Bounded waits for start and stop, in seconds.
    start_timeout: float = 10.0
    stop_timeout: float = 10.0
    #: Public clients (no secret, RFC 6749 §2.1): device and browser logins,
    #: refresh; never client_credentials.
    public_clients: frozenset[str] = field(default_factory=_default_public_clients)
    #: Seconds a device code and its user code live (RFC 8628 §3.2 ``expires_in``).
    device_code_lifetime: int = 600
    #: Seconds a device must wait between polls (RFC 8628 §3.2 ``interval``); a
    #: poll sooner than that answers ``slow_down`` and adds 5 s (§3.5).
    device_interval: int = 5
    #: Seconds an authorization code lives (RFC 6749 §4.1.2: at most 10 minutes).
    authorization_code_lifetime: float = 60.0
    #: Who approves browser logins (at once: this server has no login page) and
    #: device logins (through ``POST /device/approve``).
    user: str = DEFAULT_USER
    #: The monotonic clock of token, device-code and code expiry, in seconds.
    #: Tests pass a fake one to cross a device code's lifetime without waiting.
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.access_token_lifetime < 0:
            raise ValueError("access_token_lifetime must be >= 0")
        if not self.clients and not self.public_clients:
            raise ValueError("at least one client is required")
        if set(self.clients) & set(self.public_clients):
            raise ValueError("a client is either confidential (with a secret) or public")
        if self.device_code_lifetime <= 0 or self.device_interval < 0:
            raise ValueError("device_code_lifetime must be > 0 and device_interval >= 0")
        if not self.scopes:
            raise ValueError("at least one scope is required")

    @property
    def default_scope(self) -> str:
        """Space-delimited scope granted when a token request names none (RFC 6749 §3.3)."""
        return " ".join(sorted(self.scopes))
