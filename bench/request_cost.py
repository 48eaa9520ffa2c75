"""Client-side cost of mysdk: CPU per keep-alive GET and CPU of ``import mysdk``.

Method
------
Request cost. The reference server (``python -m refserver --port 0``) runs as its
own process, so its CPU is never charged to the client. Each measurement is a
fresh child process (``request_cost.py --child KIND URL N ...``) that warms up
with 200 requests (the first one fetches the token where there is one), then
reads ``time.process_time()`` (CPU of the child process only: user + system, all
threads) around N keep-alive GETs and prints one JSON line. Kinds compared with
each other do the same useful work:

Sync, ``GET /api/v1/ping`` with an OAuth2 token from the server's token endpoint:

* ``raw``:   ``requests.Session().get(url, headers={"Authorization": ...},
  timeout=(5.0, 30.0))``, then ``raise_for_status()`` and ``.json()``; the token
  is fetched once by hand.
* ``mysdk``: ``mysdk.Client(base_url=..., auth=mysdk.ClientCredentials(...))``
  and ``client.get("/api/v1/ping")``: auth (token manager), error mapping and
  JSON decoding on, default retry policy, no rate limiter, no event hook; on the
  session the client creates.
* ``mysdk-session``: the same on a caller's ``requests.Session`` (``session=``).

Async, ``GET /healthz`` (which ignores the bearer) with a fixed bearer ``t``,
inside ``asyncio.run`` on the default event loop:

* ``httpx``: ``await http.get(url, headers={"Authorization": "Bearer t"},
  timeout=httpx.Timeout(connect=5, read=30, write=30, pool=5))`` on a caller's
  ``httpx.AsyncClient()``, then ``raise_for_status()`` and ``.json()``.
* ``mysdk-async``: ``mysdk.AsyncClient(base_url=..., auth=mysdk.StaticToken("t"),
  http_client=http)`` on the same kind of caller's ``httpx.AsyncClient`` and
  ``await client.get("/healthz")`` (the same timeouts: mysdk's default).

  When sniffio is not installed, both async kinds first put ``None`` in
  ``sys.modules["sniffio"]``: httpcore 1.0 imports it on every async lock and
  event set-up, and a failed import scans ``sys.path``, a third of a raw httpx
  request's cost that is no part of either client (see ``_skip_missing_sniffio``).

All kinds run in turn for R rounds (the order rotates every round, so drift in
machine load hits every kind); the report gives the median µs/request of each,
min and max, and the ratios of the medians and of the minimums. Each child also
reports how many new TCP connections its measured loop opened: it must be 0
(keep-alive); otherwise the run counts as failed, because it would not measure
what it claims.

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
costs 3 % more CPU per call than bare ``requests`` (or bare ``httpx``). min/max across rounds show
the noise; a ratio closer to its target than that spread is not a reliable
PASS or MISS, so re-run or raise ``--requests``/``--rounds``. Exit status is 0
whether the targets are met or not (this is a report); it is non-zero only when
the benchmark itself failed (server did not start, a child failed or timed out,
keep-alive was not in effect).

Usage::

    .venv/bin/python bench/request_cost.py                 # N=3000, R=5, all kinds
    .venv/bin/python bench/request_cost.py --quick         # smoke run
    .venv/bin/python bench/request_cost.py --requests 5000 --rounds 7
    .venv/bin/python bench/request_cost.py --kinds httpx,mysdk-async   # async only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

IMPORT_TARGET = 1.10  # import mysdk / import requests, CPU


@dataclass(frozen=True)
class Comparison:
    """One ratio the report checks: CPU (or instructions) of ``kind`` / ``baseline``."""

    label: str
    kind: str
    baseline: str
    target: float


# CPU per keep-alive GET; request_instructions.py checks the same ratios.
COMPARISONS = (
    Comparison("sync  mysdk Client, own session / raw Session", "mysdk", "raw", 0.85),
    Comparison("sync  mysdk Client, caller's session / raw", "mysdk-session", "raw", 1.00),
    Comparison("async mysdk AsyncClient / raw httpx.AsyncClient", "mysdk-async", "httpx", 1.05),
)

WARMUP_REQUESTS = 200
HTTP_TIMEOUT = (5.0, 30.0)  # the same (connect, read) timeout mysdk uses by default
PING_PATH = "/api/v1/ping"
TOKEN_PATH = "/oauth/token"
ASYNC_PATH = "/healthz"  # answers without checking the bearer: a fixed token will do
STATIC_TOKEN = "t"

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
    for _ in range(n):  # the timed loop: keep it identical in shape to _sync_client_loop's
        r = session.get(url, headers=headers, timeout=HTTP_TIMEOUT)
        r.raise_for_status()
        body = r.json()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    new_conns = pool.num_connections - conns
    session.close()
    return _child_result("raw", n, cpu, wall, new_conns, body, {"pong": True})


def _child_mysdk(base_url: str, n: int, client_id: str, secret: str) -> dict[str, Any]:
    """mysdk.Client on the session it creates."""
    import mysdk

    client = mysdk.Client(
        base_url=base_url,
        auth=mysdk.ClientCredentials(
            token_url=base_url + TOKEN_PATH, client_id=client_id, client_secret=secret,
        ),
    )
    try:
        return _sync_client_loop("mysdk", client, n)
    finally:
        client.close()


def _child_mysdk_session(base_url: str, n: int, client_id: str, secret: str) -> dict[str, Any]:
    """mysdk.Client on a caller's plain ``requests.Session()``."""
    import requests

    import mysdk

    session = requests.Session()
    client = mysdk.Client(
        base_url=base_url, session=session,
        auth=mysdk.ClientCredentials(
            token_url=base_url + TOKEN_PATH, client_id=client_id, client_secret=secret,
        ),
    )
    try:
        return _sync_client_loop("mysdk-session", client, n)
    finally:
        client.close()
        session.close()


