"""Token providers as sans-I/O flows: the provider logic written once, for sync and async.

A provider's ``token_flow(previous)`` is a generator that performs no I/O. It
*yields* a description of each request it needs and is *sent* the result:

* :class:`TokenPost` (one POST to a token endpoint) is answered with the
  validated :class:`~mysdk.tokens.Token`; or a
  :class:`~mysdk.errors.MySDKError` of that request
  (:class:`~mysdk.errors.TokenRequestError`,
  :class:`~mysdk.errors.TransportError`, ...) is *thrown* into the generator
  at that ``yield``, where the provider may catch it (e.g. fall back to another
  grant) or let it propagate;
* :class:`MetadataRequest` (an issuer's metadata, RFC 8414 / OpenID Connect
  Discovery) is answered with its :class:`~mysdk.auth.discovery.ServerMetadata`.

The generator's return value is the new token. A driver performs the I/O:
:func:`run_token_flow` with requests (what a provider's ``fetch_token`` calls),
:func:`mysdk.auth.flow_async.arun_token_flow` with httpx. Writing a flow::

    def token_flow(self, previous):
        form = {"grant_type": "client_credentials"}
        token = yield from post_token(TokenPost(
            url=self.token_url, form=form, client_id=self.client_id,
            client_secret=self.secret, auth_method="client_secret_basic"))
        return token

    def fetch_token(self, session, *, timeout, previous):
        return run_token_flow(self.token_flow(previous), session, timeout=timeout)
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from mysdk._frozen import Frozen
from mysdk.auth._token_endpoint import ClientAuthMethod, request_token
from mysdk.auth.discovery import DISCOVERY_TTL, ServerMetadata, discover
from mysdk.errors import InvalidRequestError, MySDKError, safe_url
from mysdk.tokens.token import Token

if TYPE_CHECKING:
    import requests

__all__ = [
    "FlowStep",
    "FlowTokenProvider",
    "MetadataRequest",
    "TokenFlow",
    "TokenPost",
    "ask_metadata",
    "flow_of",
    "post_token",
    "require_flow",
    "run_token_flow",
]


class TokenPost(Frozen):
    """One POST to a token endpoint (RFC 6749 §3.2), as a flow asks for it.

    Attributes:
        url: The token endpoint.
        form: The grant's fields (``grant_type`` and its parameters); the
            client authentication is added by the driver.
        client_id: The client identifier (RFC 6749 §2.2).
        client_secret: The client secret, or ``None`` for a public client.
            Never shown in ``repr``.
        auth_method: ``"client_secret_basic"`` or ``"client_secret_post"``
            (RFC 6749 §2.3.1).
    """

    __slots__ = ("auth_method", "client_id", "client_secret", "form", "url")

    url: str
    form: dict[str, str]
    client_id: str
    client_secret: str | None
    auth_method: ClientAuthMethod

    def __init__(self, url: str, form: Mapping[str, str], client_id: str,
                 client_secret: str | None = None,
                 auth_method: ClientAuthMethod = "client_secret_basic") -> None:
        self._set("url", url)
        self._set("form", dict(form))
        self._set("client_id", client_id)
        self._set("client_secret", client_secret)
        self._set("auth_method", auth_method)

    def __hash__(self) -> int:  # Frozen's would hash the form dict
        return hash((self.url, tuple(self.form.items()), self.client_id, self.client_secret,
                     self.auth_method))

    def __repr__(self) -> str:  # the form may hold a refresh token
        return (f"TokenPost(url={safe_url(self.url)!r}, grant_type="
                f"{self.form.get('grant_type')!r}, client_id={self.client_id!r}, "
                f"auth_method={self.auth_method!r})")


class MetadataRequest(Frozen):
    """An authorization server's metadata, discovered from its issuer URL.

    The driver answers with :func:`~mysdk.auth.discovery.discover` (or its
    async twin), which shares one per-process cache of ``ttl`` seconds.

    Attributes:
        issuer: The issuer URL (RFC 8414 §2).
        allow_http: Accept ``http://`` on hosts that are not loopback.
        ttl: Seconds a discovered document is reused.
    """

    __slots__ = ("allow_http", "issuer", "ttl")

    issuer: str
    allow_http: bool
    ttl: float

    def __init__(self, issuer: str, allow_http: bool = False,
                 ttl: float = DISCOVERY_TTL) -> None:
        self._set("issuer", issuer)
        self._set("allow_http", allow_http)
        self._set("ttl", ttl)

    def __repr__(self) -> str:
        return f"MetadataRequest(issuer={safe_url(self.issuer)!r})"


FlowStep = TokenPost | MetadataRequest
"""What a flow may yield."""

TokenFlow = Generator[FlowStep, object, Token]
"""A provider's flow: yields steps, is sent their results, returns the token."""


@runtime_checkable
class FlowTokenProvider(Protocol):
    """A token provider the async client can drive (see :mod:`mysdk.auth.flow`)."""

    @property
    def cache_key(self) -> str:
        """Key of this identity in a token cache."""
        ...

    def token_flow(self, previous: Token | None) -> TokenFlow:
        """The flow that obtains a token replacing ``previous`` (None: the first)."""
        ...


