"""Scrub secrets out of recorded HTTP exchanges, and canonicalise their origin.

:class:`Scrubber` works on vcrpy's request objects and response dicts, both
directions: headers, URLs (query and fragment), and form, JSON and NDJSON
bodies, whatever their ``Content-Type`` and with or without a UTF-8 BOM.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import threading
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import SplitResult, quote, unquote_plus, urlsplit, urlunsplit

from mysdk.testing._names import DEFAULT_SECRET_NAMES, SecretNames, is_placeholder

__all__ = ["Scrubber", "canonical_origin", "scrub_response_body"]

_PROCESS_KEY = os.urandom(32)
# Credential schemes whose name is kept in front of the placeholder (RFC 9110 §11.4).
_SCHEMES = frozenset({"bearer", "basic", "token", "dpop", "apikey"})
_CREDENTIAL = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)[ \t]+(\S+)")
_URL_HEADERS = frozenset({"location", "content-location", "referer", "origin"})
_FORM = re.compile(r"[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*")
_ABSOLUTE = re.compile(r"https?://", re.I)
_LINK_TARGET = re.compile(r"<([^>]*)>")
# RFC 6749 §3.2 token endpoint, RFC 7009 §2 revocation, RFC 7662 §2 introspection.
_OAUTH_PATHS = ("/token", "/revoke", "/introspect")
_OAUTH_MARKERS = frozenset({"grant_type", "token_type_hint"})
_MIN_ECHO = 8  # shorter remembered secrets are not replaced in free text

_Setter = Callable[[MutableMapping[str, Any], str, Callable[[str], str]], None]
"""Applies a change to one header's value(s) in place."""


def canonical_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, without a default port.

    Raises:
        ValueError: ``url`` is not an absolute http(s) URL.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an absolute http(s) URL, got {url!r}")
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    port = parts.port
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


