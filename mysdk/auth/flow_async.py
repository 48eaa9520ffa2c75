"""The async driver of token flows (:mod:`mysdk.auth.flow`), over httpx.

The same flows as the sync :func:`~mysdk.auth.flow.run_token_flow` drives:
only the steps are performed differently, a
:class:`~mysdk.auth.flow.TokenPost` by
:func:`~mysdk.auth._token_endpoint_async.arequest_token` and a
:class:`~mysdk.auth.flow.MetadataRequest` by
:func:`~mysdk.auth.discovery.adiscover`.

Imported only on the async path: httpx is the ``async`` extra.
"""

from __future__ import annotations

from typing import Any

import httpx

from mysdk.auth._token_endpoint_async import arequest_token
from mysdk.auth.discovery import adiscover
from mysdk.auth.flow import FlowRun, FlowStep, TokenFlow, flow_of, perform_step
from mysdk.errors import MySDKError
from mysdk.tokens.token import Token

__all__ = ["afetch_token", "arun_token_flow"]


async def afetch_token(provider: object, http: httpx.AsyncClient, *, timeout: Any,
                       previous: Token | None) -> Token:
    """A new token from ``provider``'s flow, its requests sent on ``http``.

    The async twin of ``provider.fetch_token(session, timeout=..., previous=...)``.

    Args:
        provider: A provider with ``token_flow(previous)`` (the built-in ones:
            :class:`~mysdk.auth.ClientCredentials`,
            :class:`~mysdk.auth.RefreshTokenProvider`).
        http: The client to send on; never changed, none of its credentials sent.
        timeout: Seconds, a ``(connect, read)`` pair, or ``None``, per request.
        previous: The token being replaced, or None.

    Raises:
        InvalidRequestError: ``provider`` has no ``token_flow`` (only the sync
            ``fetch_token``); the message says what to implement.
        TokenRequestError, TransportError, DiscoveryError, LoginRequiredError:
            As the provider's ``fetch_token``.
    """
    return await arun_token_flow(flow_of(provider, previous), http, timeout=timeout)


async def arun_token_flow(flow: TokenFlow, http: httpx.AsyncClient, *, timeout: Any) -> Token:
    """Drive ``flow`` with httpx on ``http``; its token.

    As :func:`~mysdk.auth.flow.run_token_flow`: a
    :class:`~mysdk.errors.MySDKError` of a step is thrown into the flow at its
    ``yield`` (gaining no ``__context__``); anything else (a bug,
    cancellation) closes the flow and propagates.

    Raises:
        MySDKError: What the flow raises or lets propagate.
    """
    with FlowRun(flow) as run:
        for step in run:
            try:
                run.result = await _perform(step, http, timeout)
            except MySDKError as exc:
                run.failure = exc
    return run.token


async def _perform(step: FlowStep, http: httpx.AsyncClient, timeout: Any) -> object:
    return await perform_step(
        step,
        post=lambda post: arequest_token(
            http, post.url, post.form, client_id=post.client_id,
            client_secret=post.client_secret, auth_method=post.auth_method, timeout=timeout),
        metadata=lambda request: adiscover(
            request.issuer, http=http, timeout=timeout, allow_http=request.allow_http,
            ttl=request.ttl),
    )