def _sync_client_loop(kind: str, client: Any, n: int) -> dict[str, Any]:
    url = client.base_url + PING_PATH
    # Read-only peek at the session, only to count connections.
    pool = client.session.get_adapter(url).poolmanager.connection_from_url(url)

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
    return _child_result(kind, n, cpu, wall, new_conns, body, {"pong": True})


def _skip_missing_sniffio() -> bool:
    """Make httpcore's ``import sniffio`` fail at once when sniffio is not installed.

    httpcore 1.0 imports sniffio each time it sets up an async lock or event and
    falls back to asyncio when that fails; a failed import scans ``sys.path``: about
    a third of a raw httpx request's instructions in both async kinds, a few per cent
    dearer after ``import mysdk``, and varying with how recently those directories
    changed (so counts drift from run to run). ``None`` in ``sys.modules`` keeps the
    same outcome (ImportError, asyncio) without the scan, so the ratio compares
    httpx's and mysdk's own work. Returns True when applied.
    """
    import importlib.util

    if "sniffio" in sys.modules or importlib.util.find_spec("sniffio") is not None:
        return False
    sys.modules["sniffio"] = None  # type: ignore[assignment]
    return True


def _httpx_connections(http: Any) -> list[object]:
    """The connections in an ``httpx.AsyncClient``'s pool (a read-only peek at httpcore)."""
    return list(http._transport._pool.connections)


def _new_connections(before: list[object], after: list[object]) -> int:
    # Identity, not id(): `before` keeps its objects alive, so no address is reused.
    return sum(1 for conn in after if not any(conn is old for old in before))


def _child_httpx(base_url: str, n: int, client_id: str, secret: str) -> dict[str, Any]:
    """Raw ``httpx.AsyncClient``: the same GET with the bearer set by hand."""
    skipped = _skip_missing_sniffio()
    import httpx

    async def run() -> dict[str, Any]:
        url = base_url + ASYNC_PATH
        headers = {"Authorization": f"Bearer {STATIC_TOKEN}"}
        timeout = httpx.Timeout(connect=HTTP_TIMEOUT[0], read=HTTP_TIMEOUT[1],
                                write=HTTP_TIMEOUT[1], pool=HTTP_TIMEOUT[0])
        async with httpx.AsyncClient() as http:
            body: Any = None
            for _ in range(WARMUP_REQUESTS):
                r = await http.get(url, headers=headers, timeout=timeout)
                r.raise_for_status()
                body = r.json()
            before = _httpx_connections(http)
            wall = time.perf_counter()
            cpu = time.process_time()
            for _ in range(n):  # keep it identical in shape to _child_mysdk_async's
                r = await http.get(url, headers=headers, timeout=timeout)
                r.raise_for_status()
                body = r.json()
            cpu = time.process_time() - cpu
            wall = time.perf_counter() - wall
            new_conns = _new_connections(before, _httpx_connections(http))
        return {**_child_result("httpx", n, cpu, wall, new_conns, body, {"status": "ok"}),
                "sniffio_skipped": skipped}

    return asyncio.run(run())


def _child_mysdk_async(base_url: str, n: int, client_id: str, secret: str) -> dict[str, Any]:
    """``mysdk.AsyncClient`` with a fixed bearer on a caller's ``httpx.AsyncClient``."""
    skipped = _skip_missing_sniffio()
    import httpx

    import mysdk

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            client = mysdk.AsyncClient(base_url=base_url, http_client=http,
                                       auth=mysdk.StaticToken(STATIC_TOKEN))
            body: Any = None
            for _ in range(WARMUP_REQUESTS):
                body = await client.get(ASYNC_PATH)
            before = _httpx_connections(http)
            wall = time.perf_counter()
            cpu = time.process_time()
            for _ in range(n):
                body = await client.get(ASYNC_PATH)
            cpu = time.process_time() - cpu
            wall = time.perf_counter() - wall
            new_conns = _new_connections(before, _httpx_connections(http))
            await client.aclose()  # leaves the caller's httpx client open
        return {**_child_result("mysdk-async", n, cpu, wall, new_conns, body,
                                {"status": "ok"}), "sniffio_skipped": skipped}

    return asyncio.run(run())


