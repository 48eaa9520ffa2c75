"""The Cat API example, replayed with the kit: an ``X-Api-Key``, error envelopes whose
``error.code`` must survive scrubbing, page-number and ``Link`` pagination.

Recorded (``make record``) from ``examples.cat_api.server`` with a plain client; this
module's fixtures replace the Cars ones of ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import mysdk
from examples.cat_api.server import API_KEY, CatServer
from mysdk.testing import Recorder

pytestmark = pytest.mark.replay


@pytest.fixture
def cat_server(mysdk_recording: bool) -> Iterator[CatServer | None]:
    """The live Cat API while recording; ``None`` while replaying."""
    if not mysdk_recording:
        yield None
        return
    with CatServer() as server:
        yield server


@pytest.fixture
def mysdk_live_url(cat_server: CatServer | None) -> str | None:
    return cat_server.url if cat_server is not None else None


@pytest.fixture
def mysdk_make_client(mysdk_recording: bool) -> Callable[[str], mysdk.Client]:
    key = API_KEY if mysdk_recording else "replay-dummy-key"  # CI has no real key

    def make(base_url: str) -> mysdk.Client:
        return mysdk.Client(base_url=base_url, auth=mysdk.APIKey(key, header="X-Api-Key"),
                            retry=None)

    return make


def test_cats_page_by_page(recorded_client: mysdk.Client, mysdk_recorder: Recorder) -> None:
    names: list[str] = []
    page = 1
    while True:
        data = recorded_client.get("/cats", params={"page": page, "per_page": 2})
        names += [cat["name"] for cat in data["items"]]
        if page >= data["total_pages"]:
            break
        page += 1
    assert names == ["Tom", "Felix", "Garfield"]
    mysdk_recorder.assert_all_played()


def test_photos_follow_the_link_header(recorded_client: mysdk.Client,
                                       mysdk_recorder: Recorder) -> None:
    cat = recorded_client.get("/cats/random")
    resp = recorded_client.request("GET", f"/cats/{cat['id']}/photos", params={"limit": 2})
    ids: list[int] = []
    while True:
        ids += [photo["id"] for photo in resp.json()]
        next_url = resp.links.get("next", {}).get("url")
        if next_url is None:
            break
        resp = recorded_client.request("GET", next_url)
    assert ids == [1, 2, 3, 4, 5]
    mysdk_recorder.assert_all_played()


def test_an_unknown_cat_keeps_its_error_code(recorded_client: mysdk.Client) -> None:
    with pytest.raises(mysdk.NotFoundError) as info:
        recorded_client.get("/cats/999999")
    assert info.value.body["error"]["code"] == "cat_not_found"


def test_create_then_read_a_cat(recorded_client: mysdk.Client) -> None:
    cat = recorded_client.post("/cats", json={"name": "Luna", "color": "white"})
    assert (cat["name"], cat["color"]) == ("Luna", "white")
    assert recorded_client.get(f"/cats/{cat['id']}") == cat


def test_a_cat_without_a_name_is_refused(recorded_client: mysdk.Client) -> None:
    with pytest.raises(mysdk.UnprocessableEntityError) as info:
        recorded_client.post("/cats", json={"color": "grey"})
    assert info.value.body["error"]["code"] == "invalid_cat"
