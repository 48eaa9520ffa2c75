"""The ``mysdk`` command: log in, show the login, print a token, call the API.

::

    mysdk auth login [--device | --browser] [--qr]
    mysdk auth status
    mysdk auth token
    mysdk auth logout
    mysdk call METHOD PATH [--json BODY]

The issuer, client id and scope come from ``--issuer``, ``--client-id`` and
``--scope`` or from ``MYSDK_ISSUER``, ``MYSDK_CLIENT_ID`` and ``MYSDK_SCOPE``; a
confidential client's secret from ``MYSDK_CLIENT_SECRET`` only (a flag would
show in ``ps``). The login is saved in the file token cache (``--token-dir`` or
``MYSDK_TOKEN_DIR``, default a per-user cache directory), so every later
command, in any process, uses it without a prompt.

Exit codes: 0 success; 1 failure (the message says why); 2 bad usage; 4 not
logged in, or the login has ended (log in again); 130 cancelled (Ctrl-C).
Messages go to stderr; stdout carries only data (``auth token``, ``call``).

Built on the standard library's ``argparse``: importing it costs about 10 ms
and adds no dependency, where click or typer would add one (typer also pulls in
rich: over 100 ms per command).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

__all__ = ["EXIT_CANCELLED", "EXIT_ERROR", "EXIT_LOGIN_REQUIRED", "EXIT_USAGE", "main"]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_LOGIN_REQUIRED = 4
EXIT_CANCELLED = 130

ENV = {
    "issuer": "MYSDK_ISSUER",
    "client_id": "MYSDK_CLIENT_ID",
    "scope": "MYSDK_SCOPE",
    "token_dir": "MYSDK_TOKEN_DIR",
    "base_url": "MYSDK_BASE_URL",
}
SECRET_ENV = "MYSDK_CLIENT_SECRET"  # noqa: S105 - a variable name, not a secret
LOGIN_HINT = "run `mysdk auth login`"

_EPILOG = (
    "environment: MYSDK_ISSUER, MYSDK_CLIENT_ID, MYSDK_SCOPE, MYSDK_TOKEN_DIR, MYSDK_BASE_URL "
    "(used when the flag is not given); MYSDK_CLIENT_SECRET for a confidential client. "
    "exit codes: 0 ok, 1 failure, 2 usage, 4 not logged in, 130 cancelled."
)


class UsageError(Exception):
    """A missing or malformed argument (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mysdk`` (every command has ``--help``)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--issuer", help="issuer URL of the authorization server, whose "
                        "endpoints are discovered (env MYSDK_ISSUER)")
    common.add_argument("--client-id", help="OAuth client id (env MYSDK_CLIENT_ID)")
    common.add_argument("--scope", help="space-separated scopes (env MYSDK_SCOPE)")
    common.add_argument("--token-dir", help="where the login is saved (env MYSDK_TOKEN_DIR; "
                        "default: a per-user cache directory)")
    common.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="per-request read timeout (default 30)")

    parser = argparse.ArgumentParser(
        prog="mysdk", description="Log in to the API's authorization server and call the API.",
        epilog=_EPILOG)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    auth = commands.add_parser("auth", help="log in, show the login, print a token, log out",
                               description="Manage the saved login.", epilog=_EPILOG)
    auth_commands = auth.add_subparsers(title="auth commands", metavar="COMMAND")
    auth.set_defaults(handler=_help(auth))

    login = auth_commands.add_parser(
        "login", parents=[common], epilog=_EPILOG,
        help="log in (device code by default, or in the browser) and save the login",
        description="Log in and save the login, so later commands need no prompt.")
    how = login.add_mutually_exclusive_group()
    how.add_argument("--device", dest="method", action="store_const", const="device",
                     help="show a URL and a code to approve in any browser (default; RFC 8628)")
    how.add_argument("--browser", dest="method", action="store_const", const="browser",
                     help="open a browser on this machine (authorization code + PKCE)")
    login.add_argument("--qr", action="store_true",
                       help="also draw the device login URL as a QR code (extra: mysdk[qr])")
    login.set_defaults(handler=_login, method="device")

    status = auth_commands.add_parser(
        "status", parents=[common], epilog=_EPILOG, help="show the saved login (never a token)",
        description="Show the issuer, client, scopes and expiry of the saved login.")
    status.set_defaults(handler=_status)

    token = auth_commands.add_parser(
        "token", parents=[common], epilog=_EPILOG,
        help="print a valid access token (refreshed if needed), for piping",
        description="Print the access token of the saved login to stdout, refreshing it "
                    "first if it has expired. Treat the output as a secret.")
    token.set_defaults(handler=_token)

    logout = auth_commands.add_parser(
        "logout", parents=[common], epilog=_EPILOG,
        help="revoke the saved login's tokens and forget the login",
        description="Revoke the refresh token, then the access token (RFC 7009), and remove "
                    "the saved login even when the server cannot be reached.")
    logout.set_defaults(handler=_logout)

    call = commands.add_parser(
        "call", parents=[common], epilog=_EPILOG,
        help="call the API with the saved login and print the JSON answer",
        description="Send one request to the API with the saved login; print the JSON answer.")
    call.add_argument("method", metavar="METHOD", help="GET, POST, PUT, PATCH or DELETE")
    call.add_argument("path", metavar="PATH", help="path under the base URL, e.g. /api/v1/cars")
    call.add_argument("--json", dest="body", metavar="BODY",
                      help="JSON request body; '-' reads it from stdin")
    call.add_argument("--base-url", help="the API's base URL (env MYSDK_BASE_URL)")
    call.set_defaults(handler=_call)
    parser.set_defaults(handler=_help(parser))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mysdk`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    from mysdk.auth.login_errors import LoginRequiredError
    from mysdk.errors import MySDKError

    try:
        return handler(args)
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"mysdk: {exc}\n")
    except KeyboardInterrupt:
        _err("mysdk: cancelled")
        return EXIT_CANCELLED
    except LoginRequiredError as exc:
        _err(f"mysdk: {exc}")
        return EXIT_LOGIN_REQUIRED
    except MySDKError as exc:
        _err(f"mysdk: {exc}")
        return EXIT_ERROR
    return EXIT_ERROR  # pragma: no cover - parser.exit raises


# -- commands ---------------------------------------------------------------------------------


def _help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return show


def _login(args: argparse.Namespace) -> int:
    login, cache = _setup(args)
    timeout = _timeout(args)
    if args.method == "browser":
        token = login.browser(cache=cache, timeout=timeout, open_browser=_open_browser)
    else:
        from mysdk.auth.device import TerminalPrompt

        token = login.device(cache=cache, timeout=timeout, prompt=TerminalPrompt(qr=args.qr))
    scopes = token.scope or login.scope or "(as the server decided)"
    _err(f"Logged in to {login.identity} as client {login.client_id} (scopes: {scopes}).")
    return 0


def _status(args: argparse.Namespace) -> int:
    login, cache = _setup(args)
    token = login.saved(cache)
    if token is None:
        _err(f"Not logged in to {login.identity} as client {login.client_id}; {LOGIN_HINT}.")
        return EXIT_LOGIN_REQUIRED
    lines = [
        f"Logged in to {login.identity}",
        f"  client:        {login.client_id}",
        f"  scopes:        {token.scope or login.scope or '(not stated)'}",
        f"  access token:  {_expiry(token.expires_at)}",
        f"  refresh token: {'saved' if token.refresh_token else 'none (log in again at expiry)'}",
    ]
    _err("\n".join(lines))
    return 0


def _token(args: argparse.Namespace) -> int:
    import requests

    from mysdk.auth.manager import TokenManager

    login, cache = _setup(args)
    with requests.Session() as session:
        token = TokenManager(login, cache, session=session, timeout=_timeout(args)).token()
    sys.stdout.write(token.access_token + "\n")
    return 0


def _logout(args: argparse.Namespace) -> int:
    login, cache = _setup(args)
    result = login.logout(cache=cache, timeout=_timeout(args))
    if not result.was_logged_in:
        _err(f"Not logged in to {login.identity} as client {login.client_id}; nothing to do.")
        return 0
    for error in result.errors:
        _err(f"mysdk: warning: could not revoke at the server: {error}")
    revoked = " and ".join(h.replace("_", " ") for h in result.revoked) or "nothing"
    _err(f"Logged out of {login.identity} (revoked: {revoked}; the saved login was removed).")
    return 0 if result.ok else EXIT_ERROR


def _call(args: argparse.Namespace) -> int:
    import mysdk

    base_url = _required(args, "base_url", "--base-url")
    body = _body(args.body, sys.stdin)
    login, cache = _setup(args)
    with mysdk.Client(base_url=base_url, auth=login, token_cache=cache,
                      timeout=_timeout(args)) as client:
        resp = client.request(args.method.upper(), args.path, json=body)
    if resp.content:
        try:
            shown = json.dumps(resp.json(), indent=2, ensure_ascii=False)
        except ValueError:
            shown = resp.text
        sys.stdout.write(shown + "\n")
    return 0


# -- helpers ----------------------------------------------------------------------------------


def _setup(args: argparse.Namespace) -> tuple[Any, Any]:
    from mysdk.auth.login import Login

    issuer = _required(args, "issuer", "--issuer")
    client_id = _required(args, "client_id", "--client-id")
    login = Login(issuer=issuer, client_id=client_id, scope=_value(args, "scope"),
                  client_secret=os.environ.get(SECRET_ENV) or None, login_hint=LOGIN_HINT)
    return login, _cache(_value(args, "token_dir"))


def _cache(directory: str | None) -> Any:
    try:
        from mysdk.tokens.file import FileTokenCache
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    try:
        return FileTokenCache(directory)
    except OSError as exc:
        raise UsageError(f"cannot use the token directory: {exc}") from None


def _value(args: argparse.Namespace, name: str) -> str | None:
    """The flag's value, else the environment variable's, else None."""
    value: str | None = getattr(args, name, None) or os.environ.get(ENV[name]) or None
    return value


def _required(args: argparse.Namespace, name: str, flag: str) -> str:
    value = _value(args, name)
    if value is None:
        raise UsageError(f"{flag} is required (or set {ENV[name]})")
    return value


def _timeout(args: argparse.Namespace) -> tuple[float, float]:
    seconds = float(args.timeout)
    if not 0 < seconds < float("inf"):
        raise UsageError("--timeout must be a positive number of seconds")
    return (min(5.0, seconds), seconds)


def _body(text: str | None, stdin: IO[str]) -> Any:
    if text is None:
        return None
    raw = stdin.read() if text == "-" else text
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"--json is not valid JSON ({exc.__class__.__name__}: line "
                         f"{getattr(exc, 'lineno', '?')})") from None


def _expiry(expires_at: float | None) -> str:
    if expires_at is None:
        return "expiry unknown (refreshed when refused)"
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires_at))
    left = expires_at - time.time()
    if left <= 0:
        return f"expired at {when} (refreshed on next use)"
    return f"valid until {when} (in {_duration(left)})"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m {secs}s"


def _open_browser(url: str) -> None:
    import webbrowser

    _err(f"Opening your browser to log in. If it does not open, visit:\n\n    {url}\n")
    webbrowser.open(url)


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
