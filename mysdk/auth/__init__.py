"""Credentials for the client: OAuth2 token providers and fixed tokens."""

from mysdk.auth.base import Credentials, TokenProvider
from mysdk.auth.manager import TokenManager
from mysdk.auth.oauth2 import ClientCredentials
from mysdk.auth.static import APIKey, StaticToken

__all__ = [
    "APIKey",
    "ClientCredentials",
    "Credentials",
    "StaticToken",
    "TokenManager",
    "TokenProvider",
]