def _child_result(
    kind: str, n: int, cpu: float, wall: float, new_conns: int, body: Any, expected: Any,
) -> dict[str, Any]:
    if body != expected:
        raise BenchError(f"{kind}: unexpected body {body!r}")
    return {
        "kind": kind, "n": n, "cpu_s": cpu, "cpu_us_per_req": cpu / max(n, 1) * 1e6,
        "wall_us_per_req": wall / max(n, 1) * 1e6, "new_connections": new_conns,
    }


Child = Callable[[str, int, str, str], dict[str, Any]]

#: Every kind of child, in report order: kind -> (label, runner).
KINDS: dict[str, tuple[str, Child]] = {
    "raw": ("raw requests.Session", _child_raw),
    "mysdk": ("mysdk Client.get, own session", _child_mysdk),
    "mysdk-session": ("mysdk Client.get, caller's session", _child_mysdk_session),
    "httpx": ("raw httpx.AsyncClient", _child_httpx),
    "mysdk-async": ("mysdk AsyncClient.get, caller's httpx", _child_mysdk_async),
}
SYNC_KINDS = ("raw", "mysdk", "mysdk-session")
ASYNC_KINDS = ("httpx", "mysdk-async")


def child_main(argv: Sequence[str]) -> int:
    """``--child KIND URL N CLIENT_ID SECRET``: one measurement, one JSON line."""
    kind, base_url, n_text, client_id, secret = argv
    n = int(n_text)
    result = KINDS[kind][1](base_url, n, client_id, secret)
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
    """Per kind, one figure per round (µs per request)."""

    cpu_us: dict[str, list[float]]
    wall_us: dict[str, list[float]]
    sniffio_skipped: bool = False  # see _skip_missing_sniffio


def round_order(kinds: Sequence[str], i: int) -> list[str]:
    """Round ``i``'s order: rotated by ``i``, reversed every other round, so no kind
    keeps its place next to another."""
    k = i % len(kinds)
    order = [*kinds[k:], *kinds[:k]]
    return order[::-1] if i % 2 else order


