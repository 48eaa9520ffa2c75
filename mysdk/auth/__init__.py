"""Credentials for the client: OAuth2 token providers and fixed tokens.

User logins (discovery, refresh token, device and browser login, revocation)
are imported on first use of their names, so ``import mysdk`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mysdk._lazy import lazy_getattr
from mysdk.auth.base import AsyncCredentials, Credentials, TokenProvider

if TYPE_CHECKING:  # imported on first use (see __getattr__)
    from mysdk.auth.browser import browser_flow
    from mysdk.auth.device import DeviceCode, DevicePrompt, TerminalPrompt, device_flow
    from mysdk.auth.discovery import ServerMetadata, adiscover, clear_discovery_cache, discover
    from mysdk.auth.flow import (
        FlowTokenProvider,
        MetadataRequest,
        TokenFlow,
        TokenPost,
        ask_metadata,
        post_token,
        run_token_flow,
    )
    from mysdk.auth.flow_async import afetch_token
    from mysdk.auth.login import Login, LogoutResult
    from mysdk.auth.login_errors import DiscoveryError, LoginError, LoginRequiredError
    from mysdk.auth.manager import TokenManager
    from mysdk.auth.manager_async import AsyncTokenManager
    from mysdk.auth.oauth2 import ClientCredentials
    from mysdk.auth.refresh import RefreshTokenProvider
    from mysdk.auth.revocation import revoke_token
    from mysdk.auth.static import APIKey, StaticToken

_LAZY = {
    "TokenManager": "mysdk.auth.manager", "ClientCredentials": "mysdk.auth.oauth2",
    "AsyncTokenManager": "mysdk.auth.manager_async",  # asyncio; httpx on first token
    **dict.fromkeys(("FlowTokenProvider", "MetadataRequest", "TokenFlow", "TokenPost",
                     "ask_metadata", "post_token", "run_token_flow"), "mysdk.auth.flow"),
    "afetch_token": "mysdk.auth.flow_async", "adiscover": "mysdk.auth.discovery",
    "APIKey": "mysdk.auth.static", "StaticToken": "mysdk.auth.static",
    "browser_flow": "mysdk.auth.browser",
    "DeviceCode": "mysdk.auth.device", "DevicePrompt": "mysdk.auth.device",
    "TerminalPrompt": "mysdk.auth.device", "device_flow": "mysdk.auth.device",
    "ServerMetadata": "mysdk.auth.discovery", "clear_discovery_cache": "mysdk.auth.discovery",
    "discover": "mysdk.auth.discovery",
    "Login": "mysdk.auth.login", "LogoutResult": "mysdk.auth.login",
    "DiscoveryError": "mysdk.auth.login_errors", "LoginError": "mysdk.auth.login_errors",
    "LoginRequiredError": "mysdk.auth.login_errors",
    "RefreshTokenProvider": "mysdk.auth.refresh",
    "revoke_token": "mysdk.auth.revocation",
}


__getattr__ = lazy_getattr("mysdk.auth", _LAZY, globals())


__all__ = [
    "APIKey",
    "AsyncCredentials",
    "AsyncTokenManager",
    "ClientCredentials",
    "Credentials",
    "DeviceCode",
    "DevicePrompt",
    "DiscoveryError",
    "FlowTokenProvider",
    "Login",
    "LoginError",
    "LoginRequiredError",
    "LogoutResult",
    "MetadataRequest",
    "RefreshTokenProvider",
    "ServerMetadata",
    "StaticToken",
    "TerminalPrompt",
    "TokenFlow",
    "TokenManager",
    "TokenPost",
    "TokenProvider",
    "adiscover",
    "afetch_token",
    "ask_metadata",
    "browser_flow",
    "clear_discovery_cache",
    "device_flow",
    "discover",
    "post_token",
    "revoke_token",
    "run_token_flow",
]
