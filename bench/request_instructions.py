"""Instructions per keep-alive GET, mysdk against raw requests/httpx, counted by callgrind.

CPU seconds on a shared 2-core machine swing by ±15 % from run to run
(``bench/request_cost.py`` shows it); instruction counts do not. Each kind of
``request_cost.py`` (``raw``, ``mysdk``, ``mysdk-session``, ``httpx``,
``mysdk-async``: the same child code, token fetch and warm-up) runs twice under
``valgrind --tool=callgrind``, once with N timed requests and once with none;
the difference divided by N is the client's instructions per request, start-up
and imports cancelled out. The ratios are ``request_cost.COMPARISONS``, with
their targets. The reference server runs outside valgrind. ``PYTHONHASHSEED=0``
keeps dict and set layouts the same in every run.

Usage::

    .venv/bin/python -m bench.request_instructions            # N=300, all kinds
    .venv/bin/python -m bench.request_instructions --requests 500
    .venv/bin/python -m bench.request_instructions --kinds httpx,mysdk-async --no-imports

Prints the figures and the ratios; exits 0 (a report), non-zero only when the
benchmark itself fails (valgrind missing, a child failing).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.request_cost import (
    COMPARISONS,
    IMPORT_TARGET,
    KINDS,
    SERVER_START_TIMEOUT,
    WARMUP_REQUESTS,
    BenchError,
    Server,
    child_env,
    run_child,
)
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

CHILD = Path(__file__).resolve().parent / "request_cost.py"
_TOTAL = re.compile(r"^(?:summary|totals):\s*(\d+)", re.M)
_CHILD_TIMEOUT = 1800.0  # seconds for one child under callgrind (~50x slower than native)


def _child_args(kind: str, base_url: str, n: int) -> list[str]:
    return [sys.executable, str(CHILD), "--child", kind, base_url, str(n),
            DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET]


def instructions(kind: str, base_url: str, n: int, env: dict[str, str], workdir: str) -> int:
    """Instructions callgrind counts for one child run of ``kind`` with ``n`` requests."""
    out = Path(workdir, f"cg.{kind}.{n}")
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         *_child_args(kind, base_url, n)],
        capture_output=True, text=True, env=env, timeout=_CHILD_TIMEOUT, check=False,
        stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise BenchError(f"{kind} under callgrind failed: {proc.stderr.strip()[-1500:]}")
    match = _TOTAL.search(out.read_text(errors="replace"))
    if match is None:
        raise BenchError(f"no instruction total in {out}")
    return int(match.group(1))


def per_request(kind: str, base_url: str, n: int, env: dict[str, str], workdir: str) -> float:
    """Instructions per request of ``kind``: (run with ``n`` - run with 0) / ``n``."""
    # Untimed, outside valgrind: fills the bytecode cache so neither counted run compiles.
    run_child(_child_args(kind, base_url, 1), env, 60.0 + WARMUP_REQUESTS * 0.02)
    full = instructions(kind, base_url, n, env, workdir)
    none = instructions(kind, base_url, 0, env, workdir)
    print(f"  {kind}: {(full - none) / n:,.0f} instructions/request", file=sys.stderr,
          flush=True)
    return (full - none) / n


def import_instructions(statement: str, env: dict[str, str], workdir: str) -> int:
    """Instructions of ``python -c statement`` under callgrind (bytecode cached first)."""
    subprocess.run([sys.executable, "-c", statement], env=env, check=True, timeout=120)
    out = Path(workdir, "cg.import")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                    sys.executable, "-c", statement], capture_output=True, env=env,
                   check=True, timeout=600)
    match = _TOTAL.search(out.read_text(errors="replace"))
    if match is None:
        raise BenchError(f"no instruction total for {statement!r}")
    return int(match.group(1))


def main(argv: Sequence[str]) -> int:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, metavar="N",
                        help="timed requests per child (default 300)")
    parser.add_argument("--kinds", default=",".join(KINDS), metavar="K,K",
                        help=f"comma-separated kinds (default: all: {','.join(KINDS)})")
    parser.add_argument("--no-imports", action="store_true",
                        help="skip counting the import statements")
    args = parser.parse_args(argv)
    asked = {k.strip() for k in args.kinds.split(",") if k.strip()}
    if not asked or asked - set(KINDS) or not 1 <= args.requests <= 100_000:
        parser.error(f"--kinds: one or more of {', '.join(KINDS)}; --requests: 1..100000")
    kinds = [k for k in KINDS if k in asked]
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian package 'valgrind')", file=sys.stderr)
        return 2
    imports: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="mysdk-bench-") as tmp:
        env = child_env(str(Path(tmp, "pycache")))
        env["PYTHONHASHSEED"] = "0"
        server = Server(env, tmp)
        try:
            base_url = server.wait_listening(SERVER_START_TIMEOUT)
            counts = {kind: per_request(kind, base_url, args.requests, env, tmp)
                      for kind in kinds}
            if not args.no_imports:
                bare = import_instructions("pass", env, tmp)
                imports = {stmt: import_instructions(stmt, env, tmp) - bare
                           for stmt in ("import requests", "import mysdk")}
        except (BenchError, subprocess.SubprocessError) as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
        finally:
            server.stop()
    print(f"Instructions per keep-alive GET (callgrind, N={args.requests})")
    for kind in kinds:
        print(f"  {KINDS[kind][0]:<44} {counts[kind]:12,.0f}")
    for c in COMPARISONS:
        if c.kind in counts and c.baseline in counts:
            ratio = counts[c.kind] / counts[c.baseline]
            verdict = "PASS" if ratio <= c.target else "MISS"
            print(f"Ratio {c.label}: {ratio:.3f} (target <= {c.target:.2f}: {verdict})")
    if imports:
        print("Instructions of the import statement (interpreter start-up subtracted)")
        for stmt, count in imports.items():
            print(f"  {stmt:<22} {count:14,d}")
        import_ratio = imports["import mysdk"] / imports["import requests"]
        verdict = "PASS" if import_ratio <= IMPORT_TARGET else "MISS"
        print(f"Ratio import mysdk / import requests: {import_ratio:.3f} "
              f"(target <= {IMPORT_TARGET:.2f}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
