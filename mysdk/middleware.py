"""Middleware: code an SDK runs around every attempt, without overriding anything.

A middleware sees each attempt's outgoing request (after credentials are set,
so it can sign it), each response, and each transport error, with the name of
the operation. Middleware run in the order given, for every attempt: retries,
the 401 replay and redirect hops included. With none registered the request
path skips this entirely.

Example::

    class Signer(mysdk.Middleware):
        def before_send(self, request: mysdk.OutgoingRequest) -> None:
            request.headers["X-Signature"] = sign(request.method, request.url, request.body)

        def after_response(self, request, response) -> bool:
            # a 409 "busy" from this API is transient: let the retry policy retry it
            return response.status_code == 409 and b"busy" in response.content
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import requests

from mysdk.errors import MySDKError

__all__ = ["Middleware", "OutgoingRequest"]


class OutgoingRequest:
    """One attempt about to be sent.

    Attributes:
        operation: The operation's name, e.g. ``"cats.get"`` or ``"GET /cats"``.
        method: HTTP method, upper case.
        url: Absolute URL without the query string.
        params: Query parameters (read-only), or None.
        headers: Headers to send; a middleware may add or change them.
        body: The body as it will be sent when it is bytes (JSON and raw
            bytes bodies), else None (forms, files, streams).
        attempt: 1-based attempt number of the call.
    """

    __slots__ = ("attempt", "body", "headers", "method", "operation", "params", "url")

    def __init__(self, *, operation: str, method: str, url: str,
                 params: Mapping[str, Any] | None, headers: MutableMapping[str, str],
                 body: bytes | None, attempt: int) -> None:
        self.operation = operation
        self.method = method
        self.url = url
        self.params = params
        self.headers = headers
        self.body = body
        self.attempt = attempt

    def __repr__(self) -> str:
        return (f"OutgoingRequest({self.operation!r}, {self.method} {self.url}, "
                f"attempt={self.attempt})")


class Middleware:
    """Subclass and override the steps you need; the defaults do nothing."""

    def before_send(self, request: OutgoingRequest) -> None:
        """Called before each attempt is sent; may change ``request.headers``."""

    def after_response(self, request: OutgoingRequest, response: requests.Response) -> bool:
        """Called with each response (any status, body already read).

        Returns:
            True to mark the response retryable: the call's retry policy then
            treats it like a retryable status (attempts, budget and the
            replay-safety rules still apply); after the last attempt a 2xx is
            raised as :class:`~mysdk.errors.APIResponseError`.
        """
        return False

    def on_error(self, request: OutgoingRequest, error: MySDKError) -> None:
        """Called when an attempt fails without a response (a transport error)."""
