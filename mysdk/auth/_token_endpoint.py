"""One POST to a token endpoint and the parsing of its answer (RFC 6749 §5)."""

from __future__ import annotations

import time
from typing import Any, Literal
from urllib.parse import quote_plus

import requests

from mysdk._transport import map_request_exception
from mysdk.errors import TokenRequestError, safe_url
from mysdk.tokens.token import Token

__all__ = ["ClientAuthMethod", "request_token"]

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]
"""Client authentication methods of RFC 6749 §2.3.1 (names from RFC 7591 §2)."""

_HEADERS = {"Accept": "application/json"}


def request_token(
    session: requests.Session,
    token_url: str,
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: ClientAuthMethod,
    timeout: Any,
) -> Token:
    """POST a grant to the token endpoint and return the token.

    Sent on ``session`` directly (never the client's API path, so it is neither
    reauthenticated nor retried there) with redirects off, as RFC 6749 §3.2
    token requests must not be replayed to another host.

    Args:
        session: Session carrying the caller's TLS, proxy and mTLS settings.
        token_url: The token endpoint (RFC 6749 §3.2).
        form: Grant parameters, e.g. ``{"grant_type": "client_credentials"}``.
        client_id: The client identifier (RFC 6749 §2.2).
        client_secret: The client secret, or ``None`` for a public client.
        auth_method: ``client_secret_basic`` (HTTP Basic, the default of
            RFC 6749 §2.3.1) or ``client_secret_post`` (form fields).
        timeout: Seconds, a ``(connect, read)`` pair, or ``None``.

    Returns:
        The token, ``issued_at`` set to the moment the request was sent.

    Raises:
        TokenRequestError: An RFC 6749 §5.2 error answer, or a response that is
            not a valid token response (``error="invalid_response"``).
        TransportError: The endpoint could not be reached.
    """
    data = dict(form)
    auth: tuple[str, str] | None = None
    if client_secret is None or auth_method == "client_secret_post":
        data["client_id"] = client_id
        if client_secret is not None:
            data["client_secret"] = client_secret
    else:
        # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
        auth = (quote_plus(client_id), quote_plus(client_secret))
    issued_at = time.time()
    try:
        resp = session.post(
            token_url, data=data, auth=auth, headers=_HEADERS, timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise map_request_exception(exc, "POST", token_url) from exc
    return _parse(resp, token_url, issued_at)


def _parse(resp: requests.Response, token_url: str, issued_at: float) -> Token:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code == 200 and isinstance(body, dict):
        try:
            return Token.from_response(body, issued_at=issued_at)
        except TokenRequestError as exc:  # say which answer was bad (never its body)
            raise TokenRequestError(
                f"{exc.message} [HTTP {resp.status_code} from {safe_url(token_url)}]",
                error=exc.error, status_code=resp.status_code, token_url=token_url,
            ) from None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        error = body["error"]
        description = body.get("error_description")
        description = description if isinstance(description, str) else None
    else:
        error, description = "invalid_response", "the token endpoint did not answer with JSON"
    text = f"token request refused: {error}" + (f" ({description})" if description else "")
    raise TokenRequestError(
        f"{text} [HTTP {resp.status_code} from {safe_url(token_url)}]",
        error=error,
        error_description=description,
        status_code=resp.status_code,
        token_url=token_url,
    )
