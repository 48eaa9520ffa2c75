"""Token values and the caches that share them.

The file and Redis caches are imported lazily from their own modules
(``mysdk.tokens.file``, ``mysdk.tokens.redis``) so their optional
dependencies cost nothing unless used.
"""

from mysdk.tokens.cache import TokenCache, cache_key
from mysdk.tokens.memory import MemoryTokenCache
from mysdk.tokens.token import Token

__all__ = ["MemoryTokenCache", "Token", "TokenCache", "cache_key"]
