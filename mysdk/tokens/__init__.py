"""Token values and the caches that share them.

The file and Redis caches are imported lazily from their own modules
(``mysdk.tokens.file``, ``mysdk.tokens.redis``, ``mysdk.tokens.redis_async``) so
their optional dependencies cost nothing unless used. For asyncio code,
:class:`AsyncTokenCache` is the async protocol and :func:`as_async_cache` adapts
any sync cache to it without blocking the event loop.
"""

from typing import TYPE_CHECKING

from mysdk._lazy import lazy_getattr
from mysdk.tokens.cache import TokenCache, cache_key
from mysdk.tokens.token import Token

if TYPE_CHECKING:
    from mysdk.tokens.aio import AsyncTokenCache, as_async_cache
    from mysdk.tokens.memory import MemoryTokenCache
    from mysdk.tokens.redis_async import AsyncRedisTokenCache

# The memory cache imports cachetools, the async names asyncio, the async Redis
# cache redis.asyncio: each loaded when first named.
__getattr__ = lazy_getattr("mysdk.tokens", {
    "MemoryTokenCache": "mysdk.tokens.memory",
    "AsyncTokenCache": "mysdk.tokens.aio", "as_async_cache": "mysdk.tokens.aio",
    "AsyncRedisTokenCache": "mysdk.tokens.redis_async",
}, globals())

__all__ = ["AsyncRedisTokenCache", "AsyncTokenCache", "MemoryTokenCache", "Token",
           "TokenCache", "as_async_cache", "cache_key"]
