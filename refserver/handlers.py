"""Request-handler plumbing: JSON responses, the token endpoint, and the gate
(faults, bearer check, idempotency) in front of every ``/api/v1/*`` handler."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any, ClassVar

from tornado.web import HTTPError, RequestHandler

from refserver.context import AppContext
from refserver.faults import FaultKind
from refserver.idempotency import StoredResponse, fingerprint
from refserver.oauth import error_code_of, grant_type_of

__all__ = ["ApiHandler", "HealthHandler", "JsonHandler", "NotFoundHandler", "TokenHandler"]

JSON_TYPE = "application/json"
REALM = "cars-api"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENT_KEY_METHODS = frozenset({"POST", "PATCH"})
MAX_IDEMPOTENCY_KEY = 255

_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    500: "internal_error",
}


class JsonHandler(RequestHandler):
    """Base: JSON bodies, an ``X-Request-Id`` on every response, JSON errors."""

    ctx: AppContext
    ALLOWED_METHODS: ClassVar[tuple[str, ...]] = ("GET",)

    def initialize(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def compute_etag(self) -> str | None:
        return None  # API responses are not cacheable; skip hashing every body

    def set_default_headers(self) -> None:
        # clear() runs this again before an error page; keep one id per request.
        request_id: str | None = getattr(self, "_request_id", None)
        if request_id is None:
            request_id = secrets.token_hex(16)
            self._request_id = request_id
        self.set_header("X-Request-Id", request_id)

    def send_body(self, status: int, body: str | None, headers: dict[str, str]) -> None:
        """Write the complete response; the one exit every response goes through."""
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name, value)
        if body is None:
            self.finish()
        else:
            self.set_header("Content-Type", JSON_TYPE)
            self.finish(body)

    def respond(
        self, status: int, payload: object | None = None, headers: dict[str, str] | None = None
    ) -> None:
        body = None if payload is None else json.dumps(payload)
        self.send_body(status, body, dict(headers or {}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Tornado's own errors (404, 405, 500, ...) as JSON, never an HTML page."""
        headers: dict[str, str] = {}
        if status_code == 405:
            # RFC 9110 §15.5.6: a 405 MUST carry Allow.
            headers["Allow"] = ", ".join(self.ALLOWED_METHODS)
        code = _ERROR_CODES.get(status_code, "http_error")
        self.respond(status_code, {"error": code, "message": self._reason.lower()}, headers)


class HealthHandler(JsonHandler):
    """``GET /healthz``: unauthenticated readiness probe."""

    def get(self) -> None:
        self.respond(200, {"status": "ok"})


class NotFoundHandler(JsonHandler):
    """Any path no route matches."""

    ALLOWED_METHODS = ()

    def prepare(self) -> None:
        raise HTTPError(404)


class TokenHandler(JsonHandler):
    """``POST /oauth/token``: oauthlib answers (RFC 6749 §4.4, §5.1, §5.2, §6). No faults."""

    ALLOWED_METHODS = ("POST",)

    def post(self) -> None:
        body = self.request.body.decode("utf-8", errors="replace")
        self.ctx.stats.record_token_request(grant_type_of(body))
        result = self.ctx.oauth.token_response(
            self.request.full_url(), body, dict(self.request.headers)
        )
        if error_code_of(result.body) == "invalid_grant":
            self.ctx.stats.record_invalid_grant()
        self.set_status(result.status)
        for name, value in result.headers.items():
            self.set_header(name, value)
        self.finish(result.body)


