"""mysdk: a requests-based SDK core with one request path, OAuth2 token lifecycle
and resilient calls, on which you declare the SDK of your own REST API.

Quick use::

    import mysdk

    provider = mysdk.ClientCredentials(
        token_url="https://auth.example.com/oauth/token",
        client_id="my-client", client_secret="...",
    )
    with mysdk.Client(base_url="https://api.example.com", auth=provider) as client:
        print(client.get("/v1/things", params={"limit": 10}))

Building an SDK (see docs/build-your-sdk.md)::

    class Cats(mysdk.Resource):
        path = "/cats"

        @mysdk.get("/{cat_id}")
        def get(self, cat_id: int) -> Cat:
            raise NotImplementedError  # declared: mysdk sends it

    class CatClient(mysdk.Client):
        brand = mysdk.Brand("cat-sdk", "1.0.0", error=CatError)
        cats = mysdk.resource(Cats)

Importing this package loads ``requests`` only (``cachetools`` comes with the
first token provider's memory cache). The OAuth2 providers, fixed credentials,
rate limiter and the SDK building blocks (resources, pagination, models,
streaming) are imported on first use of their names, and optional backends
(``mysdk.tokens.file``, ``mysdk.tokens.redis``) and the test kit
(``mysdk.testing``) on demand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mysdk._lazy import lazy_getattr
from mysdk._types import NOT_GIVEN, NotGiven
from mysdk._version import __version__
from mysdk.auth import Credentials, TokenProvider
from mysdk.brand import Brand
from mysdk.client import Client
from mysdk.errormap import BodyFlag, ErrorEnvelope, ErrorInfo, ErrorMap
from mysdk.errors import (
    APIResponseError,
    APIStatusError,
    AuthError,
    BadRequestError,
    ClientError,
    ConflictError,
    ConnectError,
    ConnectTimeoutError,
    DecodeError,
    ForbiddenError,
    InvalidRequestError,
    MySDKError,
    NotFoundError,
    RateLimitError,
    RateLimitTimeout,
    ReadTimeoutError,
    RedirectError,
    RequestTimeoutError,
    ServerDisconnectedError,
    ServerError,
    TokenRequestError,
    TransportError,
    UnauthorizedError,
    UnprocessableEntityError,
)
from mysdk.events import Event
from mysdk.retry import NO_RETRY, RetryPolicy
from mysdk.tokens import Token, TokenCache

if TYPE_CHECKING:  # imported on first use (see __getattr__): SDK building blocks, logins
    from mysdk.async_client import AsyncClient
    from mysdk.auth import (
        APIKey,
        ClientCredentials,
        DeviceCode,
        DiscoveryError,
        Login,
        LoginError,
        LoginRequiredError,
        LogoutResult,
        RefreshTokenProvider,
        ServerMetadata,
        StaticToken,
        TerminalPrompt,
        discover,
    )
    from mysdk.middleware import Middleware, OutgoingRequest
    from mysdk.models import Model, model
    from mysdk.pagination import (
        AsyncPager,
        Cursor,
        LinkHeader,
        OffsetLimit,
        Page,
        PageNumber,
        Pager,
        PageRequest,
        Paginator,
    )
    from mysdk.ratelimit import RateLimiter, TokenBucket
    from mysdk.resources import (
        Async,
        Mode,
        RawResponse,
        Resource,
        ResourceField,
        Sync,
        delete,
        get,
        operation,
        patch,
        post,
        put,
        resource,
    )
    from mysdk.streaming import (
        AsyncStream,
        AsyncStreamResponse,
        ServerSentEvent,
        Stream,
        StreamResponse,
    )
    from mysdk.tokens.memory import MemoryTokenCache

_LAZY = {
    "AsyncClient": "mysdk.async_client",  # imports httpx (the async extra)
    **dict.fromkeys(("APIKey", "ClientCredentials", "StaticToken"), "mysdk.auth"),
    "RateLimiter": "mysdk.ratelimit", "TokenBucket": "mysdk.ratelimit",
    "MemoryTokenCache": "mysdk.tokens.memory",
    **dict.fromkeys(("DeviceCode", "DiscoveryError", "Login", "LoginError",
                     "LoginRequiredError", "LogoutResult", "RefreshTokenProvider",
                     "ServerMetadata", "TerminalPrompt", "discover"), "mysdk.auth"),
    "Middleware": "mysdk.middleware", "OutgoingRequest": "mysdk.middleware",
    "Model": "mysdk.models", "model": "mysdk.models",
    "Cursor": "mysdk.pagination", "LinkHeader": "mysdk.pagination",
    "OffsetLimit": "mysdk.pagination", "Page": "mysdk.pagination",
    "PageNumber": "mysdk.pagination", "PageRequest": "mysdk.pagination",
    "Pager": "mysdk.pagination", "Paginator": "mysdk.pagination",
    "AsyncPager": "mysdk.pagination",
    "Async": "mysdk.resources", "Mode": "mysdk.resources", "Sync": "mysdk.resources",
    "ResourceField": "mysdk.resources",
    "RawResponse": "mysdk.resources", "Resource": "mysdk.resources",
    "delete": "mysdk.resources", "get": "mysdk.resources", "operation": "mysdk.resources",
    "patch": "mysdk.resources", "post": "mysdk.resources", "put": "mysdk.resources",
    "resource": "mysdk.resources",
    "ServerSentEvent": "mysdk.streaming", "Stream": "mysdk.streaming",
    "StreamResponse": "mysdk.streaming", "AsyncStream": "mysdk.streaming",
    "AsyncStreamResponse": "mysdk.streaming",
}


__getattr__ = lazy_getattr("mysdk", _LAZY, globals())


__all__ = [
    "NOT_GIVEN",
    "NO_RETRY",
    "APIKey",
    "APIResponseError",
    "APIStatusError",
    "Async",
    "AsyncClient",
    "AsyncPager",
    "AsyncStream",
    "AsyncStreamResponse",
    "AuthError",
    "BadRequestError",
    "BodyFlag",
    "Brand",
    "Client",
    "ClientCredentials",
    "ClientError",
    "ConflictError",
    "ConnectError",
    "ConnectTimeoutError",
    "Credentials",
    "Cursor",
    "DecodeError",
    "DeviceCode",
    "DiscoveryError",
    "ErrorEnvelope",
    "ErrorInfo",
    "ErrorMap",
    "Event",
    "ForbiddenError",
    "InvalidRequestError",
    "LinkHeader",
    "Login",
    "LoginError",
    "LoginRequiredError",
    "LogoutResult",
    "MemoryTokenCache",
    "Middleware",
    "Mode",
    "Model",
    "MySDKError",
    "NotFoundError",
    "NotGiven",
    "OffsetLimit",
    "OutgoingRequest",
    "Page",
    "PageNumber",
    "PageRequest",
    "Pager",
    "Paginator",
    "RateLimitError",
    "RateLimitTimeout",
    "RateLimiter",
    "RawResponse",
    "ReadTimeoutError",
    "RedirectError",
    "RefreshTokenProvider",
    "RequestTimeoutError",
    "Resource",
    "ResourceField",
    "RetryPolicy",
    "ServerDisconnectedError",
    "ServerError",
    "ServerMetadata",
    "ServerSentEvent",
    "StaticToken",
    "Stream",
    "StreamResponse",
    "Sync",
    "TerminalPrompt",
    "Token",
    "TokenBucket",
    "TokenCache",
    "TokenProvider",
    "TokenRequestError",
    "TransportError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "__version__",
    "delete",
    "discover",
    "get",
    "model",
    "operation",
    "patch",
    "post",
    "put",
    "resource",
]
