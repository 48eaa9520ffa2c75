"""Token: secrets masked, token responses parsed strictly, persisted form round-trips."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mysdk.errors import TokenRequestError
from mysdk.tokens import Token
from mysdk.tokens.token import MAX_EXPIRES_IN

ACCESS = "secret-access-3f9a"
REFRESH = "secret-refresh-77c1"


def full_token() -> Token:
    return Token(
        access_token=ACCESS,
        token_type="Bearer",
        expires_at=2000.0,
        refresh_token=REFRESH,
        scope="read write",
        issued_at=1000.0,
        refresh_at=1500.0,
    )


def test_repr_and_str_mask_secrets() -> None:
    token = full_token()
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert ACCESS not in text
        assert REFRESH not in text
    assert "expires_at=2000.0" in repr(token)


def test_empty_access_token_is_rejected() -> None:
    with pytest.raises(ValueError, match="access_token"):
        Token(access_token="")


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [(3600, 4600.0), ("3600", 4600.0), (1.5, 1001.5), (0, 1000.0), (" 60 ", 1060.0),
     ("2.5", 1002.5), (10**20, 1000.0 + MAX_EXPIRES_IN), (1e300, 1000.0 + MAX_EXPIRES_IN),
     (MAX_EXPIRES_IN + 1, 1000.0 + MAX_EXPIRES_IN)],
)
def test_from_response_expires_in(expires_in: Any, expected: float) -> None:
    token = Token.from_response(
        {"access_token": ACCESS, "expires_in": expires_in}, issued_at=1000.0
    )
    assert token.expires_at == expected
    assert token.issued_at == 1000.0
    assert token.lifetime == expected - 1000.0


def test_from_response_without_expires_in() -> None:
    token = Token.from_response(
        {"access_token": ACCESS, "token_type": "bearer", "refresh_token": REFRESH, "scope": "a"},
        issued_at=1000.0,
    )
    assert token.expires_at is None
    assert token.lifetime is None
    assert token.refresh_token == REFRESH
    assert token.scope == "a"
    assert token.refresh_at is None
    assert not token.is_expired(1e12)


def test_from_response_defaults() -> None:
    token = Token.from_response(
        {"access_token": ACCESS, "refresh_token": "", "scope": 7}, issued_at=1.0
    )
    assert token.token_type == "Bearer"
    assert token.refresh_token is None
    assert token.scope is None


def test_max_expires_in_is_ten_years() -> None:
    assert MAX_EXPIRES_IN == 10 * 365 * 24 * 3600


@pytest.mark.parametrize("token_type", [None, "Bearer", "bearer", "BEARER", "bEaReR"])
def test_from_response_bearer_token_types(token_type: str | None) -> None:
    data: dict[str, Any] = {"access_token": ACCESS}
    if token_type is not None:
        data["token_type"] = token_type
    token = Token.from_response(data, issued_at=0.0)
    assert token.token_type == "Bearer"
    assert token.authorization() == f"Bearer {ACCESS}"


@pytest.mark.parametrize(
    "token_type", ["mac", "DPoP", "123", 123, "", f"Bearer {ACCESS}", " Bearer", ["Bearer"],
                   True],
    ids=repr,
)
def test_from_response_refuses_other_token_types(token_type: Any) -> None:
    with pytest.raises(TokenRequestError, match="token_type") as info:
        Token.from_response({"access_token": ACCESS, "token_type": token_type}, issued_at=0.0)
    assert info.value.error == "invalid_response"
    assert info.value.__context__ is None
    for text in (str(info.value), repr(info.value), str(info.value.args)):
        assert ACCESS not in text


@pytest.mark.parametrize(
    "access_token",
    [f"{ACCESS}\r\nX: 1", f"{ACCESS}\n", f"{ACCESS}\x00", f"{ACCESS}\t", f"{ACCESS}\x7f",
     f"{ACCESS} x", f" {ACCESS}", f"{ACCESS} ", f"{ACCESS}\u20ac", f"{ACCESS}\u00e9",
     f"{ACCESS}\x85"],
    ids=repr,
)
def test_access_token_must_be_header_safe(access_token: str) -> None:
    with pytest.raises(TokenRequestError, match="access_token") as info:
        Token.from_response({"access_token": access_token}, issued_at=0.0)
    assert info.value.error == "invalid_response"
    assert info.value.__context__ is None
    assert ACCESS not in str(info.value)
    with pytest.raises(ValueError, match="access_token") as direct:
        Token(access_token=access_token)
    assert ACCESS not in str(direct.value)


def test_a_stored_token_that_is_not_header_safe_is_refused() -> None:
    data = full_token().to_dict()
    data["access_token"] = f"{ACCESS}\r\nX-Evil: 1"
    with pytest.raises(ValueError, match="access_token") as info:
        Token.from_json(json.dumps(data))
    assert ACCESS not in str(info.value)


@pytest.mark.parametrize(
    "expires_in",
    [True, False, math.nan, "nan", math.inf, "-inf", "garbage", "", [3600], {"s": 1},
     -5, -0.5, "-1", 10**400, -(10**400), "1e999", "9" * 5000, "0x10", "1_000", "\u0663"],
    ids=lambda v: repr(v)[:20],
)
def test_from_response_bad_expires_in(expires_in: Any) -> None:
    with pytest.raises(TokenRequestError, match="expires_in") as info:
        Token.from_response(
            {"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": expires_in},
            issued_at=1000.0,
        )
    error = info.value
    assert error.error == "invalid_response"
    assert error.__context__ is None
    for text in (str(error), repr(error), str(error.args)):
        assert ACCESS not in text
        assert REFRESH not in text


@pytest.mark.parametrize("access_token", [None, "", 42, ["x"]])
def test_from_response_without_access_token(access_token: Any) -> None:
    with pytest.raises(TokenRequestError, match="access_token") as info:
        Token.from_response({"access_token": access_token, "refresh_token": REFRESH}, issued_at=0.0)
    assert info.value.error == "invalid_response"
    assert REFRESH not in str(info.value)


def test_to_dict_from_dict_round_trip() -> None:
    token = full_token()
    data = token.to_dict()
    assert set(data) == {
        "access_token",
        "token_type",
        "expires_at",
        "refresh_token",
        "scope",
        "issued_at",
        "refresh_at",
    }
    assert Token.from_dict(data) == token


def test_from_dict_accepts_ints_and_nulls() -> None:
    token = Token.from_dict(
        {
            "access_token": ACCESS,
            "token_type": "Bearer",
            "issued_at": 5,
            "expires_at": 10,
            "refresh_token": None,
            "scope": None,
            "refresh_at": None,
        }
    )
    assert token.issued_at == 5.0
    assert isinstance(token.issued_at, float)
    assert token.expires_at == 10.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("access_token", 123),
        ("access_token", None),
        ("token_type", None),
        ("issued_at", "1000"),
        ("issued_at", True),
        ("expires_at", "2000"),
        ("expires_at", False),
        ("refresh_token", 5),
        ("scope", ["read"]),
        ("refresh_at", "soon"),
    ],
)
def test_from_dict_wrong_type_names_field(field: str, value: Any) -> None:
    data = full_token().to_dict()
    data[field] = value
    with pytest.raises(ValueError, match=repr(field)) as info:
        Token.from_dict(data)
    assert ACCESS not in str(info.value)
    assert REFRESH not in str(info.value)


def test_from_dict_missing_field() -> None:
    data = full_token().to_dict()
    del data["issued_at"]
    with pytest.raises(ValueError, match="'issued_at'"):
        Token.from_dict(data)


def test_fingerprint_is_stable_and_not_the_token() -> None:
    token = full_token()
    assert token.fingerprint == full_token().fingerprint
    assert len(token.fingerprint) == 12
    assert token.fingerprint not in ACCESS
    assert ACCESS not in token.fingerprint
    other = Token(access_token="secret-access-other")
    assert other.fingerprint != token.fingerprint


@pytest.mark.parametrize(
    ("token_type", "header"),
    [
        ("Bearer", "Bearer abc"),
        ("bearer", "Bearer abc"),
        ("BEARER", "Bearer abc"),
        ("MAC", "Bearer abc"),  # only Bearer is ever sent (RFC 6750 §2.1)
        ("Bearer X", "Bearer abc"),
    ],
)
def test_authorization_header(token_type: str, header: str) -> None:
    assert Token(access_token="abc", token_type=token_type).authorization() == header


def test_expiry_and_refresh_checks() -> None:
    token = full_token()
    assert not token.is_expired(1999.9)
    assert token.is_expired(2000.0)
    assert not token.needs_refresh(1499.0)
    assert token.needs_refresh(1500.0)
    later = token.with_refresh_at(None)
    assert later.refresh_at is None
    assert token.refresh_at == 1500.0  # copies, never mutates
    assert not later.needs_refresh(1999.0)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
tokens = st.builds(
    Token,
    access_token=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
    token_type=st.text(),
    expires_at=st.none() | finite,
    refresh_token=st.none() | st.text(),
    scope=st.none() | st.text(),
    issued_at=finite,
    refresh_at=st.none() | finite,
)


@settings(database=None, max_examples=150, deadline=None)
@given(tokens)
def test_round_trip_property(token: Token) -> None:
    assert Token.from_dict(json.loads(json.dumps(token.to_dict()))) == token
