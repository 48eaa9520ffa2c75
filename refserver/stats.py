"""Thread-safe request counters, read by tests and benchmarks from other threads."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TypedDict

__all__ = ["ServerStats", "StatsSnapshot"]


class StatsSnapshot(TypedDict):
    """A consistent copy of every counter, taken under one lock."""

    token_requests: int
    token_requests_by_grant: dict[str, int]
    tokens_issued: int
    invalid_grant: int
    api_requests: int
    api_requests_by_method: dict[str, int]
    cars_created: int
    idempotent_replays: int
    faults_injected: dict[str, int]
    revocations: int


class ServerStats:
    """Counters of one running server.

    ``api_requests`` counts every request received on ``/api/v1/*``, including
    those answered by an injected fault or dropped, so retry tests can compare
    what the SDK sent with what the server saw.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token_requests = 0
        self._by_grant: Counter[str] = Counter()
        self._tokens_issued = 0
        self._invalid_grant = 0
        self._api_requests = 0
        self._by_method: Counter[str] = Counter()
        self._cars_created = 0
        self._idempotent_replays = 0
        self._faults: Counter[str] = Counter()
        self._revocations = 0

    # -- recording (called on the IOLoop thread) --------------------------------

    def record_token_request(self, grant_type: str) -> None:
        with self._lock:
            self._token_requests += 1
            self._by_grant[grant_type] += 1

    def record_token_issued(self) -> None:
        with self._lock:
            self._tokens_issued += 1

    def record_invalid_grant(self) -> None:
        with self._lock:
            self._invalid_grant += 1

    def record_api_request(self, method: str) -> None:
        with self._lock:
            self._api_requests += 1
            self._by_method[method] += 1

    def record_car_created(self) -> None:
        with self._lock:
            self._cars_created += 1

    def record_idempotent_replay(self) -> None:
        with self._lock:
            self._idempotent_replays += 1

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def record_revocation(self) -> None:
        with self._lock:
            self._revocations += 1

    # -- reading ------------------------------------------------------------------

    @property
    def token_requests(self) -> int:
        with self._lock:
            return self._token_requests

    @property
    def token_requests_by_grant(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_grant)

    @property
    def tokens_issued(self) -> int:
        with self._lock:
            return self._tokens_issued

    @property
    def invalid_grant(self) -> int:
        with self._lock:
            return self._invalid_grant

    @property
    def api_requests(self) -> int:
        with self._lock:
            return self._api_requests

    @property
    def api_requests_by_method(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_method)

    @property
    def cars_created(self) -> int:
        with self._lock:
            return self._cars_created

    @property
    def idempotent_replays(self) -> int:
        with self._lock:
            return self._idempotent_replays

    @property
    def faults_injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)

    @property
    def revocations(self) -> int:
        """Tokens revoked at the revocation endpoint (RFC 7009); unknown ones not counted."""
        with self._lock:
            return self._revocations

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                token_requests=self._token_requests,
                token_requests_by_grant=dict(self._by_grant),
                tokens_issued=self._tokens_issued,
                invalid_grant=self._invalid_grant,
                api_requests=self._api_requests,
                api_requests_by_method=dict(self._by_method),
                cars_created=self._cars_created,
                idempotent_replays=self._idempotent_replays,
                faults_injected=dict(self._faults),
                revocations=self._revocations,
            )

    def reset(self) -> None:
        with self._lock:
            self._token_requests = 0
            self._by_grant.clear()
            self._tokens_issued = 0
            self._invalid_grant = 0
            self._api_requests = 0
            self._by_method.clear()
            self._cars_created = 0
            self._idempotent_replays = 0
            self._faults.clear()
            self._revocations = 0
