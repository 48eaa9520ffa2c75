"""The login demo: a device login approved headlessly, then later processes reuse it.

Run with ``make login-demo`` (or ``python -m examples.login_demo`` inside the venv).
It starts the reference server, then runs the ``mysdk`` command in separate
processes, as a user at a terminal would:

1. ``mysdk auth login --device`` prints a URL and a code; the demo reads the code
   from that prompt and approves it at the server's approval route (the part a
   person does in a browser), and the login is saved in a private token directory;
2. ``mysdk auth status`` shows the saved login (never a token);
3. ``mysdk call POST /api/v1/cars`` and ``GET`` run with no prompt and no token
   request: the saved access token is used;
4. the server ends every access token (as time would); the next ``mysdk call``
   refreshes once with the saved refresh token (rotated) and carries on;
5. ``mysdk auth logout`` revokes the refresh and access tokens and removes the
   saved login; ``mysdk auth status`` then says "not logged in" (exit 4).

The server's counters are printed after each step. Exit status: 0 on success; 1
with a message naming the step that went wrong.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shlex
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from refserver import DEFAULT_PUBLIC_CLIENT_ID, RunningServer, ServerConfig, start_server

STEP_TIMEOUT = 60.0  # seconds any one command may take
_CODE = re.compile(r"code:\s+([A-Z]{4}-[A-Z]{4})")
_ROOT = Path(__file__).resolve().parent.parent


class DemoError(Exception):
    """A step did not do what the demo expects."""


def mysdk(args: Sequence[str], env: dict[str, str], *, expect: int = 0) -> str:
    """Run ``python -m mysdk ARGS``; echo its output; return its stdout."""
    print(f"$ mysdk {shlex.join(args)}")
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "mysdk", *args], env=env, cwd=_ROOT, capture_output=True,
            text=True, timeout=STEP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise DemoError(f"`mysdk {' '.join(args)}` did not finish in {STEP_TIMEOUT:g} s") from None
    for line in (done.stderr + done.stdout).splitlines():
        print(f"  {line}".rstrip())
    if done.returncode != expect:
        raise DemoError(f"`mysdk {' '.join(args)}` exited {done.returncode}, not {expect}")
    return done.stdout


def device_login(server: RunningServer, env: dict[str, str]) -> None:
    """Step 1: log in with a device code, approved by reading the prompt."""
    print("$ mysdk auth login --device")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mysdk", "auth", "login", "--device"], env=env, cwd=_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        approved = False
        while True:
            try:
                line = lines.get(timeout=STEP_TIMEOUT)
            except queue.Empty:
                raise DemoError("the device login printed nothing for too long") from None
            if line is None:
                break
            print(f"  {line}".rstrip())
            found = _CODE.search(line)
            if found and not approved:
                print(f"  [demo: the user approves code {found.group(1)} in a browser]")
                approved = server.decide_device(found.group(1))
                if not approved:
                    raise DemoError(f"the server did not accept code {found.group(1)}")
        code = proc.wait(STEP_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None and lines.empty():
            proc.stdout.close()
    if code != 0:
        raise DemoError(f"`mysdk auth login --device` exited {code}")
    if not approved:
        raise DemoError("the device login never showed a code")


def counters(server: RunningServer) -> None:
    stats = server.stats.snapshot()
    grants = ", ".join(f"{g.rsplit(':', 1)[-1]}={n}"
                       for g, n in sorted(stats["token_requests_by_grant"].items()))
    print(f"  [server: token requests {grants or 'none'}; tokens revoked "
          f"{stats['revocations']}; API requests {stats['api_requests']}]\n")


def run(token_dir: str) -> None:
    config = ServerConfig(device_interval=1, access_token_lifetime=600)
    with start_server(config) as server:
        print(f"reference server (issuer) on {server.issuer}\n")
        env = {**os.environ, "MYSDK_ISSUER": server.issuer,
               "MYSDK_CLIENT_ID": DEFAULT_PUBLIC_CLIENT_ID, "MYSDK_SCOPE": "cars:read cars:write",
               "MYSDK_BASE_URL": server.base_url, "MYSDK_TOKEN_DIR": token_dir,
               "PYTHONUNBUFFERED": "1"}
        env.pop(SECRET_ENV, None)
        device_login(server, env)
        counters(server)
        mysdk(["auth", "status"], env)
        mysdk(["call", "POST", "/api/v1/cars", "--json",
               '{"make": "Volvo", "model": "240", "year": 1989}'], env)
        mysdk(["call", "GET", "/api/v1/cars"], env)
        counters(server)
        if server.stats.token_requests_by_grant.get("refresh_token"):
            raise DemoError("a fresh saved login made a refresh request")
        print(f"[demo: the server ends {server.expire_access_tokens()} access token(s), "
              "as time would]")
        mysdk(["call", "GET", "/api/v1/cars/1"], env)
        counters(server)
        if server.stats.token_requests_by_grant.get("refresh_token") != 1:
            raise DemoError("the saved login was not refreshed exactly once")
        mysdk(["auth", "logout"], env)
        mysdk(["auth", "status"], env, expect=4)
        counters(server)
        left = sorted(p.name for p in Path(token_dir).iterdir() if p.suffix != ".lock")
        print(f"token directory after logout: {left or 'no token files'}")
        if left:
            raise DemoError(f"files left in the token directory: {left}")


SECRET_ENV = "MYSDK_CLIENT_SECRET"  # noqa: S105 - a variable name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mysdk-login-demo-") as token_dir:
        try:
            run(token_dir)
        except DemoError as exc:
            print(f"login demo failed: {exc}", file=sys.stderr)
            return 1
    print("\nlogin demo finished: one device login, reused by later processes with no prompt "
          "and one refresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
