"""Scan cassettes (or any text) for secret-shaped values.

``python -m mysdk.testing scan cassettes/`` (or the ``mysdk-testing`` console
script) exits 1 when any file holds one of these shapes, 0 when all are clean:

* ``jwt``: a JSON Web Token (``eyJ….eyJ….…``, RFC 7519);
* ``bearer``: ``Bearer <token>`` (RFC 6750 §2.1);
* ``basic``: ``Basic <base64 of user:password>`` (RFC 7617);
* ``secret-field``: a secret field with a value, as JSON (also YAML-escaped,
  ``\\"access_token\\": \\"…\\"``), form or query (``?access_token=…``);
* ``oauth-code``: ``code``/``token`` in an OAuth context (a form or URL with
  ``grant_type``, ``token_type_hint`` or ``state``; a JSON object with ``grant_type``);
* ``secret-header``: a secret header (``Authorization``, ``Cookie``, …) with a value;
* ``high-entropy``: a random-looking value next to a secret-looking name
  (``session_token``, ``X-Signature``, ``My-Api-Key``, …);
* ``known-secret``: one of the literal secrets given.

Placeholders (``**FILTERED**``, ``**FILTERED-<8 hex>**``, also percent-encoded)
are allowed, and so is ``code`` outside OAuth contexts (``"code": "item_not_found"``).
Base64-encoded (``!!binary``) bodies are not decoded.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote_plus

from mysdk.testing._names import DEFAULT_SECRET_NAMES, SecretNames

__all__ = ["Finding", "find_secrets", "main", "scan_paths", "scan_text"]

_NOT_PLACEHOLDER = r"(?!(?:\*\*|%2A%2A)FILTERED)"
_JWT = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(
    r"(?i)\bbearer[ \t]+" + _NOT_PLACEHOLDER + r"(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)")
_BASIC = re.compile(r"(?i)\bbasic[ \t]+(?P<secret>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])")
_URLISH = re.compile(r"[^\s\"'<>\\]*=[^\s\"'<>\\]*")
_SUSPECT_NAME = (
    r"[\w.-]{0,40}?(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|credential|session[_-]?id|signature"
    r"|auth)[\w.-]{0,40}")
_HIGH_ENTROPY = re.compile(
    r"(?i)(?<![\w.-])(?P<name>" + _SUSPECT_NAME + r")\\*[\"']?[ \t]*[:=][ \t]*"
    r"(?:\r?\n[ \t]*-[ \t]*)?\\*[\"']?(?P<secret>[A-Za-z0-9_+/=.~-]{16,})")
_OAUTH_MARKERS = ("grant_type", "token_type_hint")
_MIN_BITS_PER_CHAR = 3.0


@dataclass(frozen=True)
class Finding:
    """One secret-shaped value in a text.

    Attributes:
        kind: The shape: ``jwt``, ``bearer``, ``basic``, ``secret-field``,
            ``oauth-code``, ``secret-header``, ``high-entropy`` or ``known-secret``.
        line: 1-based line number of the start of the value.
        excerpt: The text around it with the value masked (first 4 characters
            and its length), safe to print in CI logs.
    """

    kind: str
    line: int
    excerpt: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}: {self.excerpt}"


class _Scan:
    """The rules over one text; findings whose values overlap are reported once."""

    def __init__(self, text: str, names: SecretNames) -> None:
        self.text = text
        self.names = names
        self.findings: list[tuple[int, int, Finding]] = []

    def add(self, kind: str, start: int, end: int, prefix_start: int | None = None) -> None:
        if any(start < e and s < end for s, e, _ in self.findings):
            return
        secret = self.text[start:end]
        head = self.text[prefix_start if prefix_start is not None else start:start]
        head = re.sub(r"\s+", " ", head.lstrip())[-40:]
        masked = f"{head}{secret[:4]}…[{len(secret)} chars]"
        line = self.text.count("\n", 0, start) + 1
        self.findings.append((start, end, Finding(kind, line, masked)))

    def run(self, known: Sequence[str]) -> list[Finding]:
        self.known(known)
        for rule in (self.bearers, self.basics, self.jwts, self.fields, self.oauth_codes,
                     self.headers, self.high_entropy):
            rule()
        return [finding for _, _, finding in sorted(self.findings, key=lambda f: f[0])]

    def known(self, known: Sequence[str]) -> None:
        for index, secret in enumerate(known):
            start = self.text.find(secret) if secret else -1
            while start >= 0:
                line = self.text.count("\n", 0, start) + 1
                self.findings.append((start, start + len(secret),
                                      Finding("known-secret", line, f"<known secret #{index}>")))
                start = self.text.find(secret, start + len(secret))

    def jwts(self) -> None:
        for m in _JWT.finditer(self.text):
            self.add("jwt", m.start(), m.end())

    def bearers(self) -> None:
        for m in _BEARER.finditer(self.text):
            value, after = m.group("secret"), self.text[m.end():m.end() + 1]
            # `Bearer realm="x", error="y"` (RFC 6750 §3) is a challenge, not a token.
            if value.endswith("=") and not value.endswith("==") and (
                    after in ('"', "'") or after.isalnum()) and value[:-1].replace(
                    "_", "").isalpha():
                continue
            self.add("bearer", m.start("secret"), m.end("secret"), m.start())

    def basics(self) -> None:
        for m in _BASIC.finditer(self.text):
            try:
                decoded = base64.b64decode(m.group("secret"), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                continue
            if ":" in decoded and decoded.isprintable():
                self.add("basic", m.start("secret"), m.end("secret"), m.start())

    def fields(self) -> None:
        for pattern in _field_patterns(self.names.fields):
            for m in pattern.finditer(self.text):
                self.add("secret-field", m.start("secret"), m.end("secret"), m.start())

    def oauth_codes(self) -> None:
        if not self.names.oauth_fields:
            return
        json_re, form_re = _field_patterns(self.names.oauth_fields)
        for m in json_re.finditer(self.text):
            opening = self.text.rfind("{", 0, m.start())
            closing = self.text.find("}", m.end())
            if any(k in self.text[opening + 1:closing] for k in _OAUTH_MARKERS):
                self.add("oauth-code", m.start("secret"), m.end("secret"), m.start())
        for run in _URLISH.finditer(self.text):
            keys = {unquote_plus(p.partition("=")[0]).rsplit("?", 1)[-1].lower()
                    for p in re.split(r"[&?#]", run.group(0))}
            if keys & set(_OAUTH_MARKERS) or "state" in keys:
                for m in form_re.finditer(run.group(0)):
                    self.add("oauth-code", run.start() + m.start("secret"),
                             run.start() + m.end("secret"), run.start() + m.start())

    def headers(self) -> None:
        names = "|".join(re.escape(h) for h in sorted(self.names.headers, key=len, reverse=True))
        if not names:
            return
        pattern = re.compile(
            r"(?i)(?<![\w-])\\*[\"']?(?:" + names + r")\\*[\"']?[ \t]*:[ \t]*"
            r"(?:\r?\n[ \t]*-[ \t]*|\[\s*)?(?P<secret>[^\r\n]*)")
        for m in pattern.finditer(self.text):
            value = m.group("secret").strip().strip("'\"[],")
            if value and value not in ("null", "~") and "FILTERED" not in value.upper():
                self.add("secret-header", m.start("secret"), m.end("secret"), m.start())

    def high_entropy(self) -> None:
        for m in _HIGH_ENTROPY.finditer(self.text):
            if _random_looking(m.group("secret")):
                self.add("high-entropy", m.start("secret"), m.end("secret"), m.start())


def _field_patterns(fields: Iterable[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(JSON, possibly YAML-escaped) and (form/query) patterns for these names."""
    alternatives = "|".join(re.escape(f) for f in sorted(fields, key=len, reverse=True))
    return (
        re.compile(r"(?i)\\*[\"'](?:" + alternatives + r")\\*[\"']\s*:\s*\\*[\"']"
                   + _NOT_PLACEHOLDER + r"(?P<secret>[^\"'\\\s][^\"'\\]{5,})"),
        re.compile(r"(?i)(?<![\w%.-])(?:" + alternatives + r")="
                   + _NOT_PLACEHOLDER + r"(?P<secret>[^&\s\"'\\#<>]{4,})"),
    )


