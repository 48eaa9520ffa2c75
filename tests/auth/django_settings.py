"""A real Django settings module for the DjangoTokenCache tests.

The Redis alias points at the throw-away redis-server the tests start
(``MYSDK_TEST_REDIS_URL``, set before Django reads these settings).
"""

from __future__ import annotations

import os

SECRET_KEY = "tests-only-not-a-secret"
USE_TZ = True
INSTALLED_APPS: list[str] = []
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "mysdk-tests",
    },
    "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("MYSDK_TEST_REDIS_URL", "redis://127.0.0.1:1/0"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    },
}
