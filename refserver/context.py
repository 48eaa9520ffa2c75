"""Per-server state shared by all request handlers."""

from __future__ import annotations

from dataclasses import dataclass

from refserver.config import ServerConfig
from refserver.faults import FaultInjector
from refserver.idempotency import IdempotencyStore
from refserver.oauth import CarsOAuth
from refserver.stats import ServerStats
from refserver.store import CarStore
from refserver.tokens import TokenStore
from refserver.validator import CarsRequestValidator

__all__ = ["AppContext"]


@dataclass
class AppContext:
    """Everything one server owns; several servers in one process share nothing."""

    config: ServerConfig
    stats: ServerStats
    tokens: TokenStore
    oauth: CarsOAuth
    cars: CarStore
    faults: FaultInjector
    idempotency: IdempotencyStore

    @classmethod
    def create(cls, config: ServerConfig) -> AppContext:
        stats = ServerStats()
        tokens = TokenStore()
        validator = CarsRequestValidator(
            clients=config.clients,
            scopes=config.scopes,
            default_scope=config.default_scope,
            tokens=tokens,
            stats=stats,
            lifetime=config.access_token_lifetime,
        )
        oauth = CarsOAuth(
            validator,
            lifetime=config.access_token_lifetime,
            issue_refresh_tokens=config.issue_refresh_tokens,
        )
        return cls(
            config=config,
            stats=stats,
            tokens=tokens,
            oauth=oauth,
            cars=CarStore(config.db_path),
            faults=FaultInjector(config.faults),
            idempotency=IdempotencyStore(),
        )

    def close(self) -> None:
        self.cars.close()