class ApiHandler(JsonHandler):
    """Base of ``/api/v1/*``: count, inject faults, check the bearer token, replay
    idempotent responses; only then does the concrete handler method run."""

    #: False = any valid token will do; True = reads need cars:read, writes cars:write.
    NEEDS_SCOPES: ClassVar[bool] = True

    client_id: str
    _drop_after: bool = False
    _idempotency: tuple[str, str, str] | None = None

    def required_scope(self) -> str | None:
        if not self.NEEDS_SCOPES:
            return None
        return "cars:read" if self.request.method in READ_METHODS else "cars:write"

    async def prepare(self) -> None:
        ctx = self.ctx
        method = self.request.method or "GET"
        ctx.stats.record_api_request(method)
        decision = ctx.faults.decide()
        if decision.retry_after_429 is not None:
            ctx.stats.record_fault(FaultKind.RATE_LIMIT_429)
            self.respond(
                429,
                {"error": "rate_limited", "message": "too many requests"},
                {"Retry-After": str(decision.retry_after_429)},
            )
            return
        if decision.error_503:
            ctx.stats.record_fault(FaultKind.ERROR_503)
            headers = {}
            if decision.retry_after_503 is not None:
                headers["Retry-After"] = decision.retry_after_503
            self.respond(
                503, {"error": "service_unavailable", "message": "injected fault"}, headers
            )
            return
        if decision.slow_seconds > 0:
            ctx.stats.record_fault(FaultKind.SLOW)
            await asyncio.sleep(decision.slow_seconds)  # never block the IOLoop
        if decision.drop:
            ctx.stats.record_fault(FaultKind.DROP)
            if not decision.drop_after_processing:
                self.drop_connection()
                return
            self._drop_after = True
        if self._authenticate():
            self._check_idempotency()

    def _authenticate(self) -> bool:
        check = self.ctx.oauth.check_bearer(
            self.request.method or "GET",
            self.request.headers.get("Authorization"),
            self.required_scope(),
        )
        if check.error is None and check.client_id is not None:
            self.client_id = check.client_id
            return True
        # RFC 6750 §3: no error code when credentials are absent, else the error.
        challenge = f'Bearer realm="{REALM}"'
        if check.error == "missing":
            description = "missing bearer token"
        elif check.error == "insufficient_scope":
            description = "token lacks the required scope"
            challenge += f', error="insufficient_scope", scope="{self.required_scope()}"'
            challenge += f', error_description="{description}"'
        else:
            description = "access token is invalid or expired"
            challenge += f', error="invalid_token", error_description="{description}"'
        status, code = (
            (403, "insufficient_scope")
            if check.error == "insufficient_scope"
            else (401, "invalid_token")
        )
        self.respond(
            status,
            {"error": code, "error_description": description},
            {"WWW-Authenticate": challenge},
        )
        return False

    def _check_idempotency(self) -> None:
        key = self.request.headers.get("Idempotency-Key")
        method = self.request.method or ""
        if key is None or method not in IDEMPOTENT_KEY_METHODS:
            return
        if not key or len(key) > MAX_IDEMPOTENCY_KEY:
            self.respond(
                400, {"error": "bad_request", "message": "Idempotency-Key must be 1-255 chars"}
            )
            return
        fp = fingerprint(method, self.request.path, self.request.body)
        stored = self.ctx.idempotency.get(self.client_id, key)
        if stored is None:
            self._idempotency = (self.client_id, key, fp)
            return
        if stored.fingerprint != fp:
            self.respond(
                422,
                {
                    "error": "idempotency_key_reused",
                    "message": "Idempotency-Key was already used for a different request",
                },
            )
            return
        self.ctx.stats.record_idempotent_replay()
        headers = dict(stored.headers)
        headers["Idempotent-Replayed"] = "true"
        self.send_body(stored.status, stored.body, headers)

    def send_body(self, status: int, body: str | None, headers: dict[str, str]) -> None:
        if self._idempotency is not None and status < 500:
            # Stored before a drop-after-processing, so a retry sees the lost answer.
            client_id, key, fp = self._idempotency
            self._idempotency = None
            stored = StoredResponse(fp, status, body, tuple(headers.items()))
            self.ctx.idempotency.put(client_id, key, stored)
        if self._drop_after:
            self.drop_connection()
            return
        super().send_body(status, body, headers)

    def drop_connection(self) -> None:
        """Close the TCP connection without a byte of response (a lost response)."""
        self.detach().close()

    def json_body(self) -> tuple[object, bool]:
        """The parsed body and True, or (None, False) after answering 400."""
        try:
            return json.loads(self.request.body.decode("utf-8")), True
        except (UnicodeDecodeError, ValueError, RecursionError):
            self.respond(400, {"error": "bad_request", "message": "body is not valid JSON"})
            return None, False