def post_token(post: TokenPost) -> Generator[FlowStep, object, Token]:
    """``token = yield from post_token(post)``: one token request, typed.

    Raises:
        MySDKError: Whatever the driver throws in for the request.
        TypeError: The driver sent something that is not a Token.
    """
    answer = yield post
    if not isinstance(answer, Token):
        raise TypeError(f"a flow driver answered a TokenPost with {type(answer).__name__}")
    return answer


def ask_metadata(request: MetadataRequest) -> Generator[FlowStep, object, ServerMetadata]:
    """``metadata = yield from ask_metadata(request)``: an issuer's metadata, typed.

    Raises:
        DiscoveryError: Discovery failed (thrown in by the driver).
        TypeError: The driver sent something that is not ServerMetadata.
    """
    answer = yield request
    if not isinstance(answer, ServerMetadata):
        raise TypeError(
            f"a flow driver answered a MetadataRequest with {type(answer).__name__}")
    return answer


def require_flow(provider: object) -> None:
    """Check that the async client can drive ``provider``.

    Raises:
        InvalidRequestError: ``provider`` has no callable ``token_flow`` (a
            provider written for the sync client only, with ``fetch_token``);
            the message says what to implement.
    """
    if not callable(getattr(provider, "token_flow", None)):
        raise InvalidRequestError(
            f"{type(provider).__name__} cannot be used by the async client: it has no "
            "token_flow(previous). Implement token_flow(previous) -> Generator[TokenPost | "
            "MetadataRequest, object, Token] (see mysdk.auth.flow) and let fetch_token() "
            "call run_token_flow(self.token_flow(previous), session, timeout=timeout); "
            "fetch_token() alone serves only the sync Client")


def flow_of(provider: object, previous: Token | None) -> TokenFlow:
    """``provider.token_flow(previous)``, or a clear error when it has none.

    Raises:
        InvalidRequestError: As :func:`require_flow`.
    """
    require_flow(provider)
    flow: TokenFlow = provider.token_flow(previous)  # type: ignore[attr-defined]
    return flow


def run_token_flow(flow: TokenFlow, session: requests.Session, *, timeout: Any) -> Token:
    """Drive ``flow`` with requests on ``session``; its token.

    :class:`TokenPost` steps go through
    :func:`~mysdk.auth._token_endpoint.request_token`, :class:`MetadataRequest`
    steps through :func:`~mysdk.auth.discovery.discover`, both with ``timeout``.
    A :class:`~mysdk.errors.MySDKError` of a step is thrown into the flow at
    its ``yield`` (outside any ``except`` block, so it gains no
    ``__context__``); anything else (a bug, ``KeyboardInterrupt``) closes the
    flow and propagates.

    Raises:
        MySDKError: What the flow raises or lets propagate.
    """
    with FlowRun(flow) as run:
        for step in run:
            try:
                run.result = _perform(step, session, timeout)
            except MySDKError as exc:
                run.failure = exc
    return run.token


def _perform(step: FlowStep, session: requests.Session, timeout: Any) -> object:
    return perform_step(
        step,
        post=lambda post: request_token(
            session, post.url, post.form, client_id=post.client_id,
            client_secret=post.client_secret, auth_method=post.auth_method, timeout=timeout),
        metadata=lambda request: discover(
            request.issuer, session=session, timeout=timeout, allow_http=request.allow_http,
            ttl=request.ttl),
    )


_R = TypeVar("_R")


def perform_step(step: FlowStep, *, post: Callable[[TokenPost], _R],
                 metadata: Callable[[MetadataRequest], _R]) -> _R:
    """What a driver does for ``step``: ``post(step)`` or ``metadata(step)``, by its type.

    Raises:
        TypeError: ``step`` is neither a :class:`TokenPost` nor a :class:`MetadataRequest`.
    """
    if isinstance(step, TokenPost):
        return post(step)
    if isinstance(step, MetadataRequest):
        return metadata(step)
    raise TypeError(f"a token flow yielded {type(step).__name__}, not a TokenPost or "
                    "MetadataRequest")


class FlowRun:
    """One run of a token flow by a driver (sync or async), which only performs the steps.

    Iterating yields each step to perform. For each, the driver sets
    :attr:`result` (the step's answer) or :attr:`failure` (a
    :class:`~mysdk.errors.MySDKError` of the step, set in its ``except``
    block); when iteration resumes the answer is sent into the flow, or the
    failure thrown in at its ``yield`` (outside any ``except`` block, so it
    gains no ``__context__``). When the flow returns, iteration ends and
    :attr:`token` is what it returned. As a context manager it closes the flow on
    the way out, also when the driver raises (a bug, ``KeyboardInterrupt``,
    cancellation).
    """

    token: Token
    """The flow's token (set when iteration ends)."""

    def __init__(self, flow: TokenFlow) -> None:
        self._flow = flow
        self.result: object = None
        self.failure: MySDKError | None = None

    def __iter__(self) -> Iterator[FlowStep]:
        flow = self._flow
        try:
            step = next(flow)
            while True:
                self.result, self.failure = None, None
                yield step
                failure = self.failure
                step = flow.throw(failure) if failure is not None else flow.send(self.result)
        except StopIteration as done:
            self.token = done.value

    def __enter__(self) -> FlowRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._flow.close()
