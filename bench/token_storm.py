"""Print the token-storm figures: one token request per expiry, zero failed calls.

Runs, against the reference server (which counts token requests itself):
64 threads on one client, refresh-token rotation under 16 threads, and
4 processes x 16 threads sharing the file cache (without and with rotating
refresh tokens) and then the Redis cache while tokens expire every 4 seconds
for 24 seconds.

Usage: ``make storm`` or ``python -m bench.token_storm [--duration S] [--lifetime S]``.
Exit status 0 when every storm met its target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys

from bench.storm import StormResult, process_storm, rotation_storm, thread_storm
from tests.redis_server import start_redis_server

_COLUMNS = ("storm", "threads", "processes", "expiries", "token requests", "failed calls",
            "calls", "wall s")


def _row(result: StormResult) -> tuple[str, ...]:
    return (result.name, str(result.threads), str(result.processes), str(result.expiries),
            str(result.token_requests), str(result.failed_calls), str(result.calls),
            f"{result.wall_seconds:.1f}")


def _met(result: StormResult) -> bool:
    return result.failed_calls == 0 and result.one_per_expiry and result.invalid_grant == 0


def main() -> int:
    """Run the storms and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=24.0, help="seconds per process storm")
    parser.add_argument("--lifetime", type=float, default=4.0, help="token lifetime, seconds")
    args = parser.parse_args()
    results = [thread_storm(64), rotation_storm(16),
               process_storm("file", lifetime=args.lifetime, duration=args.duration),
               process_storm("file", lifetime=args.lifetime, duration=args.duration,
                             refresh_tokens=True)]
    redis = start_redis_server()
    try:
        results.append(process_storm("redis", lifetime=args.lifetime, duration=args.duration,
                                     redis_url=redis.url))
    finally:
        redis.stop()
    rows = [_COLUMNS, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    for result in results:
        verdict = "met" if _met(result) else "MISSED"
        print(f"{result.name}: {verdict} (token requests by grant: {result.by_grant}, "
              f"invalid_grant: {result.invalid_grant}, errors: {result.errors or 'none'})")
    return 0 if all(_met(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
