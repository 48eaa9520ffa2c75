"""Print the async token-storm figures: 1,000 tasks, one token request, zero failed calls.

``N`` asyncio tasks on one ``mysdk.AsyncClient(base_url=...,
auth=mysdk.ClientCredentials(...))`` (its defaults: its own httpx client, memory
token cache, default retry policy) meet one token expiry together, against the
reference server on loopback (in a thread of this process; it counts the token
requests itself), twice:

* ``revoked``: the server drops the token while the client still holds it, so
  every task's call gets a 401 and is replayed after one refresh;
* ``expired``: the token's 20-second lifetime runs out (the benchmark waits for
  it) before the tasks start, so every task finds it stale before sending.

Target per storm: 1 token request, 0 failed calls. Wall time is from the
tasks' release to the last one's end.

Usage: ``make bench`` or ``python -m bench.async_storm [--tasks N]``.
Exit status 0 when every storm met its target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench.storm import ASYNC_EXPIRIES, StormResult, async_storm

_COLUMNS = ("storm", "tasks", "token requests", "failed calls", "API requests", "wall s")


def _met(result: StormResult) -> bool:
    return result.token_requests == 1 and result.failed_calls == 0


def main(argv: Sequence[str]) -> int:
    """Run the storms and print one row each, then the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=1000, help="concurrent tasks (default 1000)")
    args = parser.parse_args(argv)
    if not 1 <= args.tasks <= 100_000:
        parser.error("--tasks must be 1..100000")
    results = [async_storm(args.tasks, expiry=expiry) for expiry in ASYNC_EXPIRIES]
    rows = [_COLUMNS, *((r.name, str(r.threads), str(r.token_requests), str(r.failed_calls),
                         str(r.api_requests), f"{r.wall_seconds:.2f}") for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    print(f"Async 401/expiry storm: {args.tasks} concurrent tasks on one mysdk.AsyncClient "
          "(ClientCredentials), reference server on loopback")
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    for r in results:
        verdict = "met" if _met(r) else "MISSED"
        print(f"{r.name}: {verdict} (target: 1 token request, 0 failed calls; token requests "
              f"by grant: {r.by_grant}, errors: {r.errors or 'none'})")
    return 0 if all(_met(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
