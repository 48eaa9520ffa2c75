"""Record real exchanges from loopback servers, then replay them from another port.

Recordings hold every secret kind (headers both ways, query, form/JSON/NDJSON
bodies, BOM and text/plain token responses, cookies, echoes, authorization codes)
and must come out clean; the same flows must then replay, with the network
blocked, on the canonical origin (a port nothing listens on), with the same results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import vcr

import mysdk
from examples.cars_sdk import CarsClient
from mysdk.testing import (
    DEFAULT_CANONICAL_ORIGIN,
    block_network,
    is_placeholder,
    make_vcr,
    scan_text,
)
from refserver import RunningServer
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.testing.tiny_api import CLIENT_ID, PAGES, TinyAPI

CANON = DEFAULT_CANONICAL_ORIGIN
SEARCH_TOKEN = "qt-7Hq2ZmX9pL4v"
PASSWORDS = ("pw-Alpha-1234", "pw-Bravo-5678")
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def api_client(base_url: str, api_key: str) -> mysdk.Client:
    return mysdk.Client(base_url=base_url, auth=mysdk.APIKey(api_key, header="Api-Key"),
                        retry=None)


def oauth_client(base_url: str, client_secret: str) -> mysdk.Client:
    provider = mysdk.ClientCredentials(token_url=f"{base_url}/oauth/token", client_id=CLIENT_ID,
                                       client_secret=client_secret)
    return mysdk.Client(base_url=base_url, auth=provider, retry=None)


def every_secret_kind(api: mysdk.Client, oauth: mysdk.Client, session: requests.Session,
                      base_url: str) -> dict[str, Any]:
    """Exchanges carrying every secret kind; returns what a test would assert on."""
    out: dict[str, Any] = {"whoami": api.get("/whoami")}  # Api-Key echoed, Set-Cookie
    out["search"] = api.get("/search", params={"access_token": SEARCH_TOKEN, "q": "volvo"})[
        "results"]  # a query secret, echoed in the body's self URL
    ndjson = "".join(json.dumps({"user": f"u{i}", "password": p}) + "\n"
                     for i, p in enumerate(PASSWORDS))
    bulk = api.request("POST", "/bulk", data=ndjson.encode(),
                       headers={"Content-Type": "application/x-ndjson"})
    out["bulk"] = [json.loads(line)["user"] for line in bulk.text.splitlines()]
    with pytest.raises(mysdk.NotFoundError) as info:
        api.get("/missing")  # the error envelope's code must survive scrubbing
    out["missing"] = info.value.body["error"]["code"]
    out["moved"] = oauth.get("/new")  # client credentials: Basic auth, a BOM token response
    location = session.get(f"{base_url}/authorize", allow_redirects=False).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = session.post(f"{base_url}/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
        "redirect_uri": f"{base_url}/callback"})  # answered as text/plain
    out["code_token_type"] = token.json()["token_type"]
    out["callback"] = api.get("/authorize")  # the client follows the 302 to /callback?code=
    return out


def record_every_secret_kind(recorder: vcr.VCR, tiny_api: TinyAPI, api: mysdk.Client) -> \
        dict[str, Any]:
    oauth = oauth_client(tiny_api.url, tiny_api.client_secret)
    with recorder.use_cassette("every_secret.yaml"), api, oauth, requests.Session() as session:
        return every_secret_kind(api, oauth, session, tiny_api.url)


def test_a_recording_with_every_secret_kind_comes_out_clean(
        tmp_path: Path, tiny_api: TinyAPI) -> None:
    api = api_client(tiny_api.url, tiny_api.api_key)
    record_every_secret_kind(make_vcr(tmp_path, record=True, canonical_origin=CANON,
                                      client=api), tiny_api, api)
    text = (tmp_path / "every_secret.yaml").read_text()
    known = (*tiny_api.secrets, SEARCH_TOKEN, *PASSWORDS, VERIFIER)
    assert len(tiny_api.secrets) >= 12  # keys, cookie, 2x3 tokens, code, codes/passwords seen
    assert scan_text(text, known=known) == []
    assert '"code": "item_not_found"' in text
    assert "\\uFEFF" in text  # the BOM of the token response is kept, its tokens scrubbed
    assert "Set-Cookie:\n      - session=**FILTERED-" in text
    assert "uri: http://127.0.0.1:8765/whoami" in text
    assert tiny_api.url not in text


def test_the_same_flows_without_the_kit_leak_every_kind(tmp_path: Path, tiny_api: TinyAPI) -> None:
    """The negative control: a plain vcrpy recording, caught by the scanner."""
    api = api_client(tiny_api.url, tiny_api.api_key)
    record_every_secret_kind(vcr.VCR(cassette_library_dir=str(tmp_path), record_mode="all"),
                             tiny_api, api)
    text = (tmp_path / "every_secret.yaml").read_text()
    kinds = {finding.kind for finding in scan_text(text)}
    assert {"bearer", "basic", "jwt", "secret-field", "oauth-code", "secret-header",
            "high-entropy"} <= kinds
    known = scan_text(text, known=(SEARCH_TOKEN, *PASSWORDS, tiny_api.api_key))
    assert {f.excerpt for f in known if f.kind == "known-secret"} == {
        "<known secret #0>", "<known secret #1>", "<known secret #2>", "<known secret #3>"}


def test_every_secret_kind_replays_on_the_canonical_origin(
        tmp_path: Path, tiny_api: TinyAPI) -> None:
    api = api_client(tiny_api.url, tiny_api.api_key)
    recorded = record_every_secret_kind(
        make_vcr(tmp_path, record=True, canonical_origin=CANON, client=api), tiny_api, api)
    tiny_api.stop()  # nothing listens any more; the replay must not need it
    api = api_client(CANON, "replay-dummy-key")
    oauth = oauth_client(CANON, "replay-dummy-secret")
    replayer = make_vcr(tmp_path, record=False, canonical_origin=CANON, client=api)
    with block_network(), replayer.use_cassette("every_secret.yaml") as cassette, api, oauth, \
            requests.Session() as session:
        replayed = every_secret_kind(api, oauth, session, CANON)
        assert cassette.all_played
    assert replayed == recorded
    assert recorded["missing"] == "item_not_found"
    assert recorded["callback"] == {"ok": True, "state": "s-1"}


# -- pagination and redirects from another port ---------------------------------------


def link_pages(client: mysdk.Client) -> list[str]:
    """Follow the absolute next-page URLs of ``Link``, checking the body's ``next`` agrees."""
    items: list[str] = []
    resp = client.request("GET", "/items", params={"page": 1})
    while True:
        data = resp.json()
        items += data["items"]
        link = resp.links.get("next", {}).get("url")
        assert link == data["next"]
        if link is None:
            return items
        resp = client.request("GET", link)  # an absolute URL: refused on another origin


