"""Which names hold secrets, and the placeholders that replace their values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "DEFAULT_CANONICAL_ORIGIN",
    "DEFAULT_SECRET_NAMES",
    "FILTERED",
    "OAUTH_FIELDS",
    "SECRET_FIELDS",
    "SECRET_HEADERS",
    "SecretNames",
    "credential_headers",
    "is_placeholder",
]

FILTERED = "**FILTERED**"
"""Placeholder of a secret whose value is not kept distinct (e.g. in old cassettes).

Scrubbed values become ``**FILTERED-<8 hex>**``: distinct secrets stay distinct.
"""

DEFAULT_CANONICAL_ORIGIN = "http://127.0.0.1:8765"
"""Origin written in cassettes instead of the live server's; loopback, so a client
that refuses plain ``http://`` to other hosts accepts it. Nothing listens there:
a replay never opens a connection."""

SECRET_FIELDS = frozenset({
    # RFC 6749 §4.1.3, §5.1, §6; OpenID Connect Core §3.1.3.3
    "access_token", "refresh_token", "id_token", "client_secret",
    # RFC 7521/7523 assertions, RFC 7636 PKCE, RFC 8628 device flow, RFC 8693 exchange
    "client_assertion", "assertion", "code_verifier", "device_code",
    "subject_token", "actor_token",
    "password", "api_key", "apikey",
})
"""Form, JSON and query field names whose values are secret wherever they appear."""

OAUTH_FIELDS = frozenset({"code", "token"})
"""Field names that are secret only in OAuth contexts: an authorization code
(RFC 6749 §4.1.2, §4.1.3) and the ``token`` of revocation and introspection
requests (RFC 7009 §2.1, RFC 7662 §2.1). Elsewhere ``code`` is usually an error
code (``{"error": {"code": "item_not_found"}}``) and is kept."""

SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
})
"""Header names (lower case) whose values are secret, in requests and responses."""

_CREDENTIAL_NAME = re.compile(r"(?i)key|token|secret|auth|signature|session|password|credential")
_PLACEHOLDER = re.compile(r"(?:\*\*|%2A%2A)FILTERED(?:-[0-9a-f]{8})?(?:\*\*|%2A%2A)", re.I)


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is a placeholder (``**FILTERED**`` or ``**FILTERED-<8 hex>**``,
    also percent-encoded)."""
    return _PLACEHOLDER.fullmatch(value) is not None


def _lowered(names: Iterable[str]) -> frozenset[str]:
    if isinstance(names, str):
        raise TypeError(f"expected a collection of names, got the string {names!r}")
    return frozenset(name.lower() for name in names)


@dataclass(frozen=True, repr=False)
class SecretNames:
    """Names whose values the scrubber replaces and the scanner looks for.

    An immutable value: derive a project's set with :meth:`add` and :meth:`remove`.
    Names are compared case-insensitively (stored in lower case).

    Attributes:
        fields: Form, JSON and query field names that are secret everywhere;
            default :data:`SECRET_FIELDS`.
        oauth_fields: Field names secret only in OAuth contexts (token,
            revocation and introspection requests, redirect URLs); default
            :data:`OAUTH_FIELDS`.
        headers: Header names whose values are secret, in requests and
            responses; default :data:`SECRET_HEADERS`.

    Raises:
        TypeError: A collection is a single string (``fields="password"``).
    """

    fields: frozenset[str] = field(default=SECRET_FIELDS)
    oauth_fields: frozenset[str] = field(default=OAUTH_FIELDS)
    headers: frozenset[str] = field(default=SECRET_HEADERS)

    def __post_init__(self) -> None:
        for name in ("fields", "oauth_fields", "headers"):
            object.__setattr__(self, name, _lowered(getattr(self, name)))

    def __repr__(self) -> str:
        # Sorted: a set's order changes from run to run, a repr should not.
        parts = (f"{name}={sorted(getattr(self, name))!r}"
                 for name in ("fields", "oauth_fields", "headers"))
        return f"SecretNames({', '.join(parts)})"

    def add(self, *, fields: Iterable[str] = (), oauth_fields: Iterable[str] = (),
            headers: Iterable[str] = ()) -> SecretNames:
        """A copy with more names, e.g. ``names.add(fields={"pin"}, headers={"X-Token"})``."""
        return replace(self, fields=self.fields | _lowered(fields),
                       oauth_fields=self.oauth_fields | _lowered(oauth_fields),
                       headers=self.headers | _lowered(headers))

    def remove(self, *, fields: Iterable[str] = (), oauth_fields: Iterable[str] = (),
               headers: Iterable[str] = ()) -> SecretNames:
        """A copy without some names, e.g. ``names.remove(fields={"password"})``."""
        return replace(self, fields=self.fields - _lowered(fields),
                       oauth_fields=self.oauth_fields - _lowered(oauth_fields),
                       headers=self.headers - _lowered(headers))

    def is_secret_field(self, name: str, *, oauth: bool = False) -> bool:
        """Whether field ``name`` holds a secret (in an OAuth context when ``oauth``)."""
        lowered = name.lower()
        return lowered in self.fields or (oauth and lowered in self.oauth_fields)

    def is_secret_header(self, name: str) -> bool:
        """Whether header ``name`` holds a secret."""
        return name.lower() in self.headers


DEFAULT_SECRET_NAMES = SecretNames()
"""The default names: :data:`SECRET_FIELDS`, :data:`OAUTH_FIELDS`, :data:`SECRET_HEADERS`."""


def credential_headers(client: Any) -> frozenset[str]:
    """Header names the client's credentials are sent in.

    Reads the client's ``auth``, its named ``credentials`` (per call, operation or
    resource) and the headers of its session whose names look like credentials
    (gateway keys such as ``Ocp-Apim-Subscription-Key``).

    Args:
        client: A :class:`mysdk.Client` (anything with an ``auth`` attribute).

    Returns:
        E.g. ``{"Authorization"}`` for OAuth2 token providers and bearer tokens,
        ``{"Api-Key"}`` for ``mysdk.APIKey(key, header="Api-Key")``; empty when
        the client sends no credentials. Names are spelled as the client
        spells them; compare them case-insensitively.
    """
    found: set[str] = set()
    named = getattr(client, "credentials", None)  # the constructor's credentials=
    for auth in (getattr(client, "auth", None), *(named.values() if isinstance(named, Mapping)
                                                   else ())):
        if auth is not None:
            header = getattr(auth, "header", "Authorization")
            if isinstance(header, str) and header:
                found.add(header)
    session = getattr(client, "session", None)
    for name in getattr(session, "headers", None) or ():
        if isinstance(name, str) and _CREDENTIAL_NAME.search(name):
            found.add(name)
    return frozenset(found)
