"""An unsafe call is never sent twice without consent (issue 7, point 2).

Each failure phase that requests and urllib3 can produce, against a real
loopback socket: only a failure that proves no byte reached the server is a
ConnectError (retried for any method); every other one leaves the outcome
unknown and repeats the request only when it is replay-safe.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import mysdk
from mysdk import RetryPolicy
from mysdk.errors import ConnectError, ReadTimeoutError, ServerDisconnectedError, TransportError
from tests.hostile.server import HostileServer, Request, hostile_server, respond

POLICY = RetryPolicy(max_attempts=3, base_delay=0.0)


def _client(url: str, **kwargs: object) -> mysdk.Client:
    return mysdk.Client(base_url=url, retry=POLICY, timeout=(1.0, 0.5), **kwargs)  # type: ignore[arg-type]


def _stall_after_headers(conn: socket.socket, request: Request) -> None:
    conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 20\r\nConnection: close\r\n\r\n{\"id\"")
    time.sleep(1.5)  # past the 0.5 s read timeout


def _close_mid_body(conn: socket.socket, request: Request) -> None:
    conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{")


def _close_without_answer(conn: socket.socket, request: Request) -> None:
    conn.shutdown(socket.SHUT_RDWR)


def _stall_before_headers(conn: socket.socket, request: Request) -> None:
    time.sleep(1.5)


def _reset(conn: socket.socket, request: Request) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()  # RST


MAY_HAVE_ACTED = [
    (_stall_after_headers, ReadTimeoutError),
    (_close_mid_body, ServerDisconnectedError),
    (_close_without_answer, ServerDisconnectedError),
    (_stall_before_headers, ReadTimeoutError),
    (_reset, ServerDisconnectedError),
]


@pytest.mark.parametrize(("handler", "expected"), MAY_HAVE_ACTED,
                         ids=[h.__name__ for h, _ in MAY_HAVE_ACTED])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_an_unsafe_call_that_may_have_arrived_is_sent_once(
    handler: object, expected: type[TransportError], method: str
) -> None:
    with hostile_server(handler) as server:  # type: ignore[arg-type]
        with pytest.raises(TransportError) as info:
            _client(server.url).request(method, "/orders", json={"n": 1})
        sent = len(server.requests)
    assert sent == 1
    assert type(info.value) is expected
    assert info.value.outcome_unknown is True
    assert info.value.attempts == 1


@pytest.mark.parametrize(("handler", "expected"), MAY_HAVE_ACTED,
                         ids=[h.__name__ for h, _ in MAY_HAVE_ACTED])
def test_a_replay_safe_call_is_retried_after_any_transport_failure(
    handler: object, expected: type[TransportError]
) -> None:
    with hostile_server(handler) as server:  # type: ignore[arg-type]
        with pytest.raises(expected) as info:
            _client(server.url).request("POST", "/orders", json={"n": 1},
                                        idempotency_key="order-1")
        keys = {r.header("Idempotency-Key") for r in server.requests}
        sent = len(server.requests)
    assert sent == 3
    assert keys == {"order-1"}
    assert info.value.attempts == 3


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()  # nothing listens there now: connection refused
    return port


def test_connection_refused_is_never_sent_and_retried_for_post() -> None:
    client = _client(f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(ConnectError) as info:
        client.post("/orders", json={"n": 1})
    assert info.value.outcome_unknown is False
    assert info.value.attempts == 3


def test_dns_failure_is_never_sent() -> None:
    client = mysdk.Client(base_url="https://no-such-host.invalid", retry=None,
                          timeout=(2.0, 2.0))
    with pytest.raises(ConnectError) as info:
        client.post("/orders", json={"n": 1})
    assert info.value.outcome_unknown is False


@pytest.fixture
def plain_speaker() -> Iterator[int]:
    """A port that answers a TLS ClientHello with plain HTTP bytes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join(5)
    sock.close()


def test_a_tls_handshake_failure_is_never_sent(plain_speaker: int) -> None:
    client = _client(f"https://127.0.0.1:{plain_speaker}")
    with pytest.raises(ConnectError) as info:
        client.post("/orders", json={"n": 1})
    assert info.value.outcome_unknown is False
    assert info.value.attempts == 3  # safe to repeat: nothing was sent


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[HostileServer]:
    """An https server whose certificate nobody trusts."""
    import ssl

    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HostileServer(lambda conn, req: respond(conn, 201, b"{}"))
    server._sock = context.wrap_socket(server._sock, server_side=True)
    yield server
    server.stop()


def test_an_untrusted_certificate_is_never_sent(self_signed: HostileServer) -> None:
    client = _client(f"https://127.0.0.1:{self_signed.port}")
    with pytest.raises(ConnectError) as info:
        client.post("/orders", json={"n": 1})
    assert info.value.outcome_unknown is False
    assert self_signed.requests == []
