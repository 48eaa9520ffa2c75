"""A small misbehaving HTTP/1.1 server on loopback, scripted per test.

Each connection is handled by the test's ``handler(conn, request)``, which may
answer properly, stall after the headers, drip bytes one at a time, send a 3xx,
or close mid-response. Every socket operation has a timeout, the accept loop
stops on :meth:`HostileServer.stop`, and handler threads are joined (bounded),
so a test never leaves a thread or a socket behind.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["HostileServer", "Request", "drip", "hostile_server", "respond", "response_bytes"]

_IO_TIMEOUT = 10.0  # seconds any one socket read/write of the server may block
_JOIN_TIMEOUT = 5.0  # seconds stop() waits for each thread


@dataclass
class Request:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    arrived: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or None."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


Handler = Callable[[socket.socket, Request], None]


def response_bytes(
    status: int, body: bytes = b"", headers: Mapping[str, str] | None = None,
    reason: str = "X",
) -> bytes:
    """A complete HTTP/1.1 response with Content-Length (unless headers set framing)."""
    head = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    if "Transfer-Encoding" in head:
        head.pop("Content-Length")
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in head.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def respond(
    conn: socket.socket, status: int, body: bytes | str = b"",
    headers: Mapping[str, str] | None = None,
) -> None:
    """Send one whole response."""
    data = body.encode() if isinstance(body, str) else body
    conn.sendall(response_bytes(status, data, headers))


def drip(conn: socket.socket, data: bytes, interval: float, *, limit: float = 30.0) -> None:
    """Send ``data`` one byte every ``interval`` seconds (stops after ``limit`` s
    or when the client hangs up)."""
    stop_at = time.monotonic() + limit
    for i in range(len(data)):
        if time.monotonic() > stop_at:
            return
        try:
            conn.sendall(data[i:i + 1])
        except OSError:
            return
        time.sleep(interval)


class HostileServer:
    """Serve ``handler`` on ``127.0.0.1:<ephemeral>`` until :meth:`stop`.

    Attributes:
        requests: Every request read, in arrival order.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[Request] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        self._accepter.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(_IO_TIMEOUT)
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            while not self._stopped.is_set():
                request = _read_request(conn)
                if request is None:
                    return
                self.requests.append(request)
                self._handler(conn, request)
                if (request.header("Connection") or "").lower() == "close":
                    return
                # Handlers answer with Connection: close unless they say otherwise.
                return

    def stop(self) -> None:
        """Stop accepting, close every connection, join the threads (bounded)."""
        self._stopped.set()
        self._sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        self._accepter.join(_JOIN_TIMEOUT)
        for thread in self._threads:
            thread.join(_JOIN_TIMEOUT)


@contextlib.contextmanager
def hostile_server(handler: Handler) -> Iterator[HostileServer]:
    """A :class:`HostileServer` stopped when the block ends."""
    server = HostileServer(handler)
    try:
        yield server
    finally:
        server.stop()


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    if any(k.lower() == "transfer-encoding" and "chunked" in v.lower()
           for k, v in headers.items()):
        return Request(method, target, headers, _read_chunked(conn, rest))
    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Request(method, target, headers, rest[:length])


def _read_chunked(conn: socket.socket, data: bytes) -> bytes:
    """The decoded body of a chunked request (RFC 9112 §7.1), at most 1 MiB."""
    body = b""
    while len(body) <= 1 << 20:
        while b"\r\n" not in data:
            more = conn.recv(65536)
            if not more:
                return body
            data += more
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        while len(data) < size + 2:
            more = conn.recv(65536)
            if not more:
                return body + data[:size]
            data += more
        if size == 0:
            return body
        body += data[:size]
        data = data[size + 2:]
    return body
