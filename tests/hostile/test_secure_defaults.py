"""Secure defaults (issue 7, point 12): TLS unless loopback or opted out, and
secret query values redacted wherever a URL is shown."""

from __future__ import annotations

import logging
import socket

import pytest
import responses

import mysdk
from mysdk import InvalidRequestError, NotFoundError
from mysdk.errors import safe_url
from tests.hostile.server import Request, hostile_server, respond


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.1:8080",
                                 "http://127.example.com"])
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(InvalidRequestError, match="allow_http"):
        mysdk.Client(base_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:81",
                                 "http://127.1.2.3", "https://api.example.com"])
def test_loopback_and_https_are_accepted(url: str) -> None:
    assert mysdk.Client(base_url=url).base_url == url


def test_plain_http_can_be_allowed_explicitly() -> None:
    assert mysdk.Client(base_url="http://api.example.com", allow_http=True)


@pytest.mark.parametrize("url", ["ftp://x", "https://", "https://h:99999", 5, None])
def test_a_malformed_base_url_is_refused(url: object) -> None:
    with pytest.raises(InvalidRequestError, match="base_url"):
        mysdk.Client(base_url=url)  # type: ignore[arg-type]


def test_safe_url_redacts_secret_query_values_and_userinfo() -> None:
    url = "https://u:pw@h.example/p?sig=S1&page=2&API_KEY=K1&access_token=T1#frag"
    shown = safe_url(url)
    for secret in ("pw", "S1", "K1", "T1", "frag"):
        assert secret not in shown
    assert "page=2" in shown
    assert shown.startswith("https://h.example/p?")


def test_secret_query_values_never_show_in_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock() as rs:
        rs.get("https://api.example.com/x", status=404)
        with pytest.raises(NotFoundError) as info:
            mysdk.Client(base_url="https://api.example.com", retry=None).get(
                "/x", params={"sig": "SIG-SECRET", "page": 2})
    text = str(info.value) + repr(info.value) + info.value.url + caplog.text
    assert "SIG-SECRET" not in text
    assert "page=2" in str(info.value)


def test_secret_query_values_never_show_in_a_transport_error_chain() -> None:
    def hang_up(conn: socket.socket, request: Request) -> None:
        conn.shutdown(socket.SHUT_RDWR)

    with hostile_server(hang_up) as server:
        client = mysdk.Client(base_url=server.url, retry=None)
        with pytest.raises(mysdk.TransportError) as info:
            client.get("/x", params={"api_key": "KEY-SECRET"})
    link: BaseException | None = info.value
    while link is not None:
        assert "KEY-SECRET" not in str(link) + repr(link)
        link = link.__cause__ or link.__context__


def test_a_redirect_location_with_a_secret_is_redacted() -> None:
    def handler(conn: socket.socket, request: Request) -> None:
        respond(conn, 302, headers={"Location": "https://cdn.example.com/f?signature=SIGN"})

    with hostile_server(handler) as server, pytest.raises(mysdk.RedirectError) as info:
        mysdk.Client(base_url=server.url, retry=None).get("/f")
    assert "SIGN" not in str(info.value) + info.value.location
