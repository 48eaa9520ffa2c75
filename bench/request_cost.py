"""Client-side cost of mysdk: CPU per keep-alive GET and CPU of ``import mysdk``.

Method
------
Request cost. The reference server (``python -m refserver --port 0``) runs as its
own process, so its CPU is never charged to the client. Each measurement is a
fresh child process (``request_cost.py --child KIND URL N ...``) that fetches a
token, warms up with 200 requests, then reads ``time.process_time()`` (CPU of the
child process only: user + system, all threads) around N keep-alive GETs of
``/api/v1/ping`` and prints one JSON line. The two kinds do the same useful work:

* ``raw``:   ``requests.Session().get(url, headers={"Authorization": ...},
  timeout=(5.0, 30.0))``, then ``raise_for_status()`` and ``.json()``; the token
  is fetched once by hand.
* ``mysdk``: ``mysdk.Client(base_url=..., auth=mysdk.ClientCredentials(...))``
  and ``client.get("/api/v1/ping")``: auth (token manager), error mapping and
  JSON decoding on, default retry policy, no rate limiter, no event hook.

Raw and mysdk children alternate (the order flips every round, so drift in
machine load hits both) for R rounds; the report gives the median µs/request of
each, min and max, and the ratio of the medians. Each child also reports how
many new TCP connections its measured loop opened: it must be 0 (keep-alive);
otherwise the run counts as failed, because it would not measure what it claims.

Import cost. Fresh ``python -c`` processes read ``time.process_time()`` just
before and after one import statement: ``import requests``, ``import mysdk``
and ``from mysdk import Client`` (the latter so that a future lazy ``mysdk``
cannot look cheap by deferring its work to the first attribute access). The
statements run 4*R times each, interleaved in rotating order; the report gives
the medians and ratio of medians, nothing subtracted. ``import mysdk`` includes
``import requests``, which is the point: the target is about what a user pays.
All children share one private bytecode cache (``PYTHONPYCACHEPREFIX``, filled by
an untimed first import) so nothing is compiled inside a timed import, the way
an installed package behaves, and nothing is written into the source tree.

Reading the numbers
-------------------
"µs/req" is client CPU per request, not latency. A ratio of 1.03 means mysdk
costs 3 % more CPU per call than bare ``requests``. min/max across rounds show
the noise; a ratio closer to its target than that spread is not a reliable
PASS or MISS, so re-run or raise ``--requests``/``--rounds``. Exit status is 0
whether the targets are met or not (this is a report); it is non-zero only when
the benchmark itself failed (server did not start, a child failed or timed out,
keep-alive was not in effect).

Usage::

    .venv/bin/python bench/request_cost.py                 # N=3000, R=5
    .venv/bin/python bench/request_cost.py --quick         # smoke run
    .venv/bin/python bench/request_cost.py --requests 5000 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

REQUEST_TARGET = 1.00  # mysdk / raw requests.Session, CPU per keep-alive GET
IMPORT_TARGET = 1.10  # import mysdk / import requests, CPU

WARMUP_REQUESTS = 200
HTTP_TIMEOUT = (5.0, 30.0)  # the same (connect, read) timeout mysdk uses by default
PING_PATH = "/api/v1/ping"
TOKEN_PATH = "/oauth/token"

SERVER_START_TIMEOUT = 20.0
SERVER_STOP_TIMEOUT = 10.0
IMPORT_CHILD_TIMEOUT = 60.0
LISTENING_MARK = "listening on "

# One import statement each; the label is what the report prints.
IMPORT_KINDS: dict[str, str] = {
    "import requests": "import requests",
    "import mysdk": "import mysdk",
    "from mysdk import Client": "from mysdk import Client",
}
# Timed between two process_time() reads; `time` is imported first so it is not counted.
IMPORT_SNIPPET = (
    "import time\n"
    "_t0 = time.process_time()\n"
    "{stmt}\n"
    "_t1 = time.process_time()\n"
    "print(repr(_t1 - _t0))\n"
)


class BenchError(Exception):
    """The benchmark itself failed (not a missed target)."""


# -- children ------------------------------------------------------------------


def _child_raw(base_url: str, n: int, client_id: str, secret: str) -> dict[str, Any]:
    import requests

    session = requests.Session()
    resp = session.post(
        base_url + TOKEN_PATH, data={"grant_type": "client_credentials"},
        auth=(client_id, secret), timeout=HTTP_TIMEOUT,
    )
    resp.raise_for_status()
    token = resp.json()["access_token"]
    url = base_url + PING_PATH
    headers = {"Authorization": f"Bearer {token}"}
    # Same pool the GETs use (same scheme/host/port): counts connections opened.
    pool = session.get_adapter(url).poolmanager.connection_from_url(url)  # type: ignore[attr-defined]

    body: Any = None
    for _ in range(WARMUP_REQUESTS):
        r = session.get(url, headers=headers, timeout=HTTP_TIMEOUT)
        r.raise_for_status()
        body = r.json()
    conns = pool.num_connections
    wall = time.perf_counter()
    cpu = time.process_time()
    for _ in range(n):  # the timed loop: keep it identical in shape to _child_mysdk's
        r = session.get(url, headers=headers, timeout=HTTP_TIMEOUT)
        r.raise_for_status()
        body = r.json()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    new_conns = pool.num_connections - conns
    session.close()
    return _child_result("raw", n, cpu, wall, new_conns, body)


def _child_mysdk(base_url: str, n: int, client_id: str, secret: str) -> dict[str, Any]:
    import mysdk

    client = mysdk.Client(
        base_url=base_url,
        auth=mysdk.ClientCredentials(
            token_url=base_url + TOKEN_PATH, client_id=client_id, client_secret=secret,
        ),
    )
    url = base_url + PING_PATH
    # Read-only peek at the session, only to count connections.
    pool = client.session.get_adapter(url).poolmanager.connection_from_url(url)  # type: ignore[attr-defined]

    body: Any = None
    for _ in range(WARMUP_REQUESTS):  # the first call also fetches the token
        body = client.get(PING_PATH)
    conns = pool.num_connections
    wall = time.perf_counter()
    cpu = time.process_time()
    for _ in range(n):
        body = client.get(PING_PATH)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    new_conns = pool.num_connections - conns
    client.close()
    return _child_result("mysdk", n, cpu, wall, new_conns, body)


def _child_result(
    kind: str, n: int, cpu: float, wall: float, new_conns: int, body: Any
) -> dict[str, Any]:
    if body != {"pong": True}:
        raise BenchError(f"{kind}: unexpected body {body!r}")
    return {
        "kind": kind, "n": n, "cpu_s": cpu, "cpu_us_per_req": cpu / max(n, 1) * 1e6,
        "wall_us_per_req": wall / max(n, 1) * 1e6, "new_connections": new_conns,
    }


def child_main(argv: Sequence[str]) -> int:
    """``--child KIND URL N CLIENT_ID SECRET``: one measurement, one JSON line."""
    kind, base_url, n_text, client_id, secret = argv
    n = int(n_text)
    runners = {"raw": _child_raw, "mysdk": _child_mysdk}
    result = runners[kind](base_url, n, client_id, secret)
    print(json.dumps(result), flush=True)
    return 0


# -- parent: environment, server, children ---------------------------------------


def child_env(pycache: str) -> dict[str, str]:
    """Environment for every child: repo importable, a private bytecode cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    # Bytecode must be cached (as for an installed package) or imports would
    # time compilation; the prefix keeps .pyc files out of the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


