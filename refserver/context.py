"""Per-server state shared by all request handlers."""

from __future__ import annotations

from dataclasses import dataclass

from refserver.config import ServerConfig
from refserver.faults import FaultInjector
from refserver.grants import CodeStore, DeviceStore
from refserver.idempotency import IdempotencyStore
from refserver.oauth import CarsOAuth, LoginEndpoints
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
    devices: DeviceStore
    codes: CodeStore
    #: Device authorization and metadata; set by :meth:`bind_issuer` once the
    #: server's port (so its issuer URL) is known.
    login: LoginEndpoints | None = None

    @classmethod
    def create(cls, config: ServerConfig) -> AppContext:
        stats = ServerStats()
        tokens = TokenStore(config.clock)
        devices = DeviceStore(config.clock)
        codes = CodeStore(config.clock)
        validator = CarsRequestValidator(
            clients=config.clients,
            scopes=config.scopes,
            default_scope=config.default_scope,
            tokens=tokens,
            stats=stats,
            lifetime=config.access_token_lifetime,
            public_clients=config.public_clients,
            devices=devices,
            codes=codes,
        )
        validator.code_lifetime = config.authorization_code_lifetime
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
            devices=devices,
            codes=codes,
        )

    def bind_issuer(self, issuer: str) -> None:
        """Build the endpoints that name the issuer URL (called once the port is bound)."""
        self.oauth.issuer = issuer
        self.login = LoginEndpoints(
            self.oauth, issuer=issuer, scopes=self.config.scopes,
            device_lifetime=self.config.device_code_lifetime,
            device_interval=self.config.device_interval,
        )

    def close(self) -> None:
        self.cars.close()
