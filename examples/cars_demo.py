"""The demo: mysdk against the reference Cars API on loopback.

Run with ``make demo`` (or ``python -m examples.cars_demo`` inside the venv).
It starts the reference server with a 3-second token lifetime, uses mysdk as
an app would, waits past the token lifetime, calls again (the client fetches
a new token by itself), then has the server revoke every token so the next call
gets a 401 (the client refreshes and replays), and stops the server.

Exit status: 0 on success; 1 with a message naming what went wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import mysdk
from examples.cars_sdk import CarsClient
from mysdk.events import Event
from refserver import ServerConfig, start_server
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def print_event(event: Event) -> None:
    """One readable line per HTTP exchange and per token fetch."""
    ms = f"{event.elapsed * 1000:7.1f} ms" if event.elapsed is not None else ""
    if event.kind == "response":
        print(f"  {event.method:<6} {event.path:<22} -> {event.status}  {ms}")
    elif event.kind == "token_fetched":
        print(f"  token  {event.reason} at {event.path}  {ms}")
    elif event.kind == "reauth":
        print("  401    token refused: refreshed, replaying the request once")
    elif event.kind in ("retry", "error"):
        print(f"  {event.kind:<6} {event.method} {event.path}: {event.reason}")


def run(token_lifetime: float) -> None:
    """The app's calls; raises a mysdk error if any fails."""
    with start_server(ServerConfig(access_token_lifetime=token_lifetime)) as server:
        print(f"reference server on {server.base_url}, tokens live {token_lifetime:g} s")
        provider = mysdk.ClientCredentials(
            token_url=server.token_url,
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
        )
        with CarsClient(base_url=server.base_url, auth=provider, on_event=print_event) as client:
            print("create three cars")
            cars = [
                client.cars.create(make="Volvo", model="240", year=1989, color="red"),
                client.cars.create(make="Saab", model="900", year=1992),
                client.cars.create(make="Lancia", model="Delta", year=1991, color="white"),
            ]
            print("list, read, update, delete")
            page = client.cars.list(limit=10)
            print(f"  -> {len(page.items)} cars: " + ", ".join(c.make for c in page.items))
            car = client.cars.get(cars[0].id)
            car = client.cars.update(car.id, color="blue")
            print(f"  -> car {car.id} is now {car.color}")
            client.cars.delete(cars[1].id)
            try:
                client.cars.get(cars[1].id)
            except mysdk.NotFoundError as exc:
                print(f"  -> car {cars[1].id} is gone ({exc.status_code})")
            wait = token_lifetime + 1
            print(f"wait {wait:g} s: past the token lifetime")
            time.sleep(wait)
            print("call again: the client gets a new token by itself")
            remaining = list(client.cars.iterate(limit=1))
            print(f"  -> {len(remaining)} cars listed one page at a time")
            print("the server revokes every token; the next call gets a 401")
            server.expire_access_tokens()
            client.cars.get(cars[2].id)
            print(
                f"done: the server saw {server.stats.token_requests} token requests "
                f"and {server.stats.api_requests} API requests"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    return run_demo(argv, __doc__, run)


def run_demo(argv: Sequence[str] | None, doc: str | None, demo: Callable[[float], None]) -> int:
    """Parse ``--token-lifetime``, run ``demo(lifetime)``; 0 on success, 1 with a reason."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--token-lifetime", type=float, default=3.0,
                        help="access-token lifetime in seconds (default 3)")
    args = parser.parse_args(argv)
    try:
        demo(args.token_lifetime)
    except mysdk.MySDKError as exc:
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except (OSError, TimeoutError) as exc:
        print(f"demo failed: could not run the reference server: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
