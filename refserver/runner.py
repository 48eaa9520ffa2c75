"""Run a server on its own asyncio/tornado loop in a daemon thread.

Each ``RunningServer`` owns its loop, sockets, database and state, so a test
process can start many, several at once, and stop them independently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from types import TracebackType

from tornado.httpserver import HTTPServer

from refserver.app import make_app
from refserver.config import ServerConfig
from refserver.context import AppContext
from refserver.faults import FaultConfig
from refserver.stats import ServerStats

__all__ = ["RunningServer", "start_server"]

log = logging.getLogger(__name__)


def _bind(host: str, port: int) -> socket.socket:
    """One listening socket; port 0 lets the kernel pick a free port.

    Not tornado's ``bind_sockets``: it leaks the socket when bind fails (port in
    use), which surfaces as a ResourceWarning under ``-W error``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class RunningServer:
    """Handle on a live server. Use ``start_server()`` rather than constructing it."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._ctx = AppContext.create(config)
        self._ready = threading.Event()
        self._stopped = False
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._port = 0
        self._thread = threading.Thread(
            target=self._thread_main, name=f"refserver-{id(self):x}", daemon=True
        )

    # -- public handle ---------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = self.config.host
        host = f"[{host}]" if ":" in host else host  # IPv6 literal (RFC 3986 §3.2.2)
        return f"http://{host}:{self._port}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def issuer(self) -> str:
        """The issuer URL of the server's metadata (RFC 8414 §2): its base URL."""
        return self.base_url

    def decide_device(self, user_code: str, *, approve: bool = True) -> bool:
        """Approve (or deny) a pending device login as the user would (RFC 8628 §3.3).

        The same as ``POST /device/approve``; False when no pending login has
        ``user_code`` (unknown, already decided, or expired).
        """
        return self._ctx.devices.decide(user_code, approve=approve, user=self.config.user)

    @property
    def stats(self) -> ServerStats:
        return self._ctx.stats

    @property
    def faults(self) -> FaultConfig:
        return self._ctx.faults.config

    def set_faults(self, faults: FaultConfig | None = None) -> None:
        """Switch faults at runtime; None turns them all off. Reseeds the generator."""
        self._ctx.faults.configure(faults or FaultConfig())

    def expire_access_tokens(self) -> int:
        """Invalidate every issued access token now (refresh tokens stay valid).

        Simulates "expired server-side while the client still thinks it is valid";
        returns how many tokens were dropped.
        """
        return self._ctx.tokens.expire_access_tokens()

    def stop(self) -> None:
        """Stop the loop, close sockets and connections and the database, join the thread."""
        if self._stopped:
            return
        self._stopped = True
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None and not loop.is_closed():
            # RuntimeError: the loop closed between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)
        if self._thread.is_alive():
            self._thread.join(self.config.stop_timeout)
            if self._thread.is_alive():
                log.warning("refserver thread did not stop within %.1fs", self.config.stop_timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<RunningServer {self.base_url} {state}>"

    # -- lifecycle -------------------------------------------------------------------

    def _start(self) -> None:
        self._thread.start()
        if not self._ready.wait(self.config.start_timeout):
            self.stop()
            raise TimeoutError(f"refserver did not start within {self.config.start_timeout}s")
        if self._error is not None:
            self._thread.join(self.config.stop_timeout)
            self._stopped = True
            raise RuntimeError("refserver failed to start") from self._error

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start_server, never left unraised
            if not self._ready.is_set():
                self._error = exc
            else:
                log.exception("refserver loop crashed")
        finally:
            self._ctx.close()
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        # xheaders=False: remote_ip is the socket peer, never a client-supplied header.
        # Keep-alive stays on: benchmarks reuse connections.
        server = HTTPServer(make_app(self._ctx), xheaders=False, no_keep_alive=False)
        sock = _bind(self.config.host, self.config.port)
        try:
            server.add_sockets([sock])
            self._port = int(sock.getsockname()[1])
            self._ctx.bind_issuer(self.base_url)
            self._ready.set()
            await self._stop_event.wait()
        finally:
            server.stop()  # closes the listening socket
            sock.close()  # no-op if server.stop() did; covers add_sockets failing
            try:
                await asyncio.wait_for(server.close_all_connections(), self.config.stop_timeout)
            except asyncio.TimeoutError:
                log.warning("refserver: connections still open at shutdown")


def start_server(config: ServerConfig | None = None) -> RunningServer:
    """Start a server and return once it is listening (bounded by ``config.start_timeout``)."""
    server = RunningServer(config or ServerConfig())
    server._start()
    return server
