"""Instructions per keep-alive GET, mysdk against raw requests, counted by callgrind.

CPU seconds on a shared 2-core machine swing by ±15 % from run to run
(``bench/request_cost.py`` shows it); instruction counts do not. Each kind runs
twice under ``valgrind --tool=callgrind`` (a child of ``request_cost.py``: the
same code, token fetch and warm-up), once with N timed requests and once with
none; the difference divided by N is the client's instructions per request,
start-up and imports cancelled out. The reference server runs outside valgrind.
``PYTHONHASHSEED=0`` keeps dict and set layouts the same in every run.

Usage::

    .venv/bin/python bench/request_instructions.py            # N=300
    .venv/bin/python bench/request_instructions.py --requests 500

Prints the figures and the ratio; exits 0 (a report), non-zero only when the
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
    IMPORT_TARGET,
    REQUEST_TARGET,
    SERVER_START_TIMEOUT,
    BenchError,
    Server,
    child_env,
)
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

CHILD = Path(__file__).resolve().parent / "request_cost.py"
_TOTAL = re.compile(r"^(?:summary|totals):\s*(\d+)", re.M)


def instructions(kind: str, base_url: str, n: int, env: dict[str, str], workdir: str) -> int:
    """Instructions callgrind counts for one child run of ``kind`` with ``n`` requests."""
    out = Path(workdir, f"cg.{kind}.{n}")
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         sys.executable, str(CHILD), "--child", kind, base_url, str(n),
         DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
        stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise BenchError(f"{kind} under callgrind failed: {proc.stderr.strip()[-1500:]}")
    match = _TOTAL.search(out.read_text(errors="replace"))
    if match is None:
        raise BenchError(f"no instruction total in {out}")
    return int(match.group(1))


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
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian package 'valgrind')", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mysdk-bench-") as tmp:
        env = child_env(str(Path(tmp, "pycache")))
        env["PYTHONHASHSEED"] = "0"
        server = Server(env, tmp)
        try:
            base_url = server.wait_listening(SERVER_START_TIMEOUT)
            per_request = {}
            for kind in ("raw", "mysdk"):
                instructions(kind, base_url, 1, env, tmp)  # fills the bytecode cache
                full = instructions(kind, base_url, args.requests, env, tmp)
                none = instructions(kind, base_url, 0, env, tmp)
                per_request[kind] = (full - none) / args.requests
            bare = import_instructions("pass", env, tmp)
            imports = {stmt: import_instructions(stmt, env, tmp) - bare
                       for stmt in ("import requests", "import mysdk")}
        except (BenchError, subprocess.SubprocessError) as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
        finally:
            server.stop()
    ratio = per_request["mysdk"] / per_request["raw"]
    print(f"Instructions per keep-alive GET (callgrind, N={args.requests})")
    print(f"  raw requests.Session   {per_request['raw']:12,.0f}")
    print(f"  mysdk Client.get       {per_request['mysdk']:12,.0f}")
    verdict = "PASS" if ratio <= REQUEST_TARGET else "MISS"
    print(f"Ratio mysdk/raw: {ratio:.3f} (target <= {REQUEST_TARGET:.2f}: {verdict})")
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