def _random_looking(value: str) -> bool:
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    counts = Counter(value)
    bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return bits >= _MIN_BITS_PER_CHAR


def scan_text(text: str, *, known: Sequence[str] = (),
              names: SecretNames = DEFAULT_SECRET_NAMES) -> list[Finding]:
    """All secret-shaped values in ``text``, in order (empty when clean).

    Args:
        text: E.g. a cassette file's content.
        known: Literal secrets to look for as well (e.g. a test's client secret).
        names: Secret field and header names.

    Returns:
        One :class:`Finding` per value; overlapping shapes are reported once.
    """
    return _Scan(text, names).run(known)


def find_secrets(text: str, known: Sequence[str] = (), *,
                 names: SecretNames = DEFAULT_SECRET_NAMES) -> list[str]:
    """The secret-shaped snippets of ``text`` (empty when clean), masked.

    Args:
        text: E.g. a cassette file's content.
        known: Literal secrets to look for as well; reported as ``<known secret #i>``.
        names: Secret field and header names.

    Returns:
        ``str(finding)`` of each :class:`Finding` of :func:`scan_text`.
    """
    return [str(finding) for finding in scan_text(text, known=known, names=names)]


def scan_paths(paths: Iterable[str | Path], *, known: Sequence[str] = (),
               names: SecretNames = DEFAULT_SECRET_NAMES) -> Iterator[tuple[Path, Finding]]:
    """Scan files, and every file under directories, recursively.

    Yields:
        ``(path, finding)`` for each finding, file by file in sorted order.

    Raises:
        FileNotFoundError: A path does not exist.
    """
    for path in _files(paths):
        text = path.read_text(encoding="utf-8", errors="replace")
        for finding in scan_text(text, known=known, names=names):
            yield path, finding