def test_link_header_pagination_replays_from_another_port(
        tmp_path: Path, tiny_api: TinyAPI) -> None:
    with make_vcr(tmp_path, record=True, canonical_origin=CANON).use_cassette("pages.yaml"), \
            mysdk.Client(base_url=tiny_api.url, retry=None) as live:
        recorded = link_pages(live)
    assert len(recorded) == 2 * PAGES
    text = (tmp_path / "pages.yaml").read_text()
    assert f'<{CANON}/items?page=2>; rel="next"' in text
    assert f"{CANON}/items?page=3" in text  # in the JSON body's next, too
    assert str(urlsplit(tiny_api.url).port) not in text
    with block_network(), make_vcr(tmp_path, record=False, canonical_origin=CANON).use_cassette(
            "pages.yaml"), mysdk.Client(base_url=CANON, retry=None) as replay:
        assert link_pages(replay) == recorded


def test_without_a_canonical_origin_the_next_link_is_refused_on_replay(
        tmp_path: Path, tiny_api: TinyAPI) -> None:
    """What the kit fixes: a next link on the recording's port is another origin."""
    with make_vcr(tmp_path, record=True).use_cassette("pages.yaml"), \
            mysdk.Client(base_url=tiny_api.url, retry=None) as live:
        link_pages(live)
    with block_network(), make_vcr(tmp_path, record=False).use_cassette("pages.yaml"), \
            mysdk.Client(base_url=CANON, retry=None) as replay, \
            pytest.raises(mysdk.InvalidRequestError, match="another origin"):
        link_pages(replay)


