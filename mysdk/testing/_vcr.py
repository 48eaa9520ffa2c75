"""A vcrpy configuration that scrubs before writing, and a guard that blocks the network."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from mysdk.testing._names import (
    DEFAULT_SECRET_NAMES,
    SecretNames,
    credential_headers,
    is_placeholder,
)
from mysdk.testing._scrub import Scrubber

if TYPE_CHECKING:
    import vcr

__all__ = ["NetworkBlockedError", "block_network", "make_vcr"]

_MATCH_ON = ("method", "scheme", "host", "path", "mysdk_query")


def make_vcr(
    cassette_dir: str | Path,
    *,
    record: bool,
    canonical_origin: str | None = None,
    names: SecretNames = DEFAULT_SECRET_NAMES,
    client: Any = None,
    extra_headers: Iterable[str] = (),
) -> vcr.VCR:
    """A ``vcr.VCR`` that scrubs every secret before anything is written.

    Requests and responses go through a :class:`Scrubber`: secret headers both
    ways, query parameters, form/JSON/NDJSON bodies (any Content-Type, with or
    without a BOM), and every secret value echoed elsewhere. Requests match on
    method, scheme, host, path and query, where any two placeholders are equal
    (a replay sends the placeholder it received, or a dummy credential).

    Args:
        cassette_dir: Folder of the cassettes (e.g. ``cassettes/test_module``).
        record: True re-records each cassette from scratch (``record_mode="all"``,
            interactions not made again are dropped); False replays only
            (``record_mode="none"``): a request missing from the cassette raises
            ``vcr.errors.CannotOverwriteExistingCassetteException``.
        canonical_origin: E.g. ``"http://127.0.0.1:8765"``: recorded request
            URLs are written on this origin, and so are absolute URLs of the
            recorded origins in ``Location``, ``Content-Location``, ``Link`` and
            JSON bodies; replay with a client on this origin. ``None`` keeps
            the live origins (a replay then needs the same port).
        names: Secret field and header names (:data:`DEFAULT_SECRET_NAMES`;
            derive with ``.add()``/``.remove()``).
        client: A :class:`mysdk.Client`; the header names its credentials use
            (:func:`credential_headers`) are added to the secret headers.
        extra_headers: More secret header names.

    Returns:
        The configured ``vcr.VCR``; use ``with my_vcr.use_cassette("name.yaml"):``.

    Raises:
        ImportError: vcrpy is missing (``pip install 'mysdk[testing]'``).
        ValueError: ``canonical_origin`` is not ``scheme://host[:port]``.
    """
    vcr = _import_vcr()
    headers = set(extra_headers) | (credential_headers(client) if client is not None else set())
    scrubber = Scrubber(names.add(headers=headers), canonical_origin=canonical_origin)
    recorder = vcr.VCR(
        cassette_library_dir=str(cassette_dir),
        record_mode="all" if record else "none",
        drop_unused_requests=record,
        match_on=_MATCH_ON,
        before_record_request=scrubber.request,
        before_record_response=scrubber.response,
        decode_compressed_response=True,
    )
    recorder.register_matcher("mysdk_query", _query_matcher)
    return recorder


def _import_vcr() -> Any:
    try:
        import vcr
        import vcr.stubs
    except ImportError as exc:
        raise ImportError(
            "mysdk.testing needs vcrpy to record and replay: pip install 'mysdk[testing]'"
        ) from exc
    _accept_decode_content(vcr.stubs.VCRHTTPResponse)
    return vcr


def _accept_decode_content(stub: Any) -> None:
    """Let vcrpy's response stub take ``read1(n, decode_content=True)`` as urllib3 2 does.

    mysdk reads bodies with ``raw.read1()`` to enforce its deadline and size
    limit; vcrpy's stub accepts (and ignores) ``decode_content`` in ``read()``
    but not in ``read1()``. Bodies in cassettes are stored decoded
    (``decode_compressed_response``), so ignoring it is right on replay.
    """
    original = stub.read1
    if getattr(original, "_mysdk_accepts_decode_content", False):
        return

    def read1(self: Any, *args: Any, decode_content: object = None, **kwargs: Any) -> Any:
        return original(self, *args, **kwargs)

    read1._mysdk_accepts_decode_content = True  # type: ignore[attr-defined]
    stub.read1 = read1


def _normalised_query(request: Any) -> list[tuple[str, str]]:
    pairs = parse_qsl(request.parsed_uri.query, keep_blank_values=True)
    return sorted((k, "**FILTERED**" if is_placeholder(v) else v) for k, v in pairs)


def _query_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: queries equal, any placeholder equal to any other."""
    if _normalised_query(r1) != _normalised_query(r2):
        raise AssertionError(f"{r1.parsed_uri.query!r} != {r2.parsed_uri.query!r}")


class NetworkBlockedError(RuntimeError):
    """A connection was attempted while the network is blocked (during a replay).

    Not an ``OSError``, so no HTTP library retries it or maps it to a connect error.
    """


@contextmanager
def block_network() -> Iterator[None]:
    """Refuse every IPv4/IPv6 connection while the context is active.

    Patches ``socket.socket.connect`` and ``connect_ex`` (all threads); Unix
    sockets still work. A replay never needs the network: a request missing
    from its cassette must fail loudly, not reach a server.

    Raises:
        NetworkBlockedError: From ``connect`` inside the context.
    """
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    inet = (socket.AF_INET, socket.AF_INET6)

    def refuse(sock: socket.socket, address: Any) -> None:
        if sock.family in inet:
            sock.close()  # callers close sockets on OSError only: do not leak this one
            raise NetworkBlockedError(f"network blocked during replay: connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        refuse(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        refuse(self, address)
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