def _files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            files.extend(sorted(p for p in given.rglob("*") if p.is_file()))
        elif given.is_file():
            files.append(given)
        else:
            raise FileNotFoundError(f"no such file or directory: {given}")
    return files


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Command line: ``mysdk-testing scan PATH... [--known-env VAR] [--field NAME]
    [--header NAME]``.

    Returns:
        0 when every file is clean, 1 when a secret-shaped value was found,
        2 on a usage error (e.g. a path that does not exist).
    """
    out = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    names = DEFAULT_SECRET_NAMES.add(fields=args.field, headers=args.header)
    known = [os.environ[var] for var in args.known_env if os.environ.get(var)]
    try:
        files = _files(args.paths)
        findings = list(scan_paths(files, known=known, names=names))
    except FileNotFoundError as exc:
        print(f"mysdk-testing scan: {exc}", file=sys.stderr)
        return 2
    for path, finding in findings:
        print(f"{path}:{finding.line}: {finding.kind}: {finding.excerpt}", file=out)
    verdict = f"{len(findings)} secret-shaped value(s)" if findings else "clean"
    print(f"scanned {len(files)} file(s): {verdict}", file=out)
    return 1 if findings else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mysdk-testing", description="mysdk's testing kit: scan cassettes for secrets.")
    commands = parser.add_subparsers(dest="command", required=True)
    scan = commands.add_parser("scan", help="exit 1 if any file holds a secret-shaped value")
    scan.add_argument("paths", nargs="+", help="files or directories (searched recursively)")
    scan.add_argument("--known-env", action="append", default=[], metavar="VAR",
                      help="an environment variable holding a literal secret to look for")
    scan.add_argument("--field", action="append", default=[], metavar="NAME",
                      help="one more secret field name")
    scan.add_argument("--header", action="append", default=[], metavar="NAME",
                      help="one more secret header name")
    return parser
