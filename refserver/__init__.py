"""Reference server for the Cars API: OAuth 2.0 (oauthlib) + a JSON CRUD API on tornado.

Used by the demo, integration tests, cassette recording and benchmarks; binds to
loopback only. Start one with :func:`start_server` or ``python -m refserver``.
"""

from refserver.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PUBLIC_CLIENT_ID,
    DEFAULT_SCOPES,
    DEFAULT_USER,
    ServerConfig,
)
from refserver.faults import FaultConfig, FaultKind
from refserver.runner import RunningServer, start_server
from refserver.stats import ServerStats, StatsSnapshot

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PUBLIC_CLIENT_ID",
    "DEFAULT_SCOPES",
    "DEFAULT_USER",
    "FaultConfig",
    "FaultKind",
    "RunningServer",
    "ServerConfig",
    "ServerStats",
    "StatsSnapshot",
    "start_server",
]
