"""Fixed credentials: a bearer token or API key set once (gateways, PATs)."""

from __future__ import annotations

from collections.abc import MutableMapping

__all__ = ["APIKey", "StaticToken"]


class StaticToken:
    """Sends the same credential on every request.

    A 401 cannot be fixed by refreshing a fixed credential, so the client
    raises :class:`~mysdk.errors.UnauthorizedError` without a replay.

    Args:
        value: The secret, e.g. an access token or API key. Never shown in repr.
        header: Header name to send it in (``"Authorization"`` by default).
        scheme: Prefix of the header value, e.g. ``"Bearer"`` (RFC 6750 §2.1);
            ``None`` sends ``value`` bare.

    Raises:
        ValueError: ``value`` or ``header`` is empty or contains a line break.
    """

    def __init__(
        self, value: str, *, header: str = "Authorization", scheme: str | None = "Bearer"
    ) -> None:
        for name, text in (("value", value), ("header", header), ("scheme", scheme or "x")):
            if not isinstance(text, str) or not text or "\r" in text or "\n" in text:
                raise ValueError(f"StaticToken.{name} must be a non-empty single-line string")
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
    """An API key sent bare in ``header`` (default ``X-API-Key``)."""
    return StaticToken(value, header=header, scheme=None)
