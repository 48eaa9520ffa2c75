"""Checks of a caller's arguments, so bad input fails early with a clear error.

Each check raises :class:`~mysdk.errors.InvalidRequestError` naming the
argument and never quoting a header value (it may be a credential).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from mysdk.errors import InvalidRequestError

__all__ = ["check_base_url", "check_headers", "check_method", "header_of", "is_loopback"]

# RFC 9110 §5.6.2 token: what a method or a field name may consist of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_COMMON = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# RFC 9110 §5.5 field value: visible latin-1 characters, spaces and tabs inside.
_FIELD_VALUE = re.compile(r"[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]*[\x21-\x7e\x80-\xff])?|")


def check_method(method: object) -> str:
    """Return ``method`` upper-cased.

    Raises:
        InvalidRequestError: Not a string, or not an RFC 9110 §9.1 method token
            (e.g. it contains a space, CR or LF).
    """
    if method in _COMMON:  # the hot path: no regex for the usual methods
        return str(method)
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        shown = repr(method)[:40] if isinstance(method, str) else type(method).__name__
        raise InvalidRequestError(f"method must be an HTTP method such as 'GET', got {shown}")
    return method.upper()


def check_headers(headers: Mapping[str, str] | None, argument: str) -> dict[str, str]:
    """Return ``headers`` as a dict after checking every name and value.

    Raises:
        InvalidRequestError: A name is not an RFC 9110 §5.1 token, or a value
            is not a string of visible latin-1 characters (no CR, LF, NUL or
            other control character; RFC 9110 §5.5). The message names the
            header, never its value.
    """
    if not headers:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidRequestError(f"{argument} must be a mapping, got {type(headers).__name__}")
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidRequestError(f"{argument}: {str(name)[:40]!r} is not a header name")
        if not isinstance(value, str) or not _FIELD_VALUE.fullmatch(value):
            raise InvalidRequestError(
                f"{argument}[{name!r}] must be a string of visible latin-1 characters "
                "(no line breaks or control characters)")
    return dict(headers)


def header_of(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name``, whatever the case of its name (RFC 9110 §5.1)."""
    name = name.lower()
    return next((value for key, value in headers.items() if key.lower() == name), None)


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (RFC 6761 §6.3, RFC 4291 §2.5.3)."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress  # lazily: only plain-http URLs need it

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: object, *, allow_http: bool, argument: str = "base_url") -> str:
    """Return ``base_url`` after checking it is an https URL (or http on loopback).

    Raises:
        InvalidRequestError: Not an http(s) URL; it holds ``user:password@``
            (requests would turn it into Basic auth); or it is ``http://`` to a
            host that is not loopback and ``allow_http`` is False (RFC 6750
            §5.3: bearer tokens need TLS).
    """
    if not isinstance(base_url, str) or not base_url.lower().startswith(("http://", "https://")):
        shown = repr(base_url)[:60] if isinstance(base_url, str) else type(base_url).__name__
        raise InvalidRequestError(f"{argument} must be an http(s) URL, got {shown}")
    try:
        parts = urlsplit(base_url)
        _ = parts.port
    except ValueError:
        raise InvalidRequestError(f"{argument} is not a valid URL") from None
    if "@" in parts.netloc:
        raise InvalidRequestError(f"{argument} must not contain credentials (user:password@)")
    if not parts.hostname:
        raise InvalidRequestError(f"{argument} has no host")
    if parts.scheme.lower() == "http" and not allow_http and not is_loopback(parts.hostname):
        raise InvalidRequestError(
            f"{argument} is http:// to {parts.hostname}, which is not loopback: credentials "
            "would cross the network in clear; use https://, or pass allow_http=True")
    return base_url