def measure_requests(
    base_url: str, n: int, rounds: int, env: dict[str, str], creds: tuple[str, str],
    kinds: Sequence[str],
) -> RequestRun:
    # Generous: the server answers in ~1 ms; 20 ms/request means something is wrong.
    timeout = 60.0 + (n + WARMUP_REQUESTS) * 0.02
    run = RequestRun({k: [] for k in kinds}, {k: [] for k in kinds})
    for i in range(rounds):
        for kind in round_order(kinds, i):
            line = run_child(
                [sys.executable, str(Path(__file__).resolve()), "--child", kind, base_url,
                 str(n), *creds], env, timeout)
            res = json.loads(line)
            if res["new_connections"] != 0:
                raise BenchError(f"{kind}: {res['new_connections']} new connection(s) in the "
                                 "timed loop; keep-alive is not in effect")
            cpu, wall = float(res["cpu_us_per_req"]), float(res["wall_us_per_req"])
            run.cpu_us[kind].append(cpu)
            run.wall_us[kind].append(wall)
            run.sniffio_skipped |= bool(res.get("sniffio_skipped"))
            print(f"  round {i + 1}/{rounds} {kind:<13} {cpu:8.1f} µs/req CPU "
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
    measured = [c for c in COMPARISONS if c.kind in req.cpu_us and c.baseline in req.cpu_us]
    # (label, ratio of medians, ratio of minimums, target)
    ratios = [
        (c.label, med(req.cpu_us[c.kind]) / med(req.cpu_us[c.baseline]),
         min(req.cpu_us[c.kind]) / min(req.cpu_us[c.baseline]), c.target)
        for c in measured]
    base = imports.get("import requests", [])
    ratios += [(f"import {label} / import requests", med(imports[label]) / med(base),
                min(imports[label]) / min(base), IMPORT_TARGET)
               for label in ("import mysdk", "from mysdk import Client") if base]

    versions = f"requests {requests.__version__}"
    if any(k in ASYNC_KINDS for k in req.cpu_us):
        import httpx

        versions += f", httpx {httpx.__version__}"
    print(f"mysdk client cost  (Python {platform.python_version()}, {versions}, "
          f"{os.cpu_count()} CPUs)")
    # Other work on the machine inflates CPU time too (shared caches, SMT): say how busy it was.
    print(f"server: refserver in a separate process at {base_url}; load average (1 min) "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"{args.requests} keep-alive GETs per child after {WARMUP_REQUESTS} warm-up; "
          f"{args.rounds} rounds, kinds in rotating order, each child a fresh process")
    sections: tuple[tuple[str, Sequence[str]], ...] = (
        (f"Sync: client CPU per keep-alive GET {PING_PATH} (µs)", SYNC_KINDS),
        (f"Async: client CPU per keep-alive GET {ASYNC_PATH} (µs)", ASYNC_KINDS))
    for title, group in sections:
        kinds = [k for k in group if k in req.cpu_us]
        if not kinds:
            continue
        print()
        print(f"{title:<50} {'median':>8} {'min':>8} {'max':>8} {'wall med':>9}")
        for kind in kinds:
            xs = req.cpu_us[kind]
            print(f"  {KINDS[kind][0]:<48} {med(xs):8.1f} {min(xs):8.1f} {max(xs):8.1f} "
                  f"{med(req.wall_us[kind]):9.1f}")
        for c in measured:
            if c.kind in kinds:
                per_round = [m / r for r, m in
                             zip(req.cpu_us[c.baseline], req.cpu_us[c.kind], strict=True)]
                print(f"  ({c.kind}/{c.baseline} per round: "
                      f"{' '.join(f'{r:.3f}' for r in per_round)})")
        if req.sniffio_skipped and kinds[0] in ASYNC_KINDS:
            print("  (sniffio is not installed: httpcore's per-lock `import sniffio` fails at "
                  "once in both kinds,\n   not after a sys.path scan; see "
                  "_skip_missing_sniffio)")
    if imports:
        print()
        title = f"Import CPU, fresh process (ms, {len(base)} runs)"
        print(f"{title:<50} {'median':>8} {'min':>8} {'max':>8}")
        for label, xs in imports.items():
            print(f"  {label:<48} {med(xs):8.2f} {min(xs):8.2f} {max(xs):8.2f}")
    print()
    print(f"{'Ratio (CPU)':<52} {'medians':>8} {'mins':>6} {'target':>8}  verdict")
    for label, by_med, by_min, target in ratios:
        print(f"  {label:<50} {by_med:8.3f} {by_min:6.3f} {'<= ' + f'{target:.2f}':>8}  "
              f"{verdict(by_med, by_min, target)}")
    print("  verdict: ratio of medians vs target; '?': the ratio of minimums lands on the")
    print("  other side, i.e. noise exceeds the margin; re-run before trusting it.")
    print()
    print("Summary (ratio of medians):")
    for label, by_med, by_min, target in ratios:
        print(f"  {label}: {by_med:.3f}x (target <= {target:.2f}: "
              f"{verdict(by_med, by_min, target)})")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    p.add_argument("--requests", type=int, default=None, metavar="N",
                   help="timed requests per child (default 3000; --quick: 300)")
    p.add_argument("--rounds", type=int, default=None, metavar="R",
                   help="rounds of every kind; imports run 4*R times each (default 5; "
                        "--quick: 2)")
    p.add_argument("--kinds", default=",".join(KINDS), metavar="K,K",
                   help=f"comma-separated kinds to measure (default: all: {','.join(KINDS)})")
    p.add_argument("--no-imports", action="store_true", help="skip the import measurement")
    p.add_argument("--quick", action="store_true", help="small N and R: a smoke run")
    args = p.parse_args(argv)
    if args.requests is None:
        args.requests = 300 if args.quick else 3000
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if not 1 <= args.requests <= 1_000_000 or not 1 <= args.rounds <= 100:
        p.error("--requests must be 1..1000000 and --rounds 1..100")
    asked = {k.strip() for k in args.kinds.split(",") if k.strip()}
    if not asked or asked - set(KINDS):
        p.error(f"--kinds: one or more of {', '.join(KINDS)}")
    args.kinds = [k for k in KINDS if k in asked]  # report order
    return args


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["--child"]:
        return child_main(argv[1:])
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the parent reads the demo credentials from refserver
    from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    creds = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    load_before = os.getloadavg()[0]
    imports: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="mysdk-bench-") as tmp:
            env = child_env(str(Path(tmp, "pycache")))
            server = Server(env, tmp)
            try:
                base_url = server.wait_listening(SERVER_START_TIMEOUT)
                print(f"server {base_url}; {args.rounds} rounds x {args.requests} requests "
                      f"x {len(args.kinds)} kinds", file=sys.stderr, flush=True)
                req = measure_requests(base_url, args.requests, args.rounds, env, creds,
                                       args.kinds)
            finally:
                server.stop()
            # Server stopped first: an idle server costs little, but none is less noise.
            if not args.no_imports:
                imports = measure_imports(4 * args.rounds, env)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    report(args, base_url, req, imports, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
