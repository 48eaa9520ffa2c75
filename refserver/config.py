"""Configuration of one reference server."""

from __future__ import annotations

from dataclasses import dataclass, field

from refserver.faults import FaultConfig

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_SCOPES",
    "FaultConfig",
    "ServerConfig",
]

DEFAULT_CLIENT_ID = "demo-client"
# A published demo credential for a loopback-only test server, not a secret.
DEFAULT_CLIENT_SECRET = "demo-secret-change-me"
DEFAULT_SCOPES: frozenset[str] = frozenset({"cars:read", "cars:write"})


def _default_clients() -> dict[str, str]:
    return {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}


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

    def __post_init__(self) -> None:
        if self.access_token_lifetime < 0:
            raise ValueError("access_token_lifetime must be >= 0")
        if not self.clients:
            raise ValueError("at least one client is required")
        if not self.scopes:
            raise ValueError("at least one scope is required")

    @property
    def default_scope(self) -> str:
        """Space-delimited scope granted when a token request names none (RFC 6749 §3.3)."""
        return " ".join(sorted(self.scopes))
