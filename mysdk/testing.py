"""Test helpers: a vcrpy configuration that scrubs every secret, and a scanner.

Import this only in tests; it imports vcrpy lazily (``pip install vcrpy``).

Scrubbed before a cassette is written:

* request headers ``Authorization``, ``Proxy-Authorization``, ``Cookie``,
  ``X-API-Key`` (value replaced by :data:`FILTERED`);
* request form or JSON fields named in :data:`SECRET_FIELDS` (the client
  secret of ``client_secret_post``, refresh tokens, device codes, ...);
* response JSON fields named in :data:`SECRET_FIELDS` (``access_token``,
  ``refresh_token``, ``id_token`` of token responses: vcrpy's own filters do
  not touch response bodies), each replaced by ``**FILTERED-<8 hex>**`` so
  that two different tokens stay different on replay;
* response headers ``Set-Cookie``.

Optionally the recorded origin is rewritten to a fixed one (e.g.
``http://refserver.test``) so cassettes do not depend on a random port.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import vcr

__all__ = ["FILTERED", "SECRET_FIELDS", "find_secrets", "make_vcr", "scrub_response_body"]

FILTERED = "**FILTERED**"
"""Placeholder written in place of every secret."""

SECRET_FIELDS = frozenset({
    "access_token", "refresh_token", "id_token", "client_secret", "client_assertion",
    "assertion", "device_code", "code", "password", "api_key",
})
"""Names of form/JSON fields whose values are secrets (RFC 6749, RFC 8628, OIDC)."""

_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")

# Shapes that betray a live secret in any text: bearer/basic credentials and
# secret JSON/form fields whose value is not the placeholder.
_FIELDS_RE = "|".join(sorted(SECRET_FIELDS))
_SECRET_PATTERNS = [
    re.compile(r"(?i)\b(?:Bearer|Basic)\s+(?!\*\*FILTERED)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r'"(?:' + _FIELDS_RE + r')"\s*:\s*"(?!\*\*FILTERED)[^"]{6,}"'),
    re.compile(r"(?:" + _FIELDS_RE + r")=(?!(?:\*|%2A){2}FILTERED)[^&\s\"']{4,}"),
]


def make_vcr(
    cassette_dir: str | Path, *, record: bool, canonical_origin: str | None = None
) -> vcr.VCR:
    """A ``vcr.VCR`` that scrubs secrets before anything is written.

    Args:
        cassette_dir: Folder of the cassettes (e.g. ``cassettes/test_module``).
        record: True re-records every cassette (``record_mode="all"``); False
            replays only and fails on any request not in the cassette
            (``record_mode="none"``), which is what CI does.
        canonical_origin: When given, e.g. ``"http://refserver.test"``, the
            scheme, host and port of every recorded request are replaced by it,
            and matching ignores the port, so a replay may use that origin.

    Returns:
        The configured ``vcr.VCR``; use ``with my_vcr.use_cassette("name.yaml")``.
    """
    import vcr

    rewrite = _origin_rewriter(canonical_origin) if canonical_origin else None

    def before_record_request(request: Any) -> Any:
        if rewrite is not None:
            request.uri = rewrite(request.uri)
        return request

    return vcr.VCR(
        cassette_library_dir=str(cassette_dir),
        record_mode="all" if record else "none",
        match_on=["method", "scheme", "host", "path", "query"],
        filter_headers=[(name, FILTERED) for name in _SECRET_HEADERS],
        filter_post_data_parameters=[(name, FILTERED) for name in sorted(SECRET_FIELDS)],
        before_record_request=before_record_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    # vcrpy writes nothing if this returns None (vcrpy #863): always return it.
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() == "set-cookie":
            del headers[name]
    body = response.get("body", {})
    if isinstance(body.get("string"), (bytes, str)):
        body["string"] = scrubbed = scrub_response_body(body["string"])
        for name in headers:
            if name.lower() == "content-length":
                size = len(scrubbed.encode() if isinstance(scrubbed, str) else scrubbed)
                headers[name] = [str(size)]
    return response


def scrub_response_body(raw: bytes | str) -> bytes | str:
    """Replace secret fields of a JSON body with :data:`FILTERED`; other bodies pass."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        data = json.loads(text)
    except ValueError:
        return raw
    scrubbed = json.dumps(_scrub(data))
    return scrubbed.encode() if isinstance(raw, bytes) else scrubbed


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _placeholder(v) if k in SECRET_FIELDS and isinstance(v, str) and v
                else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _placeholder(secret: str) -> str:
    # Distinct secrets stay distinct (a replayed refresh must yield a *new*
    # token), yet 32 bits of a hash of a random token reveal nothing usable.
    return f"**FILTERED-{hashlib.sha256(secret.encode()).hexdigest()[:8]}**"


def find_secrets(text: str, known: tuple[str, ...] = ()) -> list[str]:
    """Return the secret-looking snippets in ``text`` (empty when clean).

    Args:
        text: E.g. a cassette file's content.
        known: Literal secrets to look for as well (client secrets of a test).
    """
    hits = [m.group(0)[:40] for pattern in _SECRET_PATTERNS for m in pattern.finditer(text)]
    return hits + [f"<known secret #{i}>" for i, s in enumerate(known) if s and s in text]


def _origin_rewriter(origin: str) -> Callable[[str], str]:
    target = urlsplit(origin)

    def rewrite(uri: str) -> str:
        parts = urlsplit(uri)
        return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))

    return rewrite
