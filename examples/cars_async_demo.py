"""The async demo: mysdk.AsyncClient against the reference Cars API on loopback.

Run with ``make async-demo`` (or ``python -m examples.cars_async_demo`` inside the
venv). The same Cars SDK declarations as ``make demo``, bound with ``await``:
it creates cars from concurrent tasks, lists them with ``async for``, waits past
the token lifetime and sends many concurrent calls (one token request serves
them all), then has the server revoke every token so that many concurrent calls
meet a 401 at once (one refresh, each call replayed once), and stops the server.

Exit status: 0 on success; 1 with a message naming what went wrong.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import mysdk
from examples.cars_demo import print_event, run_demo
from examples.cars_sdk import AsyncCarsClient
from mysdk.events import Event
from refserver import ServerConfig, start_server
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

CONCURRENT = 50  # tasks that meet one token expiry at once


async def run(token_lifetime: float) -> None:
    """The app's calls; raises a mysdk error if any fails."""
    with start_server(ServerConfig(access_token_lifetime=token_lifetime)) as server:
        print(f"reference server on {server.base_url}, tokens live {token_lifetime:g} s")
        provider = mysdk.ClientCredentials(
            token_url=server.token_url,
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
        )
        quiet = False
        reauths = 0

        def on_event(event: Event) -> None:
            nonlocal reauths
            reauths += event.kind == "reauth"
            if not quiet or event.kind in ("token_fetched", "retry", "error"):
                print_event(event)

        async with AsyncCarsClient(base_url=server.base_url, auth=provider,
                                   on_event=on_event) as client:
            print("create three cars from three concurrent tasks")
            cars = await asyncio.gather(
                client.cars.create(make="Volvo", model="240", year=1989, color="red"),
                client.cars.create(make="Saab", model="900", year=1992),
                client.cars.create(make="Lancia", model="Delta", year=1991, color="white"),
            )
            print("list with async for, read, update, delete")
            makes = [car.make async for car in client.cars.iterate(limit=2)]
            print(f"  -> {len(makes)} cars, two per page: " + ", ".join(makes))
            car = await client.cars.update(cars[0].id, color="blue")
            print(f"  -> car {car.id} is now {car.color}")
            await client.cars.delete(cars[1].id)
            try:
                await client.cars.get(cars[1].id)
            except mysdk.NotFoundError as exc:
                print(f"  -> car {cars[1].id} is gone ({exc.status_code})")

            wait = token_lifetime + 1
            print(f"wait {wait:g} s: past the token lifetime")
            await asyncio.sleep(wait)
            before = server.stats.token_requests
            print(f"{CONCURRENT} concurrent calls on the expired token (responses not shown)")
            quiet = True
            await asyncio.gather(*(client.cars.get(cars[2].id) for _ in range(CONCURRENT)))
            quiet = False
            print(f"  -> {server.stats.token_requests - before} token request for "
                  f"{CONCURRENT} calls")

            print(f"the server revokes every token; {CONCURRENT} concurrent calls follow")
            server.expire_access_tokens()
            before, reauths = server.stats.token_requests, 0
            quiet = True
            await asyncio.gather(*(client.cars.get(cars[2].id) for _ in range(CONCURRENT)))
            quiet = False
            print(f"  -> {server.stats.token_requests - before} token request; {reauths} calls "
                  "replayed once after their 401, all succeeded")
            print(f"done: the server saw {server.stats.token_requests} token requests "
                  f"and {server.stats.api_requests} API requests")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    return run_demo(argv, __doc__, lambda lifetime: asyncio.run(run(lifetime)))


if __name__ == "__main__":
    sys.exit(main())
