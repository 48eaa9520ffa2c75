"""Nothing raw escapes (issue 7, point 5): every failure is a MySDKError.

Deeply nested JSON, huge numbers, bad methods and header values, arbitrary
bodies, headers and token responses: the client raises only MySDKError
subclasses (argument errors as InvalidRequestError), and never quotes a header
value in an error or its chain.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mysdk
from mysdk import APIStatusError, DecodeError, InvalidRequestError, MySDKError

BASE = "https://api.example.com"
TOKEN_URL = "https://auth.example.com/token"
NESTED = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def rs() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    item: BaseException | None = exc
    while item is not None and len(out) < 20:
        out.append(item)
        item = item.__cause__ or item.__context__
    return out


def test_a_deeply_nested_2xx_body_is_a_decode_error(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/x", body=NESTED, content_type="application/json")
    with pytest.raises(DecodeError):
        mysdk.Client(base_url=BASE, retry=None).get("/x")


def test_a_deeply_nested_error_body_is_kept_as_text(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/x", status=400, body=NESTED, content_type="application/json")
    with pytest.raises(APIStatusError) as info:
        mysdk.Client(base_url=BASE, retry=None).get("/x")
    assert isinstance(info.value.body, str)
    pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own data


def test_a_huge_integer_in_a_body_is_a_decode_error(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/x", body="1" * 5000, content_type="application/json")
    with pytest.raises(DecodeError):
        mysdk.Client(base_url=BASE, retry=None).get("/x")


def test_a_nested_token_response_is_an_auth_error(rs: responses.RequestsMock) -> None:
    rs.post(TOKEN_URL, body='{"access_token": ' + NESTED + "}",
            content_type="application/json")
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    with pytest.raises(mysdk.AuthError):
        mysdk.Client(base_url=BASE, auth=provider, retry=None).get("/x")


@pytest.mark.parametrize("method", [None, "", "GET\r\nX-Evil: 1", "GET X", "G\x00T", 7, "GÉT"])
def test_a_malformed_method_is_an_invalid_request(method: object) -> None:
    with pytest.raises(InvalidRequestError, match="method"):
        mysdk.Client(base_url=BASE).request(method, "/x")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "caf\u00e9\u2603", "\x00", " lead", 5])
def test_a_malformed_header_value_is_refused_without_quoting_it(value: object) -> None:
    with pytest.raises(InvalidRequestError) as per_call:
        mysdk.Client(base_url=BASE).get("/x", headers={"X-Secret": value})
    with pytest.raises(InvalidRequestError) as per_client:
        mysdk.Client(base_url=BASE, headers={"X-Secret": value})  # type: ignore[dict-item]
    for info in (per_call, per_client):
        assert "X-Secret" in str(info.value)
        if isinstance(value, str):
            assert value not in str(info.value)


@pytest.mark.parametrize("name", ["Bad Name", "X-\u00e9", "", "a:b"])
def test_a_malformed_header_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError):
        mysdk.Client(base_url=BASE).get("/x", headers={name: "v"})


def test_a_non_latin1_api_key_is_refused_when_built() -> None:
    with pytest.raises(InvalidRequestError):
        mysdk.APIKey("k\u2603y")


@pytest.mark.parametrize("path", [None, 3, b"/x"])
def test_a_path_that_is_not_a_string_is_refused(path: object) -> None:
    with pytest.raises(InvalidRequestError):
        mysdk.Client(base_url=BASE).get(path)  # type: ignore[arg-type]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
_bodies = st.one_of(
    st.binary(max_size=200),
    _json.map(lambda v: __import__("json").dumps(v).encode()),
    st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    st.sampled_from([b"\xef\xbb\xbf{}", b"\xff\xfe{", b"1e999", b"-" * 10, b"1" * 5000]),
)
_header_values = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFF),
                         max_size=30)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.sampled_from([200, 201, 204, 301, 302, 304, 307, 400, 401, 404, 429, 500, 503]),
       body=_bodies,
       content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; "
                                     "charset=bogus", "application/json; charset=utf-16"]),
       header=_header_values,
       location=st.one_of(st.none(), _header_values, st.just("//other.example/x")))
def test_any_response_ends_in_a_value_or_a_mysdk_error(
    status: int, body: bytes, content_type: str, header: str, location: str | None
) -> None:
    headers = {"X-Anything": header.encode("utf-8").decode("latin-1"), "Retry-After": header
               .encode("utf-8").decode("latin-1")}
    if location is not None:
        headers["Location"] = location.encode("utf-8").decode("latin-1")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.UpstreamResponse if False else "GET", f"{BASE}/x", status=status,
                 body=body, headers={k: v for k, v in headers.items()
                                     if "\r" not in v and "\n" not in v},
                 content_type=content_type or None)
        mock.add("GET", f"{BASE}/other", json={})
        client = mysdk.Client(base_url=BASE, retry=mysdk.RetryPolicy(max_attempts=2,
                              base_delay=0, max_retry_after=0), sleep=lambda s: None)
        try:
            client.get("/x")
        except MySDKError as exc:
            str(exc), repr(exc)
            pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own data


@settings(max_examples=150)
@given(status=st.sampled_from([200, 201, 302, 400, 401, 429, 500, 503]),
       body=st.one_of(_bodies, st.fixed_dictionaries(
           {"access_token": st.one_of(st.text(max_size=30), st.integers(), st.none()),
            "token_type": st.one_of(st.text(max_size=12), st.none(), st.integers()),
            "expires_in": st.one_of(st.integers(), st.floats(), st.text(max_size=8),
                                    st.none(), st.booleans())})
           .map(lambda v: __import__("json").dumps(v).encode())))
def test_any_token_response_ends_in_a_token_or_a_mysdk_error(status: int, body: bytes) -> None:
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, status=status, body=body, content_type="application/json")
        mock.get(f"{BASE}/x", json={"ok": True})
        client = mysdk.Client(base_url=BASE, auth=provider, retry=None)
        try:
            assert client.get("/x") == {"ok": True}
        except MySDKError as exc:
            for link in _chain(exc):
                assert "Bearer" not in str(link)