def test_a_redirect_replays_from_another_port(tmp_path: Path, tiny_api: TinyAPI) -> None:
    recorder = make_vcr(tmp_path, record=True, canonical_origin=CANON)
    with recorder.use_cassette("redirect.yaml"), requests.Session() as session:
        hop = session.get(f"{tiny_api.url}/old", allow_redirects=False)
        assert hop.headers["Location"] == f"{tiny_api.url}/new"  # live: the live origin
    with recorder.use_cassette("followed.yaml"), \
            mysdk.Client(base_url=tiny_api.url, retry=None) as live:
        assert live.get("/old") == {"moved": True}
    replayer = make_vcr(tmp_path, record=False, canonical_origin=CANON)
    with block_network(), replayer.use_cassette("redirect.yaml"), requests.Session() as session:
        hop = session.get(f"{CANON}/old", allow_redirects=False)
        assert hop.status_code == 307
        assert hop.headers["Location"] == f"{CANON}/new"
    with block_network(), replayer.use_cassette("followed.yaml"), \
            mysdk.Client(base_url=CANON, retry=None) as replay:
        assert replay.get("/old") == {"moved": True}  # the client follows a same-origin 307


def test_a_cursor_listing_of_cars_replays_from_another_port(
        tmp_path: Path, refserver: RunningServer) -> None:
    def listing(base_url: str) -> list[tuple[int, str]]:
        provider = mysdk.ClientCredentials(token_url=f"{base_url}/oauth/token",
                                           client_id=DEFAULT_CLIENT_ID,
                                           client_secret=DEFAULT_CLIENT_SECRET)
        with CarsClient(base_url=base_url, auth=provider, retry=None) as client:
            for year in (2001, 2002, 2003):
                client.cars.create(make="Fiat", model="Punto", year=year)
            return [(car.id, car.model) for car in client.cars.iterate(limit=2)]

    with make_vcr(tmp_path, record=True, canonical_origin=CANON).use_cassette("cars.yaml"):
        recorded = listing(refserver.base_url)
    with make_vcr(tmp_path, record=False, canonical_origin=CANON).use_cassette(
            "cars.yaml") as cassette, block_network():
        replayed = listing(CANON)
        assert cassette.all_played
    assert replayed == recorded == [(1, "Punto"), (2, "Punto"), (3, "Punto")]
    text = (tmp_path / "cars.yaml").read_text()
    assert text.count("cursor=") == 1  # page 2 was fetched with the recorded cursor
    assert scan_text(text, known=(DEFAULT_CLIENT_SECRET,)) == []


def test_replay_placeholders_stand_in_for_dummy_secrets(tmp_path: Path, tiny_api: TinyAPI) -> None:
    """A query secret recorded as a placeholder matches whatever the replay sends."""
    with make_vcr(tmp_path, record=True, canonical_origin=CANON).use_cassette("q.yaml"), \
            mysdk.Client(base_url=tiny_api.url, retry=None) as live:
        live.get("/search", params={"access_token": SEARCH_TOKEN, "q": "saab"})
    with block_network(), make_vcr(tmp_path, record=False, canonical_origin=CANON).use_cassette(
            "q.yaml"), mysdk.Client(base_url=CANON, retry=None) as replay:
        data = replay.get("/search", params={"access_token": "dummy-in-ci", "q": "saab"})
    assert data["results"] == ["saab"]
    self_url = urlsplit(data["self"])
    assert self_url.netloc == urlsplit(CANON).netloc
    assert is_placeholder(parse_qs(self_url.query)["access_token"][0])
