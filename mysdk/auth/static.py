"""Fixed credentials: a bearer token or API key set once (gateways, PATs)."""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from mysdk.errors import InvalidRequestError

__all__ = ["APIKey", "StaticToken"]

# RFC 9110 §5.6.2 token: header field names (§5.1) and auth-schemes (§11.1).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What requests can send in a header value (latin-1) minus control characters:
# visible ASCII, space, and latin-1 U+00A0-U+00FF (RFC 9110 §5.5 obs-text).
_VALUE = re.compile(r"[\x20-\x7e\xa0-\xff]+")


class StaticToken:
    """Sends the same credential on every request.

    A 401 cannot be fixed by refreshing a fixed credential, so the client
    raises :class:`~mysdk.errors.UnauthorizedError` without a replay.

    Everything is checked at construction, so a credential that cannot be sent
    fails here rather than as a raw ``UnicodeEncodeError`` on the first call.

    Args:
        value: The secret, e.g. an access token or API key. Never shown in repr
            or in an error. Must be printable latin-1 (requests encodes header
            values as latin-1): visible ASCII, space and U+00A0-U+00FF, without
            control characters (CR, LF, NUL, TAB, DEL, U+0080-U+009F) and
            without leading or trailing spaces (RFC 9110 §5.5).
        header: Header name to send it in (``"Authorization"`` by default); an
            RFC 9110 §5.6.2 token.
        scheme: Prefix of the header value, e.g. ``"Bearer"`` (RFC 6750 §2.1),
            an RFC 9110 §11.1 auth-scheme token; ``None`` or ``""`` sends
            ``value`` bare.

    Raises:
        InvalidRequestError: (a ``ValueError``) naming ``value``, ``header`` or
            ``scheme`` when it is not a string of the form above.
    """

    def __init__(
        self, value: str, *, header: str = "Authorization", scheme: str | None = "Bearer"
    ) -> None:
        if not (isinstance(value, str) and _VALUE.fullmatch(value)
                and value == value.strip(" ")):
            raise InvalidRequestError(
                "StaticToken.value must be a non-empty string of printable latin-1 "
                "characters without control characters or leading/trailing spaces "
                "(RFC 9110 §5.5)")
        if not (isinstance(header, str) and _TOKEN.fullmatch(header)):
            raise InvalidRequestError(
                "StaticToken.header must be a header name: letters, digits and "
                "!#$%&'*+-.^_`|~ (RFC 9110 §5.1)")
        if scheme and not (isinstance(scheme, str) and _TOKEN.fullmatch(scheme)):
            raise InvalidRequestError(
                "StaticToken.scheme must be an auth-scheme token such as 'Bearer' "
                "(RFC 9110 §11.1), or None")
        self.header = header
        self._value = f"{scheme} {value}" if scheme else value

    def apply(self, headers: MutableMapping[str, str]) -> object:
        """Set the credential header; returns None (nothing to refresh)."""
        headers[self.header] = self._value
        return None

    def on_unauthorized(self, used: object) -> bool:
        """A fixed credential cannot be refreshed: never replay."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(header={self.header!r}, value='***')"


def APIKey(value: str, *, header: str = "X-API-Key") -> StaticToken:
    """An API key sent bare in ``header`` (default ``X-API-Key``).

    Raises:
        InvalidRequestError: As :class:`StaticToken` (a ``ValueError``).
    """
    return StaticToken(value, header=header, scheme=None)
