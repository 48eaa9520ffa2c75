"""The tornado ``Application``: routes and settings."""

from __future__ import annotations

from typing import Any

from tornado.web import Application, RequestHandler

from refserver.cars import ApiFallbackHandler, CarHandler, CarsHandler, PingHandler
from refserver.context import AppContext
from refserver.handlers import HealthHandler, NotFoundHandler, TokenHandler
from refserver.login_handlers import (
    AuthorizeHandler,
    DeviceApprovalHandler,
    DeviceAuthorizationHandler,
    DevicePageHandler,
    MetadataHandler,
    RevocationHandler,
)

__all__ = ["make_app"]


def _quiet(handler: RequestHandler) -> None:
    """Access-log replacement: nothing per request, so test output stays clean."""


def make_app(ctx: AppContext) -> Application:
    kw: dict[str, Any] = {"ctx": ctx}
    settings: dict[str, Any] = {
        "default_handler_class": NotFoundHandler,
        "default_handler_args": kw,
        # No HTML tracebacks: errors are JSON, and a debug page could echo headers.
        "serve_traceback": False,
        "compress_response": False,
    }
    if not ctx.config.access_log:
        settings["log_function"] = _quiet
    return Application(
        [
            (r"/healthz", HealthHandler, kw),
            (r"/oauth/token", TokenHandler, kw),
            (r"/oauth/authorize", AuthorizeHandler, kw),
            (r"/oauth/device_authorization", DeviceAuthorizationHandler, kw),
            (r"/oauth/revoke", RevocationHandler, kw),
            (r"/\.well-known/oauth-authorization-server", MetadataHandler, kw),
            (r"/\.well-known/openid-configuration", MetadataHandler, kw),
            (r"/device", DevicePageHandler, kw),
            (r"/device/approve", DeviceApprovalHandler, kw),
            (r"/api/v1/ping", PingHandler, kw),
            (r"/api/v1/cars/?", CarsHandler, kw),
            (r"/api/v1/cars/([^/]+)", CarHandler, kw),
            (r"/api/v1/.*", ApiFallbackHandler, kw),
        ],
        **settings,
    )