class Scrubber:
    """Replaces every secret of a recorded exchange with a placeholder.

    Each secret value becomes ``**FILTERED-<8 hex>**``: an HMAC of the value
    under a key random per process, so one value gets one placeholder (a token
    in a token response and in the next ``Authorization`` header match) and
    distinct values stay distinct, yet a placeholder reveals nothing about a
    weak secret. Placeholders are left as they are, so scrubbing is idempotent.

    Secret values met in requests and responses are also replaced wherever
    they are echoed later (any header, any body) when at least 8 characters
    long and mixing letters with digits or symbols.

    Args:
        names: Which fields and headers are secret; see :class:`SecretNames`.
        canonical_origin: When given (``"http://127.0.0.1:8765"``), every
            request URL is rewritten to this origin, and absolute URLs of the
            recorded origins in ``Location``, ``Content-Location``, ``Link``
            and JSON bodies of responses too, so a replay from any port works.
        key: HMAC key of the placeholders; default random per process.

    Raises:
        ValueError: ``canonical_origin`` is not an http(s) origin.
    """

    def __init__(self, names: SecretNames = DEFAULT_SECRET_NAMES, *,
                 canonical_origin: str | None = None, key: bytes | None = None) -> None:
        self.names = names
        self._key = key if key is not None else _PROCESS_KEY
        self._canonical = _checked_origin(canonical_origin) if canonical_origin else None
        self._origins: set[str] = set()  # recorded (live) origins seen in requests
        self._seen: dict[str, str] = {}  # secret value -> its placeholder
        self._lock = threading.Lock()  # vcrpy hooks run on the threads making requests

    # -- values ----------------------------------------------------------------

    def placeholder(self, value: str) -> str:
        """The placeholder of ``value`` (``value`` itself if it is one); remembers it."""
        if is_placeholder(value):
            return value
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:8]
        result = f"**FILTERED-{digest}**"
        if _echoable(value):
            with self._lock:
                self._seen[value] = result
        return result

    def echo(self, text: str) -> str:
        """``text`` with every remembered secret replaced by its placeholder."""
        with self._lock:
            seen = sorted(self._seen.items(), key=lambda item: len(item[0]), reverse=True)
        for secret, placeholder in seen:
            if secret in text:
                text = text.replace(secret, placeholder)
        return text

    # -- vcrpy hooks -----------------------------------------------------------

    def request(self, request: Any) -> Any:
        """vcrpy ``before_record_request``: scrub a ``vcr.request.Request`` in place."""
        parts = urlsplit(request.uri)
        oauth = parts.path.rstrip("/").endswith(_OAUTH_PATHS)
        headers = dict(request.headers)
        self._secret_headers(headers, _set_one)
        request.uri = self._request_url(request.uri)
        raw = _request_body(request)
        if raw is not None:
            scrubbed = self.body(raw, oauth=oauth)
            if scrubbed is not raw:
                request.body = scrubbed
                _set_length(headers, scrubbed, _set_one)
        self._other_headers(headers, _set_one)
        request.headers = headers
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """vcrpy ``before_record_response``: scrub a response dict in place.

        Always returns the dict (vcrpy records nothing for ``None``, vcrpy #863).
        """
        headers: dict[str, list[str]] = response.get("headers") or {}
        self._secret_headers(headers, _set_list)
        body = response.get("body") or {}
        raw = body.get("string")
        if isinstance(raw, (bytes, str)):
            scrubbed = self.body(raw, oauth=False)
            if scrubbed is not raw:
                body["string"] = scrubbed
                _set_length(headers, scrubbed, _set_list)
        self._other_headers(headers, _set_list)
        return response

    # -- headers ---------------------------------------------------------------

    def _secret_headers(self, headers: MutableMapping[str, Any], setter: _Setter) -> None:
        for name in list(headers):
            if not self.names.is_secret_header(name):
                continue
            lowered = name.lower()
            change = {"cookie": self._cookie, "set-cookie": self._set_cookie}.get(
                lowered, self._credential)
            setter(headers, name, change)

    def _other_headers(self, headers: MutableMapping[str, Any], setter: _Setter) -> None:
        for name in list(headers):
            lowered = name.lower()
            if self.names.is_secret_header(name):
                continue
            if lowered in _URL_HEADERS:
                setter(headers, name, lambda v: self.echo(self.url(v, redirect=True)))
            elif lowered == "link":
                setter(headers, name, lambda v: self.echo(_LINK_TARGET.sub(
                    lambda m: f"<{self.url(m.group(1))}>", v)))
            else:
                setter(headers, name, self.echo)

    def _credential(self, value: str) -> str:
        match = _CREDENTIAL.fullmatch(value.strip())
        if match is None or match.group(1).lower() not in _SCHEMES:
            return self.placeholder(value)
        scheme, secret = match.groups()
        if scheme.lower() == "basic":
            self._remember_basic(secret)
        return f"{scheme} {self.placeholder(secret)}"

    def _remember_basic(self, encoded: str) -> None:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return
        user, _, password = decoded.partition(":")
        for value in (decoded, password, unquote_plus(password)):
            if value and value != user:
                self.placeholder(value)

    def _cookie(self, value: str) -> str:
        """``Cookie: a=1; b=2`` (RFC 6265 §5.4): every value scrubbed, names kept."""
        return "; ".join(self._cookie_pair(pair) for pair in value.split(";"))

    def _set_cookie(self, value: str) -> str:
        """``Set-Cookie: a=1; Path=/`` (RFC 6265 §4.1): the value scrubbed, attributes kept."""
        pair, sep, attributes = value.partition(";")
        return self._cookie_pair(pair) + sep + attributes

    def _cookie_pair(self, pair: str) -> str:
        name, sep, value = pair.strip().partition("=")
        if not sep:
            return self.placeholder(name) if name else ""
        return f"{name}={self.placeholder(value)}" if value else f"{name}="

    # -- URLs ------------------------------------------------------------------

    def _request_url(self, uri: str) -> str:
        parts = urlsplit(uri)
        origin = _origin_or_none(uri)
        if self._canonical is not None and origin is not None:
            if origin != self._canonical:
                with self._lock:
                    self._origins.add(origin)
            parts = self._on_canonical(parts)
        return self.echo(self._url_parts(parts, redirect=False))

    def url(self, url: str, *, redirect: bool = False) -> str:
        """Scrub one URL of a response: recorded origin, query, fragment.

        Args:
            url: Absolute or relative URL.
            redirect: The URL is a redirect target (``Location``), an OAuth
                context: ``code`` and ``token`` are secret there.

        Returns:
            The URL, on the canonical origin if it was on a recorded origin.
        """
        parts = urlsplit(url)
        if self._canonical is not None and _origin_or_none(url) in self._origins:
            parts = self._on_canonical(parts)
        return self._url_parts(parts, redirect=redirect)

    def _on_canonical(self, parts: SplitResult) -> SplitResult:
        assert self._canonical is not None
        canonical = urlsplit(self._canonical)
        return parts._replace(scheme=canonical.scheme, netloc=canonical.netloc)

    def _url_parts(self, parts: SplitResult, *, redirect: bool) -> str:
        query = self.params(parts.query, oauth=redirect)
        # Implicit-grant redirects carry tokens in the fragment (RFC 6749 §4.2.2).
        fragment = self.params(parts.fragment, oauth=True) if "=" in parts.fragment else (
            parts.fragment)
        return urlunsplit(parts._replace(query=query, fragment=fragment))

    def params(self, text: str, *, oauth: bool = False) -> str:
        """Scrub an ``a=1&b=2`` query or form; other pairs are kept byte for byte.

        ``code`` and ``token`` count as secret when ``oauth`` is true or the
        pairs themselves make an OAuth context (``grant_type``,
        ``token_type_hint``, or ``code`` with ``state`` as in RFC 6749 §4.1.2).
        """
        if "=" not in text:
            return text
        pieces = text.split("&")
        keys = {unquote_plus(p.partition("=")[0]).lower() for p in pieces}
        oauth = oauth or bool(keys & _OAUTH_MARKERS) or {"code", "state"} <= keys
        out = []
        for piece in pieces:
            key, sep, value = piece.partition("=")
            if sep and value and self.names.is_secret_field(unquote_plus(key), oauth=oauth):
                value = quote(self.placeholder(unquote_plus(value)), safe="*")
            out.append(f"{key}{sep}{value}")
        return "&".join(out)

    # -- bodies ----------------------------------------------------------------

    def body(self, raw: bytes | str, *, oauth: bool = False) -> bytes | str:
        """Scrub a body: JSON, NDJSON or form by content, whatever its Content-Type.

        A UTF-8 BOM is kept. A body that is not UTF-8 text is returned as is.

        Returns:
            ``raw`` itself when nothing changed, else the scrubbed body (same type).
        """
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw
        else:
            text = raw
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        content = text[len(bom):]
        scrubbed = self.echo(self._structured(content, oauth=oauth))
        if scrubbed == content:
            return raw
        result = bom + scrubbed
        return result.encode("utf-8") if isinstance(raw, bytes) else result

    def _structured(self, text: str, *, oauth: bool) -> str:
        stripped = text.strip()
        if stripped[:1] in ("{", "["):
            whole = self._json_text(stripped, oauth=oauth)
            if whole is not None:
                return text if whole == stripped else whole
            if "\n" in stripped:
                return self._ndjson(text, oauth=oauth)
        elif _FORM.fullmatch(stripped):
            scrubbed = self.params(stripped, oauth=oauth)
            return text if scrubbed == stripped else text.replace(stripped, scrubbed)
        return text

    def _ndjson(self, text: str, *, oauth: bool) -> str:
        lines = text.splitlines(keepends=True)
        out = []
        for line in lines:
            content = line.rstrip("\r\n")
            scrubbed = self._json_text(content, oauth=oauth) if content.strip() else None
            out.append(line if scrubbed is None else scrubbed + line[len(content):])
        return "".join(out)

    def _json_text(self, text: str, *, oauth: bool) -> str | None:
        """The scrubbed JSON text (``text`` itself if unchanged), None if not JSON."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if isinstance(data, Mapping) and _OAUTH_MARKERS & {str(k).lower() for k in data}:
            oauth = True
        scrubbed = self._json(data, oauth=oauth)
        return text if scrubbed == data else json.dumps(scrubbed, ensure_ascii=False)

    def _json(self, value: Any, *, oauth: bool) -> Any:
        if isinstance(value, Mapping):
            return {key: self._json_field(str(key), item, oauth=oauth)
                    for key, item in value.items()}
        if isinstance(value, list):
            return [self._json(item, oauth=oauth) for item in value]
        if isinstance(value, str) and _ABSOLUTE.match(value):
            return self.url(value)
        return value

    def _json_field(self, key: str, value: Any, *, oauth: bool) -> Any:
        if isinstance(value, str) and value and self.names.is_secret_field(key, oauth=oauth):
            return self.placeholder(value)
        return self._json(value, oauth=oauth)


def scrub_response_body(raw: bytes | str, names: SecretNames = DEFAULT_SECRET_NAMES
                        ) -> bytes | str:
    """Replace the secret fields of a JSON, NDJSON or form body with placeholders.

    Args:
        raw: The body, with or without a UTF-8 BOM; its Content-Type does not matter.
        names: Which field names are secret.

    Returns:
        The body with each secret value replaced by ``**FILTERED-<8 hex>**``
        (same type as ``raw``); other bodies unchanged.
    """
    return Scrubber(names).body(raw)


def _checked_origin(origin: str) -> str:
    parts = urlsplit(origin)
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"canonical_origin must be scheme://host[:port], got {origin!r}")
    return canonical_origin(origin)


def _origin_or_none(url: str) -> str | None:
    try:
        return canonical_origin(url)
    except ValueError:
        return None


def _echoable(value: str) -> bool:
    if len(value) < _MIN_ECHO or value.isspace():
        return False
    classes = (any(c.isalpha() for c in value), any(c.isdigit() for c in value),
               any(not c.isalnum() for c in value))
    return sum(classes) >= 2


def _request_body(request: Any) -> bytes | str | None:
    body = request.body
    if isinstance(body, (bytes, str)):
        return body
    getvalue = getattr(body, "getvalue", None)  # a file body, kept as BytesIO
    return getvalue() if callable(getvalue) else None  # iterators are left alone


def _set_one(headers: MutableMapping[str, Any], name: str, change: Callable[[str], str]) -> None:
    value = headers[name]
    if isinstance(value, str):
        headers[name] = change(value)


def _set_list(headers: MutableMapping[str, Any], name: str, change: Callable[[str], str]) -> None:
    values = headers[name]
    if isinstance(values, list):
        headers[name] = [change(v) if isinstance(v, str) else v for v in values]
    elif isinstance(values, str):
        headers[name] = change(values)


def _set_length(headers: MutableMapping[str, Any], body: bytes | str, setter: _Setter) -> None:
    size = str(len(body.encode("utf-8") if isinstance(body, str) else body))
    for name in list(headers):
        if name.lower() == "content-length":
            setter(headers, name, lambda _old: size)
