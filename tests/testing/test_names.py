"""Secret names: defaults, per-project changes, and the client's credential headers."""

from __future__ import annotations

import pytest
import requests

import mysdk
from mysdk.testing import (
    DEFAULT_SECRET_NAMES,
    OAUTH_FIELDS,
    SECRET_FIELDS,
    SECRET_HEADERS,
    SecretNames,
    credential_headers,
    is_placeholder,
)


def test_defaults_cover_the_oauth_secrets_and_not_a_bare_code() -> None:
    for name in ("access_token", "refresh_token", "id_token", "client_secret", "password",
                 "device_code", "code_verifier"):
        assert name in SECRET_FIELDS
    assert "code" not in SECRET_FIELDS
    assert "code" in OAUTH_FIELDS
    assert {"authorization", "proxy-authorization", "cookie", "set-cookie",
            "x-api-key"} == SECRET_HEADERS


def test_code_is_secret_only_in_an_oauth_context() -> None:
    assert not DEFAULT_SECRET_NAMES.is_secret_field("code")
    assert DEFAULT_SECRET_NAMES.is_secret_field("code", oauth=True)
    assert DEFAULT_SECRET_NAMES.is_secret_field("access_token")


def test_names_are_compared_case_insensitively() -> None:
    names = SecretNames(headers=frozenset({"X-Custom-Key"}))
    assert names.is_secret_header("x-custom-key")
    assert names.is_secret_header("X-CUSTOM-KEY")
    assert DEFAULT_SECRET_NAMES.is_secret_field("Access_Token")


def test_add_and_remove_return_new_values() -> None:
    names = DEFAULT_SECRET_NAMES.add(fields={"pin"}, headers={"X-Session"}).remove(
        fields={"password"})
    assert names.is_secret_field("pin")
    assert names.is_secret_header("x-session")
    assert not names.is_secret_field("password")
    assert DEFAULT_SECRET_NAMES.is_secret_field("password")  # the default is untouched
    assert not DEFAULT_SECRET_NAMES.is_secret_field("pin")


def test_a_single_string_is_refused_as_a_collection() -> None:
    with pytest.raises(TypeError, match="collection of names"):
        DEFAULT_SECRET_NAMES.add(fields="pin")


@pytest.mark.parametrize(("auth", "expected"), [
    (mysdk.APIKey("k", header="Api-Key"), {"Api-Key"}),
    (mysdk.StaticToken("t"), {"Authorization"}),
    (mysdk.ClientCredentials(token_url="https://auth.example.test/token", client_id="c",
                             client_secret="s"), {"Authorization"}),
    (None, set()),
])
def test_credential_headers_come_from_the_client(auth: object, expected: set[str]) -> None:
    client = mysdk.Client(base_url="https://api.example.test", auth=auth)  # type: ignore[arg-type]
    assert credential_headers(client) == expected


def test_credential_headers_include_named_credentials_and_gateway_headers() -> None:
    session = requests.Session()
    session.headers["Ocp-Apim-Subscription-Key"] = "gateway-key"
    session.headers["X-Trace"] = "not a credential"
    client = mysdk.Client(base_url="https://api.example.test", session=session,
                          auth=mysdk.StaticToken("t"),
                          credentials={"admin": mysdk.APIKey("k", header="X-Admin-Key")})
    assert credential_headers(client) == {"Authorization", "X-Admin-Key",
                                          "Ocp-Apim-Subscription-Key"}


@pytest.mark.parametrize(("value", "expected"), [
    ("**FILTERED**", True), ("**FILTERED-0123abcd**", True),
    ("%2A%2AFILTERED-0123abcd%2A%2A", True), ("**FILTERED-xyz**", False),
    ("FILTERED", False), ("Bearer **FILTERED-0123abcd**", False),
])
def test_is_placeholder(value: str, expected: bool) -> None:
    assert is_placeholder(value) is expected
