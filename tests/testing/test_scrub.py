"""The Scrubber on vcrpy requests and response dicts: every secret kind, both ways."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from vcr.request import Request

from mysdk.testing import DEFAULT_SECRET_NAMES, Scrubber, is_placeholder, scrub_response_body
from mysdk.testing._scrub import canonical_origin

LIVE = "http://127.0.0.1:50123"
CANON = "http://127.0.0.1:8765"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVlLTEyMw"


def request(uri: str = f"{LIVE}/api", body: bytes | str | None = None,
            **headers: str) -> Request:
    return Request("POST" if body is not None else "GET", uri, body,
                   {k.replace("_", "-"): v for k, v in headers.items()})


def response(body: bytes | str = b"", **headers: str | list[str]) -> dict[str, Any]:
    return {"status": {"code": 200, "message": "OK"},
            "headers": {k.replace("_", "-"): v if isinstance(v, list) else [v]
                        for k, v in headers.items()},
            "body": {"string": body}}


# -- headers, both directions -------------------------------------------------------


@pytest.mark.parametrize("name", ["Authorization", "Proxy-Authorization", "X-Api-Key",
                                  "x-api-key", "AUTHORIZATION"])
def test_secret_request_headers_are_scrubbed(name: str) -> None:
    scrubbed = Scrubber().request(request(**{name.replace("-", "_"): "sk-live-1234567890"}))
    value = next(v for k, v in scrubbed.headers.items() if k.lower() == name.lower())
    assert is_placeholder(value)


def test_bearer_and_basic_keep_their_scheme() -> None:
    basic = base64.b64encode(b"my-client:my-secret-value-1").decode()
    scrubbed = Scrubber().request(request(Authorization=f"Bearer {TOKEN}"))
    assert scrubbed.headers["Authorization"].startswith("Bearer **FILTERED-")
    scrubbed = Scrubber().request(request(Authorization=f"Basic {basic}"))
    assert scrubbed.headers["Authorization"].startswith("Basic **FILTERED-")


def test_cookies_keep_their_names_and_attributes() -> None:
    scrubber = Scrubber()
    req = scrubber.request(request(Cookie="sid=abc123def456; theme=dark"))
    assert req.headers["Cookie"].startswith("sid=**FILTERED-")
    assert "; theme=**FILTERED-" in req.headers["Cookie"]
    resp = scrubber.response(response(Set_Cookie=["sid=xyz789uvw012; Path=/; HttpOnly",
                                                  "other=zzz111yyy222; Secure"]))
    first, second = resp["headers"]["Set-Cookie"]
    assert first.startswith("sid=**FILTERED-")
    assert first.endswith("; Path=/; HttpOnly")
    assert second.startswith("other=**FILTERED-")
    assert "xyz789uvw012" not in first


def test_a_custom_credential_header_is_scrubbed_both_ways_once_named() -> None:
    plain = Scrubber().request(request(Api_Key="k-1234567890"))
    assert plain.headers["Api-Key"] == "k-1234567890"  # unknown name: kept ...
    scrubber = Scrubber(DEFAULT_SECRET_NAMES.add(headers={"Api-Key"}))
    req = scrubber.request(request(Api_Key="k-1234567890"))
    resp = scrubber.response(response(b"{}", Api_Key="k-1234567890"))
    assert is_placeholder(req.headers["Api-Key"])  # ... named: scrubbed both ways
    assert resp["headers"]["Api-Key"] == [req.headers["Api-Key"]]


def test_a_secret_echoed_under_another_header_name_is_scrubbed() -> None:
    scrubber = Scrubber(DEFAULT_SECRET_NAMES.add(headers={"Api-Key"}))
    req = scrubber.request(request(Api_Key="k-1234567890"))
    resp = scrubber.response(response(b'{"you": "k-1234567890"}', X_Echo="key k-1234567890"))
    assert resp["headers"]["X-Echo"] == [f"key {req.headers['Api-Key']}"]
    assert b"k-1234567890" not in resp["body"]["string"]


# -- query parameters -----------------------------------------------------------------


def test_secret_query_parameters_are_scrubbed_and_others_kept_byte_for_byte() -> None:
    req = Scrubber().request(request(f"{LIVE}/search?q=a%20b&access_token=tok-123456&page=2"))
    assert req.uri.startswith(f"{LIVE}/search?q=a%20b&access_token=**FILTERED-")
    assert req.uri.endswith("**&page=2")


def test_code_in_a_query_is_kept_unless_an_oauth_redirect() -> None:
    assert Scrubber().request(request(f"{LIVE}/errors?code=item_not_found")).uri.endswith(
        "code=item_not_found")
    callback = Scrubber().request(request(f"{LIVE}/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=x"))
    assert "SplxlOBeZQQYbYS6WxSbIA" not in callback.uri
    assert callback.uri.endswith("&state=x")


def test_tokens_in_a_redirect_fragment_are_scrubbed() -> None:
    resp = Scrubber().response(response(
        Location="https://app.example/cb#access_token=tok-abcdef123&state=s&token_type=bearer"))
    location = resp["headers"]["Location"][0]
    assert "tok-abcdef123" not in location
    assert location.endswith("&state=s&token_type=bearer")


# -- bodies ---------------------------------------------------------------------------


def test_form_body_secrets_are_scrubbed_code_only_in_a_token_request() -> None:
    form = (b"grant_type=authorization_code&code=auth-code-123&code_verifier=verifier-xyz-1"
            b"&redirect_uri=https%3A%2F%2Fapp%2Fcb&client_secret=shh-123456")
    req = Scrubber().request(request(f"{LIVE}/oauth/token", form))
    body = req.body.decode()
    for secret in ("auth-code-123", "verifier-xyz-1", "shh-123456"):
        assert secret not in body
    assert "redirect_uri=https%3A%2F%2Fapp%2Fcb" in body
    assert req.headers == {}  # no Content-Length was sent, none is invented


def test_a_scrubbed_request_body_updates_content_length() -> None:
    req = Scrubber().request(request(body=b"password=pw-1234567", Content_Length="19"))
    assert req.headers["Content-Length"] == str(len(req.body))


def test_json_request_secrets_are_scrubbed_at_any_depth() -> None:
    body = json.dumps({"user": {"password": "hunter22", "name": "bob"},
                       "grant_type": "authorization_code", "code": "c0de-42xyz"})
    data = json.loads(Scrubber().request(request(body=body)).body)
    assert is_placeholder(data["user"]["password"])
    assert data["user"]["name"] == "bob"
    assert is_placeholder(data["code"])  # a JSON token request is an OAuth context


def test_ndjson_bodies_are_scrubbed_line_by_line() -> None:
    body = b'{"user": "a", "password": "pw-aaaa1111"}\n{"user": "b", "password": "pw-bbbb2222"}\n'
    scrubbed = Scrubber().request(request(body=body)).body
    lines = scrubbed.decode().splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["user"] for line in lines] == ["a", "b"]
    assert b"pw-aaaa1111" not in scrubbed
    assert b"pw-bbbb2222" not in scrubbed


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "text/html", None])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_token_responses_are_scrubbed_whatever_their_content_type_and_bom(
        content_type: str | None, bom: bytes) -> None:
    raw = bom + json.dumps({"access_token": TOKEN, "refresh_token": "rt-123456789",
                            "id_token": TOKEN + "x", "token_type": "Bearer"}).encode()
    headers = {"Content_Type": content_type} if content_type else {}
    resp = Scrubber().response(response(raw, Content_Length=str(len(raw)), **headers))
    body = resp["body"]["string"]
    assert body.startswith(bom)
    data = json.loads(body[len(bom):])
    assert all(is_placeholder(data[k]) for k in ("access_token", "refresh_token", "id_token"))
    assert data["token_type"] == "Bearer"
    assert resp["headers"]["Content-Length"] == [str(len(body))]


def test_a_form_encoded_token_response_is_scrubbed() -> None:
    resp = Scrubber().response(response(b"access_token=gho_abc123def456&token_type=bearer"))
    body = resp["body"]["string"].decode()
    assert body.startswith("access_token=**FILTERED-")
    assert body.endswith("&token_type=bearer")


def test_error_envelopes_keep_their_code() -> None:
    raw = b'{"error": {"code": "item_not_found", "message": "no such item"}}'
    resp = Scrubber().response(response(raw))
    assert resp["body"]["string"] is raw  # untouched, byte for byte


def test_a_non_utf8_body_is_left_alone() -> None:
    raw = b"\xff\xfe access_token=abc"
    assert Scrubber().response(response(raw))["body"]["string"] is raw


def test_scrub_response_body_keeps_the_type() -> None:
    text = scrub_response_body('{"access_token": "abc123456"}')
    assert isinstance(text, str)
    assert "abc123456" not in text
    assert b"abc123456" not in scrub_response_body(b'{"access_token": "abc123456"}')


def test_removed_names_are_kept_and_added_names_scrubbed() -> None:
    names = DEFAULT_SECRET_NAMES.remove(fields={"password"}).add(fields={"pin"})
    data = json.loads(Scrubber(names).body(b'{"password": "visible", "pin": "4321-99"}'))
    assert data["password"] == "visible"
    assert is_placeholder(data["pin"])


# -- placeholders ---------------------------------------------------------------------


def test_one_value_one_placeholder_distinct_values_distinct() -> None:
    scrubber = Scrubber()
    body = json.dumps({"a": {"access_token": "one-11111"}, "b": {"access_token": "one-11111"},
                       "c": {"access_token": "two-22222"}})
    data = json.loads(scrubber.body(body))
    assert data["a"] == data["b"]
    assert data["a"] != data["c"]


def test_the_token_placeholder_matches_the_next_bearer_header() -> None:
    scrubber = Scrubber()
    resp = scrubber.response(response(json.dumps({"access_token": TOKEN}).encode()))
    req = scrubber.request(request(Authorization=f"Bearer {TOKEN}"))
    issued = json.loads(resp["body"]["string"])["access_token"]
    assert req.headers["Authorization"] == f"Bearer {issued}"


def test_scrubbing_is_idempotent() -> None:
    scrubber = Scrubber()
    once = scrubber.body(b'{"access_token": "abc123456", "n": 1}')
    assert scrubber.body(once) is once
    assert Scrubber(key=b"another key").body(once) is once


def test_placeholders_hide_weak_secrets_behind_a_key() -> None:
    one = Scrubber(key=b"k1").placeholder("password1")
    assert one == Scrubber(key=b"k1").placeholder("password1")
    assert one != Scrubber(key=b"k2").placeholder("password1")


# -- origins --------------------------------------------------------------------------


def test_request_urls_move_to_the_canonical_origin() -> None:
    req = Scrubber(canonical_origin=CANON).request(request(f"{LIVE}/items?page=2"))
    assert req.uri == f"{CANON}/items?page=2"


def test_response_urls_of_recorded_origins_move_to_the_canonical_origin() -> None:
    scrubber = Scrubber(canonical_origin=CANON)
    scrubber.request(request(f"{LIVE}/items"))
    body = json.dumps({"next": f"{LIVE}/items?page=2", "elsewhere": "https://cdn.example/x",
                       "nested": [{"href": f"{LIVE}/a"}], "text": f"see {LIVE}/b"}).encode()
    resp = scrubber.response(response(
        body, Location=f"{LIVE}/new", Content_Location=f"{LIVE}/items?page=1",
        Link=f'<{LIVE}/items?page=2>; rel="next", </items?page=1>; rel="first"'))
    headers = resp["headers"]
    assert headers["Location"] == [f"{CANON}/new"]
    assert headers["Content-Location"] == [f"{CANON}/items?page=1"]
    assert headers["Link"] == [f'<{CANON}/items?page=2>; rel="next", </items?page=1>; rel="first"']
    data = json.loads(resp["body"]["string"])
    assert data["next"] == f"{CANON}/items?page=2"
    assert data["nested"] == [{"href": f"{CANON}/a"}]
    assert data["elsewhere"] == "https://cdn.example/x"  # not a recorded origin
    assert data["text"] == f"see {LIVE}/b"  # prose is not a URL


def test_without_a_canonical_origin_urls_stay() -> None:
    scrubber = Scrubber()
    assert scrubber.request(request(f"{LIVE}/items")).uri == f"{LIVE}/items"
    resp = scrubber.response(response(Location=f"{LIVE}/new"))
    assert resp["headers"]["Location"] == [f"{LIVE}/new"]


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8765/api", "ftp://host", "127.0.0.1:8765",
                                    "http://user:pw@host"])
def test_a_canonical_origin_must_be_an_origin(origin: str) -> None:
    with pytest.raises(ValueError, match=r"origin|http"):
        Scrubber(canonical_origin=origin)


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTP://Example.COM:80/x", "http://example.com"),
    ("https://example.com:443", "https://example.com"),
    ("http://127.0.0.1:8765/a?b", "http://127.0.0.1:8765"),
    ("http://[::1]:9000/", "http://[::1]:9000"),
])
def test_canonical_origin_normalises(url: str, expected: str) -> None:
    assert canonical_origin(url) == expected
