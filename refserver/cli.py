"""Command line: ``python -m refserver``. Foreground, one parseable line, clean stop."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from refserver.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PUBLIC_CLIENT_ID,
    ServerConfig,
)
from refserver.faults import FaultConfig
from refserver.runner import start_server

__all__ = ["build_parser", "config_from_args", "main"]

LISTENING_PREFIX = "refserver listening on "


def _client(value: str) -> tuple[str, str]:
    client_id, sep, secret = value.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError("expected CLIENT_ID:SECRET")
    return client_id, secret


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refserver", description="Cars API reference server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--db", default=":memory:", help="SQLite path or :memory:")
    p.add_argument("--token-lifetime", type=float, default=3600.0, metavar="SECONDS")
    p.add_argument(
        "--issue-refresh-tokens",
        action="store_true",
        help="also issue refresh tokens for client_credentials (RFC 6749 §4.4.3: "
        "SHOULD NOT; for exercising the refresh grant)",
    )
    p.add_argument(
        "--client",
        type=_client,
        action="append",
        metavar="ID:SECRET",
        help=f"repeatable; default {DEFAULT_CLIENT_ID}:<demo secret>",
    )
    p.add_argument(
        "--public-client",
        action="append",
        metavar="ID",
        help="repeatable; a public client (no secret) for device and browser logins; "
        f"default {DEFAULT_PUBLIC_CLIENT_ID}",
    )
    p.add_argument("--device-interval", type=int, default=5, metavar="SECONDS",
                   help="RFC 8628 polling interval given to devices (default 5)")
    p.add_argument("--device-code-lifetime", type=int, default=600, metavar="SECONDS",
                   help="lifetime of device and user codes (default 600)")
    p.add_argument("--access-log", action="store_true")
    f = p.add_argument_group("faults (only /api/v1/*)")
    f.add_argument("--fault-503-rate", type=float, default=0.0, metavar="F")
    f.add_argument(
        "--fault-retry-after",
        default=None,
        metavar="VALUE",
        help="Retry-After sent with injected 503s",
    )
    f.add_argument("--fault-rate-limit", type=float, default=None, metavar="RPS")
    f.add_argument("--fault-drop-rate", type=float, default=0.0, metavar="F")
    f.add_argument("--fault-drop-after-processing", action="store_true")
    f.add_argument("--fault-slow-rate", type=float, default=0.0, metavar="F")
    f.add_argument("--fault-slow-seconds", type=float, default=0.0, metavar="S")
    f.add_argument("--fault-seed", type=int, default=None)
    return p


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    clients = dict(args.client) if args.client else {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
    faults = FaultConfig(
        error_503_rate=args.fault_503_rate,
        retry_after_503=args.fault_retry_after,
        rate_limit_per_second=args.fault_rate_limit,
        drop_rate=args.fault_drop_rate,
        drop_after_processing=args.fault_drop_after_processing,
        slow_rate=args.fault_slow_rate,
        slow_seconds=args.fault_slow_seconds,
        seed=args.fault_seed,
    )
    public = (frozenset(args.public_client) if args.public_client
              else frozenset({DEFAULT_PUBLIC_CLIENT_ID}))
    return ServerConfig(
        public_clients=public,
        device_interval=args.device_interval,
        device_code_lifetime=args.device_code_lifetime,
        host=args.host,
        port=args.port,
        db_path=args.db,
        access_token_lifetime=args.token_lifetime,
        issue_refresh_tokens=args.issue_refresh_tokens,
        clients=clients,
        faults=faults,
        access_log=args.access_log,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.access_log:
        logging.basicConfig(level=logging.INFO)

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed before starting so an early SIGTERM still ends in a clean stop.
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server = start_server(config)
        except (RuntimeError, TimeoutError) as exc:
            print(f"refserver: {exc}: {exc.__cause__ or ''}", file=sys.stderr, flush=True)
            return 1
        with server:
            # The one line a parent process parses; flushed because stdout is a pipe.
            print(f"{LISTENING_PREFIX}{server.base_url}", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
