"""mysdk: a requests-based SDK with one request path, OAuth2 token lifecycle
and resilient calls.

Quick use::

    import mysdk

    provider = mysdk.ClientCredentials(
        token_url="https://auth.example.com/oauth/token",
        client_id="my-client", client_secret="...",
    )
    with mysdk.Client(base_url="https://api.example.com", auth=provider) as client:
        for car in client.cars.iterate():
            print(car.make, car.model)

Importing this package loads ``requests`` and ``cachetools`` only; optional
backends (``mysdk.tokens.file``, ``mysdk.tokens.redis``) and the test helpers
(``mysdk.testing``) are imported on demand.
"""

from mysdk._types import NOT_GIVEN, NotGiven
from mysdk._version import __version__
from mysdk.auth import APIKey, ClientCredentials, Credentials, StaticToken, TokenProvider
from mysdk.client import Client
from mysdk.errors import (
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
from mysdk.ratelimit import RateLimiter, TokenBucket
from mysdk.retry import NO_RETRY, RetryPolicy
from mysdk.tokens import MemoryTokenCache, Token, TokenCache

__all__ = [
    "NOT_GIVEN",
    "NO_RETRY",
    "APIKey",
    "APIStatusError",
    "AuthError",
    "BadRequestError",
    "Client",
    "ClientCredentials",
    "ClientError",
    "ConflictError",
    "ConnectError",
    "ConnectTimeoutError",
    "Credentials",
    "DecodeError",
    "Event",
    "ForbiddenError",
    "InvalidRequestError",
    "MemoryTokenCache",
    "MySDKError",
    "NotFoundError",
    "NotGiven",
    "RateLimitError",
    "RateLimitTimeout",
    "RateLimiter",
    "ReadTimeoutError",
    "RedirectError",
    "RequestTimeoutError",
    "RetryPolicy",
    "ServerDisconnectedError",
    "ServerError",
    "StaticToken",
    "Token",
    "TokenBucket",
    "TokenCache",
    "TokenProvider",
    "TokenRequestError",
    "TransportError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "__version__",
]
