"""Declared resources and operations (issue 8 §2): paths, nesting, argument
placement, statuses, raw responses, credentials per resource and operation."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import responses
from responses import matchers

import mysdk
from mysdk import NOT_GIVEN, NotGiven

BASE = "https://api.example.com"


@dataclass(frozen=True)
class Item:
    id: int
    name: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Item:
        return cls(id=data["id"], name=data["name"])


class Items(mysdk.Resource):
    path = "/v2/owners/{owner_id}/items"
    item = "item_id"

    @mysdk.get("/{item_id}")
    def get(self, item_id: int | str) -> Item:
        raise NotImplementedError

    @mysdk.get("/{item_id}")
    def fetch(self) -> Item:
        raise NotImplementedError

    @mysdk.post("", expect=(201,))
    def create(self, *, name: str, tags: list[str] | None = None) -> Item:
        raise NotImplementedError

    @mysdk.patch("/{item_id}")
    def update(self, item_id: int, *, name: str | NotGiven = NOT_GIVEN,
               note: str | NotGiven | None = NOT_GIVEN, count: int | NotGiven = NOT_GIVEN) -> Item:
        raise NotImplementedError

    @mysdk.delete("/{item_id}", expect=(204,))
    def remove(self, item_id: int) -> None:
        raise NotImplementedError

    @mysdk.get("", query=("q",), headers={"if_none_match": "If-None-Match"})
    def search(self, q: str, limit: int = 10, *, active: bool = False,
               if_none_match: str | None = None) -> list[Item]:
        raise NotImplementedError

    @mysdk.post("/upload", files=("file",), form=("title",))
    def upload(self, *, file: Any, title: str) -> Any:
        raise NotImplementedError

    @mysdk.put("/{item_id}", body="item")
    def replace(self, item_id: int, item: Any) -> Item:
        raise NotImplementedError

    @mysdk.get("/raw")
    def raw_response(self) -> requests.Response:
        raise NotImplementedError


class Owners(mysdk.Resource):
    path = "/v2/owners"
    item = "owner_id"
    items = mysdk.resource(Items)


class AdminUsers(mysdk.Resource):
    path = "/admin/users"
    credentials = "admin"

    @mysdk.get("")
    def list(self) -> Any:
        raise NotImplementedError

    @mysdk.get("/public", credentials=None)
    def public(self) -> Any:
        raise NotImplementedError


class Acme(mysdk.Client):
    owners = mysdk.resource(Owners)
    users = mysdk.resource(AdminUsers)

    @mysdk.get("/health")
    def health(self) -> dict[str, Any]:
        raise NotImplementedError


@pytest.fixture
def rs() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client() -> Acme:
    return Acme(base_url=BASE, retry=None)


ITEM = {"id": 9, "name": "nine"}


def test_nested_resources_bind_their_parents_parameters(
    rs: responses.RequestsMock, client: Acme
) -> None:
    rs.get(f"{BASE}/v2/owners/1/items/9", json=ITEM)
    rs.get(f"{BASE}/v2/owners/1/items/9", json=ITEM)
    assert client.owners(1).items.get(9) == Item(9, "nine")
    assert client.owners(1).items(9).fetch() == Item(9, "nine")


@pytest.mark.parametrize(("value", "encoded"), [
    ("a/b", "a%2Fb"), ("x?y#z", "x%3Fy%23z"), (0, "0"), (False, "false"), ("é", "%C3%A9"),
    ("..x", "..x"),
])
def test_path_parameters_are_percent_encoded_and_falsy_values_kept(
    rs: responses.RequestsMock, client: Acme, value: object, encoded: str
) -> None:
    rs.get(f"{BASE}/v2/owners/{encoded}/items/1", json=ITEM)
    client.owners(value).items.get(1)
    assert rs.calls[0].request.path_url == f"/v2/owners/{encoded}/items/1"


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_dot_segments_and_empty_parameters_are_refused(client: Acme, value: str) -> None:
    with pytest.raises(mysdk.InvalidRequestError, match="owner_id"):
        client.owners(value).items.get(1)


def test_a_missing_path_parameter_is_named(client: Acme) -> None:
    with pytest.raises(mysdk.InvalidRequestError, match="missing path parameter 'owner_id'"):
        client.owners.items.get(1)
    with pytest.raises(mysdk.InvalidRequestError, match="item_id"):
        client.owners(1).items.fetch()


def test_a_missing_or_unknown_argument_is_named(client: Acme) -> None:
    with pytest.raises(mysdk.InvalidRequestError, match="missing the argument 'name'"):
        client.owners(1).items.create()  # type: ignore[call-arg]
    with pytest.raises(mysdk.InvalidRequestError, match="unexpected argument 'nope'"):
        client.owners(1).items.get(1, nope=2)  # type: ignore[call-arg]


def test_post_sends_the_remaining_arguments_as_json_and_checks_the_status(
    rs: responses.RequestsMock, client: Acme
) -> None:
    rs.post(f"{BASE}/v2/owners/1/items", status=201, json=ITEM,
            match=[matchers.json_params_matcher({"name": "n", "tags": None})])
    rs.post(f"{BASE}/v2/owners/1/items", status=200, json=ITEM)
    assert client.owners(1).items.create(name="n") == Item(9, "nine")
    with pytest.raises(mysdk.APIStatusError, match=r"expects \[201\]"):
        client.owners(1).items.create(name="n")


def test_patch_sends_only_given_fields_and_keeps_null_and_falsy(
    rs: responses.RequestsMock, client: Acme
) -> None:
    rs.patch(f"{BASE}/v2/owners/1/items/9", json=ITEM,
             match=[matchers.json_params_matcher({"note": None, "count": 0})])
    client.owners(1).items.update(9, note=None, count=0)


def test_query_headers_and_defaults(rs: responses.RequestsMock, client: Acme) -> None:
    rs.get(f"{BASE}/v2/owners/1/items", json=[ITEM], match=[
        matchers.query_param_matcher({"q": "x", "limit": "10", "active": "false"}),
        matchers.header_matcher({"If-None-Match": '"v1"'})])
    assert client.owners(1).items.search("x", if_none_match='"v1"') == [Item(9, "nine")]


def test_multipart_upload_with_form_fields(rs: responses.RequestsMock, client: Acme) -> None:
    rs.post(f"{BASE}/v2/owners/1/items/upload", json={"ok": True})
    client.owners(1).items.upload(file=("a.txt", b"hello", "text/plain"), title="T")
    sent = rs.calls[0].request
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert b"hello" in sent.body
    assert b'name="title"' in sent.body


def test_a_body_argument_is_the_whole_json_body(rs: responses.RequestsMock, client: Acme) -> None:
    rs.put(f"{BASE}/v2/owners/1/items/9", json=ITEM,
           match=[matchers.json_params_matcher({"id": 9, "name": "nine"})])
    client.owners(1).items.replace(9, {"id": 9, "name": "nine"})


def test_delete_returns_none_and_refuses_another_status(
    rs: responses.RequestsMock, client: Acme
) -> None:
    rs.delete(f"{BASE}/v2/owners/1/items/9", status=204)
    rs.delete(f"{BASE}/v2/owners/1/items/9", status=200, json={})
    assert client.owners(1).items.remove(9) is None
    with pytest.raises(mysdk.APIStatusError):
        client.owners(1).items.remove(9)


def test_raw_gives_status_headers_and_the_parsed_value(
    rs: responses.RequestsMock, client: Acme
) -> None:
    rs.get(f"{BASE}/v2/owners/1/items/9", json=ITEM, headers={"X-Request-Id": "r-1"})
    raw = client.owners(1).items.get.raw(9)
    assert raw.status_code == 200
    assert raw.request_id == "r-1"
    assert raw.parsed == Item(9, "nine")


def test_a_model_that_does_not_fit_is_a_decode_error(
    rs: responses.RequestsMock, client: Acme
) -> None:
    rs.get(f"{BASE}/v2/owners/1/items/9", json={"id": 9})
    with pytest.raises(mysdk.DecodeError, match=r"Items\.get"):
        client.owners(1).items.get(9)


def test_operations_on_the_client_itself(rs: responses.RequestsMock, client: Acme) -> None:
    rs.get(f"{BASE}/health", json={"ok": True})
    assert client.health() == {"ok": True}


def test_credentials_per_resource_and_per_operation(rs: responses.RequestsMock) -> None:
    client = Acme(base_url=BASE, auth=mysdk.APIKey("k-1"),
                  credentials={"admin": mysdk.StaticToken("admin-token")}, retry=None)
    rs.get(f"{BASE}/admin/users", json=[], match=[
        matchers.header_matcher({"Authorization": "Bearer admin-token"})])
    rs.get(f"{BASE}/admin/users/public", json=[])
    rs.get(f"{BASE}/health", json={}, match=[matchers.header_matcher({"X-API-Key": "k-1"})])
    client.users.list()
    client.users.public()
    client.health()
    assert "Authorization" not in rs.calls[1].request.headers
    assert "X-API-Key" not in rs.calls[0].request.headers


def test_unknown_credentials_are_named(client: Acme) -> None:
    with pytest.raises(mysdk.InvalidRequestError, match="no credentials named 'admin'"):
        client.users.list()


def test_with_options_on_a_resource_and_a_client(rs: responses.RequestsMock, client: Acme) -> None:
    rs.get(f"{BASE}/v2/owners/1/items/9", json=ITEM, match=[
        matchers.header_matcher({"X-Trace": "t1"}), matchers.query_param_matcher({"v": "2"})])
    rs.get(f"{BASE}/health", json={}, match=[matchers.header_matcher({"X-Trace": "t2"})])
    client.owners(1).items.with_options(headers={"X-Trace": "t1"}, params={"v": 2}).get(9)
    other = client.with_options(headers={"X-Trace": "t2"}, timeout=3)
    other.health()
    assert other.timeout == 3
    assert client.timeout != 3
    assert "X-Trace" not in client._headers
    assert other.owners is not client.owners


def test_with_options_shares_the_session_and_never_closes_it() -> None:
    client = Acme(base_url=BASE)
    other = client.with_options(timeout=2)
    assert other._session is client._session
    other.close()
    assert client._session.adapters
    client.close()


def _declaration_error(build: Any) -> str:
    # Python 3.11 wraps an error raised in __set_name__ in a RuntimeError.
    with pytest.raises((TypeError, RuntimeError)) as info:
        build()
    return f"{info.value} {info.value.__cause__}"


def test_declarations_check_their_parameters_at_class_creation() -> None:
    def unknown_parameter() -> None:
        class Bad(mysdk.Resource):
            @mysdk.get("", query=("nope",))
            def list(self) -> Any:
                raise NotImplementedError

    def bad_template() -> None:
        class Worse(mysdk.Resource):
            path = "/x/{id"

            @mysdk.get("")
            def list(self) -> Any:
                raise NotImplementedError

    assert "nope" in _declaration_error(unknown_parameter)
    assert "unbalanced" in _declaration_error(bad_template)


def test_declaring_performs_no_io(rs: responses.RequestsMock) -> None:
    class Quiet(mysdk.Resource):
        path = "/q"

        @mysdk.get("")
        def list(self) -> Any:
            raise NotImplementedError

    assert len(rs.calls) == 0  # nothing was sent by declaring
    spec = Quiet.list.spec
    assert (spec.method, spec.path, spec.name) == ("GET", "", "Quiet.list")


def test_the_response_check_applies_to_operations(rs: responses.RequestsMock) -> None:
    class Slack(mysdk.Client):
        response_check = mysdk.BodyFlag("ok", error="error")

        @mysdk.post("/chat.postMessage")
        def post_message(self, *, channel: str, text: str) -> dict[str, Any]:
            raise NotImplementedError

    rs.post(f"{BASE}/chat.postMessage", json={"ok": False, "error": "channel_not_found"})
    with pytest.raises(mysdk.APIResponseError) as info:
        Slack(base_url=BASE).post_message(channel="c", text="t")
    assert info.value.code == "channel_not_found"
    assert info.value.status_code == 200


def test_json_body_values_are_serialised_once(rs: responses.RequestsMock, client: Acme) -> None:
    rs.post(f"{BASE}/v2/owners/1/items", status=201, json=ITEM)
    client.owners(1).items.create(name="n", tags=["a"])
    assert json.loads(rs.calls[0].request.body) == {"name": "n", "tags": ["a"]}
