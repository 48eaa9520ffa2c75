"""Token values and the caches that share them.

The file and Redis caches are imported lazily from their own modules
(``mysdk.tokens.file``, ``mysdk.tokens.redis``) so their optional
dependencies cost nothing unless used.
"""

from typing import TYPE_CHECKING

from mysdk._lazy import lazy_getattr
from mysdk.tokens.cache import TokenCache, cache_key
from mysdk.tokens.token import Token

if TYPE_CHECKING:
    from mysdk.tokens.memory import MemoryTokenCache

# The memory cache imports cachetools: loaded when first named.
__getattr__ = lazy_getattr("mysdk.tokens", {"MemoryTokenCache": "mysdk.tokens.memory"},
                           globals())

__all__ = ["MemoryTokenCache", "Token", "TokenCache", "cache_key"]
