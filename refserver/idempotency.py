"""Remembered responses for ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header).

POST and PATCH are not idempotent (RFC 9110 §9.2.2); a client that retries them
after a lost response would act twice. With the same key the server answers the
stored response instead, so retry tests can prove "no car created twice".
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["IdempotencyStore", "StoredResponse", "fingerprint"]

# Bounded so a benchmark that sends a fresh key per request cannot exhaust memory;
# far above what any test or demo run sends, so "process lifetime" holds in practice.
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class StoredResponse:
    #: (method, path, body digest) of the request that produced it.
    fingerprint: str
    status: int
    body: str | None
    headers: tuple[tuple[str, str], ...]


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Identifies the request a key was first used with; reuse for another is an error."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method} {path} {digest}"


class IdempotencyStore:
    """(client_id, key) -> response; keys are scoped per client so clients cannot collide."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, str], StoredResponse] = OrderedDict()

    def get(self, client_id: str, key: str) -> StoredResponse | None:
        with self._lock:
            return self._entries.get((client_id, key))

    def put(self, client_id: str, key: str, response: StoredResponse) -> None:
        with self._lock:
            self._entries[(client_id, key)] = response
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