class Server:
    """``python -m refserver --port 0`` in its own process; stop() always cleans up."""

    def __init__(self, env: dict[str, str], logdir: str) -> None:
        self._out_path = Path(logdir, "refserver.out")
        self._err_path = Path(logdir, "refserver.err")
        # Files, not pipes: nobody has to keep draining them while children run.
        with self._out_path.open("wb") as out, self._err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "refserver", "--port", "0"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=ROOT, env=env,
            )
        self.base_url = ""

    def wait_listening(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self._out_path.read_text(errors="replace")
            for line in text.splitlines():
                if LISTENING_MARK in line:
                    self.base_url = line.split(LISTENING_MARK, 1)[1].strip().rstrip("/")
                    return self.base_url
            if self.proc.poll() is not None:
                raise BenchError(f"refserver exited with {self.proc.returncode}: {self._stderr()}")
            time.sleep(0.05)
        raise BenchError(f"refserver did not print its listening line in {timeout:g}s: "
                         f"{self._stderr()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(SERVER_STOP_TIMEOUT)

    def _stderr(self) -> str:
        return self._err_path.read_text(errors="replace").strip()[-2000:] or "(no stderr)"


def run_child(args: list[str], env: dict[str, str], timeout: float) -> str:
    """Run a child to completion; its last stdout line, or BenchError."""
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
            check=False, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:  # run() has already killed it
        raise BenchError(f"child timed out after {timeout:g}s: {args[1:4]}") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        raise BenchError(f"child {args[1:4]} failed (exit {proc.returncode}): "
                         f"{proc.stderr.strip()[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]


@dataclass
class RequestRun:
    raw_us: list[float]
    mysdk_us: list[float]
    raw_wall_us: list[float]
    mysdk_wall_us: list[float]


def measure_requests(
    base_url: str, n: int, rounds: int, env: dict[str, str], creds: tuple[str, str]
) -> RequestRun:
    # Generous: the server answers in ~1 ms; 20 ms/request means something is wrong.
    timeout = 60.0 + (n + WARMUP_REQUESTS) * 0.02
    run = RequestRun([], [], [], [])
    for i in range(rounds):
        order = ("raw", "mysdk") if i % 2 == 0 else ("mysdk", "raw")
        for kind in order:
            line = run_child(
                [sys.executable, str(Path(__file__).resolve()), "--child", kind, base_url,
                 str(n), *creds], env, timeout)
            res = json.loads(line)
            if res["new_connections"] != 0:
                raise BenchError(f"{kind}: {res['new_connections']} new connection(s) in the "
                                 "timed loop; keep-alive is not in effect")
            cpu, wall = float(res["cpu_us_per_req"]), float(res["wall_us_per_req"])
            if kind == "raw":
                run.raw_us.append(cpu)
                run.raw_wall_us.append(wall)
            else:
                run.mysdk_us.append(cpu)
                run.mysdk_wall_us.append(wall)
            print(f"  round {i + 1}/{rounds} {kind:<5} {cpu:8.1f} µs/req CPU "
                  f"({wall:7.1f} µs wall)", file=sys.stderr, flush=True)
    return run


def measure_imports(reps: int, env: dict[str, str]) -> dict[str, list[float]]:
    def once(stmt: str) -> float:
        line = run_child([sys.executable, "-c", IMPORT_SNIPPET.format(stmt=stmt)], env,
                         IMPORT_CHILD_TIMEOUT)
        return float(line)

    labels = list(IMPORT_KINDS)
    for label in labels:  # untimed: fills the bytecode cache
        once(IMPORT_KINDS[label])
    out: dict[str, list[float]] = {label: [] for label in labels}
    for i in range(reps):
        for j in range(len(labels)):  # rotate the order so no kind always goes first
            label = labels[(i + j) % len(labels)]
            out[label].append(once(IMPORT_KINDS[label]) * 1e3)
    print(f"  imports: {reps} runs each", file=sys.stderr, flush=True)
    return out


# -- report ----------------------------------------------------------------------


def verdict(by_median: float, by_min: float, target: float) -> str:
    """PASS/MISS on the ratio of medians; '?' when the ratio of minimums disagrees."""
    word = "PASS" if by_median <= target else "MISS"
    return word if (by_min <= target) == (by_median <= target) else word + "?"


def report(args: argparse.Namespace, base_url: str, req: RequestRun,
           imports: dict[str, list[float]], load_before: float) -> None:
    import requests

    med = statistics.median
    per_round = [m / r for r, m in zip(req.raw_us, req.mysdk_us, strict=True)]
    base = imports["import requests"]
    # (label, ratio of medians, ratio of minimums, target)
    ratios = [
        ("request  mysdk Client.get / raw Session", med(req.mysdk_us) / med(req.raw_us),
         min(req.mysdk_us) / min(req.raw_us), REQUEST_TARGET),
        *((f"import   {label} / import requests", med(imports[label]) / med(base),
           min(imports[label]) / min(base), IMPORT_TARGET)
          for label in ("import mysdk", "from mysdk import Client")),
    ]

    print(f"mysdk client cost  (Python {platform.python_version()}, requests "
          f"{requests.__version__}, {os.cpu_count()} CPUs)")
    # Other work on the machine inflates CPU time too (shared caches, SMT): say how busy it was.
    print(f"server: refserver in a separate process at {base_url}; load average (1 min) "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"{args.requests} keep-alive GET {PING_PATH} per child after {WARMUP_REQUESTS} "
          f"warm-up; {args.rounds} rounds, raw/mysdk alternating, each a fresh process")
    print()
    print(f"{'Client CPU per keep-alive GET (µs)':<44} {'median':>8} {'min':>8} {'max':>8}"
          f" {'wall med':>9}")
    for label, xs, walls in (("raw requests.Session", req.raw_us, req.raw_wall_us),
                             ("mysdk Client.get", req.mysdk_us, req.mysdk_wall_us)):
        print(f"  {label:<42} {med(xs):8.1f} {min(xs):8.1f} {max(xs):8.1f} {med(walls):9.1f}")
    print(f"  (mysdk/raw per round: {' '.join(f'{r:.3f}' for r in per_round)})")
    print()
    title = f"Import CPU, fresh process (ms, {len(base)} runs)"
    print(f"{title:<44} {'median':>8} {'min':>8} {'max':>8}")
    for label, xs in imports.items():
        print(f"  {label:<42} {med(xs):8.2f} {min(xs):8.2f} {max(xs):8.2f}")
    print()
    print(f"{'Ratio':<52} {'medians':>8} {'mins':>6} {'target':>8}  verdict")
    for label, by_med, by_min, target in ratios:
        print(f"  {label:<50} {by_med:8.3f} {by_min:6.3f} {'<= ' + f'{target:.2f}':>8}  "
              f"{verdict(by_med, by_min, target)}")
    print("  verdict: ratio of medians vs target; '?': the ratio of minimums lands on the")
    print("  other side, i.e. noise exceeds the margin; re-run before trusting it.")
    print()
    req_r, imp_r = ratios[0], ratios[1]
    print(f"Summary: request CPU {req_r[1]:.3f}x raw requests.Session "
          f"(target <= {REQUEST_TARGET:.2f}: {verdict(*req_r[1:])}); "
          f"import mysdk {imp_r[1]:.3f}x import requests "
          f"(target <= {IMPORT_TARGET:.2f}: {verdict(*imp_r[1:])})")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    p.add_argument("--requests", type=int, default=None, metavar="N",
                   help="timed requests per child (default 3000; --quick: 300)")
    p.add_argument("--rounds", type=int, default=None, metavar="R",
                   help="raw/mysdk child pairs; imports run 4*R times each (default 5; "
                        "--quick: 2)")
    p.add_argument("--quick", action="store_true", help="small N and R: a smoke run")
    args = p.parse_args(argv)
    if args.requests is None:
        args.requests = 300 if args.quick else 3000
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if not 1 <= args.requests <= 1_000_000 or not 1 <= args.rounds <= 100:
        p.error("--requests must be 1..1000000 and --rounds 1..100")
    return args


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["--child"]:
        return child_main(argv[1:])
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the parent reads the demo credentials from refserver
    from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    creds = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory(prefix="mysdk-bench-") as tmp:
            env = child_env(str(Path(tmp, "pycache")))
            server = Server(env, tmp)
            try:
                base_url = server.wait_listening(SERVER_START_TIMEOUT)
                print(f"server {base_url}; {args.rounds} rounds x {args.requests} requests",
                      file=sys.stderr, flush=True)
                req = measure_requests(base_url, args.requests, args.rounds, env, creds)
            finally:
                server.stop()
            # Server stopped first: an idle server costs little, but none is less noise.
            imports = measure_imports(4 * args.rounds, env)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    report(args, base_url, req, imports, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
