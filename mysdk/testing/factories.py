"""Build typed responses, errors and models for unit tests, without HTTP.

Example::

    resp = make_response(200, json={"id": 1}, url="https://api.example.test/api/v1/cars/1")
    error = make_status_error(404, json={"error": "not_found"})   # a mysdk.NotFoundError
    car = make_model(Car, {"id": 1, "make": "VW"}, color="blue")  # your mysdk.Model
"""

from __future__ import annotations

import http
import json as json_module
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:  # imported when used: loading the kit (and its plugin) stays light
    from mysdk.errors import APIStatusError

__all__ = ["make_model", "make_response", "make_status_error"]

M = TypeVar("M")

_URL = "https://api.example.test/"
_MISSING: Any = object()


def make_response(status: int = 200, *, json: Any = _MISSING, body: bytes | str = b"",
                  headers: Mapping[str, str] | None = None, method: str = "GET",
                  url: str = _URL) -> requests.Response:
    """A ``requests.Response`` as a session would return it, with its request.

    Args:
        status: HTTP status code.
        json: A JSON-serialisable body; sets ``Content-Type: application/json``.
            Omit it to send ``body`` instead (``None`` is the JSON ``null``).
        body: A raw body (bytes, or text encoded as UTF-8).
        headers: Response headers (case-insensitive lookup, as requests does).
        method: Method of the request the response answers.
        url: URL of that request, also ``response.url``.

    Returns:
        The response; ``.json()``, ``.text``, ``.headers``, ``.request`` work.

    Raises:
        ValueError: Both ``json`` and ``body`` are given.
    """
    if json is not _MISSING and body:
        raise ValueError("give json or body, not both")
    resp = requests.Response()
    resp.status_code = status
    resp.reason = _reason(status)
    resp.headers = CaseInsensitiveDict(headers or {})
    if json is not _MISSING:
        content = json_module.dumps(json).encode()
        resp.headers.setdefault("Content-Type", "application/json")
    else:
        content = body.encode() if isinstance(body, str) else body
    resp._content = content
    resp.encoding = "utf-8"
    resp.url = url
    resp.request = requests.Request(method, url).prepare()
    return resp


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""  # e.g. 599: no reason phrase, as some servers send


def make_status_error(status: int, *, json: Any = _MISSING, body: bytes | str = b"",
                      headers: Mapping[str, str] | None = None, method: str = "GET",
                      url: str = _URL, attempts: int = 1) -> APIStatusError:
    """The error the client would raise for this response (not raised).

    Args:
        status: HTTP status, >= 300 (e.g. ``404`` gives a :class:`mysdk.NotFoundError`).
        json: JSON error body, e.g. ``{"error": "not_found"}``.
        body: A raw body instead.
        headers: Response headers (``Retry-After``, ``X-Request-Id`` are read).
        method: Method of the failed request.
        url: URL of the failed request.
        attempts: How many attempts the call made.

    Returns:
        The matching :class:`mysdk.APIStatusError` subclass, with ``status_code``,
        ``body``, ``request_id`` and ``retry_after`` filled in.

    Raises:
        ValueError: As :func:`make_response`.
    """
    from mysdk.status import error_from_response

    resp = make_response(status, json=json, body=body, headers=headers, method=method, url=url)
    return error_from_response(resp, method, url, attempts)


def make_model(model: type[M], data: Mapping[str, Any] | None = None, **fields: Any) -> M:
    """Build a model from JSON as the client does: ``data`` with ``fields`` on top.

    Args:
        model: A :class:`mysdk.Model` subclass, a dataclass, or any class with a
            ``from_json`` classmethod.
        data: The JSON object; ``fields`` override its keys.
        **fields: More keys.

    Returns:
        The model instance, every field checked against its annotation.

    Raises:
        DecodeError: A required field is missing or a value does not fit
            (:func:`mysdk.models.parse`; the message names the field).
        InvalidRequestError: ``model`` cannot be decoded.
    """
    payload = {**(data or {}), **fields}
    from_json = getattr(model, "from_json", None)
    if callable(from_json):
        built: M = from_json(payload)
        return built
    from mysdk.models import parse

    return parse(model, payload)
