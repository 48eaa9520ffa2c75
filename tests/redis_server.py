"""Start and stop a throw-away redis-server on loopback (tests and benchmarks).

Debian's ``redis-server`` is installed by ``make test`` (scripts/ensure-redis).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import IO

REDIS_MISSING = (
    "redis-server is not installed; `make test` installs it (apt-get install redis-server)"
)
_START_TIMEOUT = 10.0  # seconds to wait for PING
_STOP_TIMEOUT = 5.0  # seconds to wait for a clean shutdown before SIGKILL


@dataclass
class RedisServer:
    """A redis-server child process listening on 127.0.0.1."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s) and reap it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def find_redis_server() -> str | None:
    """Path of ``redis-server`` (PATH, then /usr/sbin and /usr/bin), or None."""
    found = shutil.which("redis-server")
    if found:
        return found
    for candidate in ("/usr/sbin/redis-server", "/usr/bin/redis-server"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def start_redis_server(executable: str | None = None) -> RedisServer:
    """Start a throw-away redis-server (no persistence) on a free loopback port.

    Raises:
        FileNotFoundError: redis-server is not installed.
        RuntimeError: It did not answer PING within 10 seconds.
    """
    executable = executable or find_redis_server()
    if executable is None:
        raise FileNotFoundError(REDIS_MISSING)
    output = b""
    for _attempt in range(3):  # a free port can be taken between probe and bind
        port = _free_port()
        # A file, not a pipe, so nothing has to drain it; RedisServer.stop() closes it.
        log = tempfile.TemporaryFile()  # noqa: SIM115
        process = subprocess.Popen(
            [
                executable,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = RedisServer(f"redis://127.0.0.1:{port}/0", port, process, log)
        if _wait_for_ping(port, process):
            return server
        log.seek(0)
        output = log.read()[-2000:]
        server.stop()
    raise RuntimeError(f"redis-server did not answer PING within {_START_TIMEOUT}s: {output!r}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_ping(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False
