"""mysdk._body.Body: a body captured once, sent the same on every attempt."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from mysdk import Client, InvalidRequestError, RetryPolicy
from mysdk._body import Body

BASE = "https://api.example.com"


def _client() -> Client:
    return Client(base_url=BASE, retry=RetryPolicy(max_attempts=3), sleep=lambda s: None,
                  monotonic=lambda: 0.0)


# --- json ----------------------------------------------------------------------------


def test_json_is_serialised_once_to_the_same_bytes_on_every_send() -> None:
    payload: dict[str, Any] = {"name": "Zoë", "n": 1, "tags": ["a", "b"]}
    expected = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    def first_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        payload["n"] = 2  # a re-serialisation would now send n=2
        return 503, {}, ""

    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.add_callback("PUT", f"{BASE}/x", callback=first_answer)
        rs.put(f"{BASE}/x", json={}, match=[matchers.header_matcher(
            {"Content-Type": "application/json"})])
        _client().put("/x", json=payload)
        bodies = [c.request.body for c in rs.calls]
    assert bodies == [expected, expected]
    assert isinstance(bodies[0], bytes)
    assert json.loads(bodies[0])["n"] == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [({}, b"{}"), ([], b"[]"), (0, b"0"), (False, b"false"), ("", b'""'),
     ({"a": [1, 2.5, None]}, b'{"a":[1,2.5,null]}'), ({"k": "é"}, '{"k":"é"}'.encode())],
)
def test_json_encoding(value: Any, expected: bytes) -> None:
    body = Body(json=value)
    assert body.data == expected
    assert body.content_type == "application/json"
    assert body.rewind() is True
    assert body.data == expected


@responses.activate(assert_all_requests_are_fired=True)
def test_a_callers_content_type_wins() -> None:
    responses.patch(f"{BASE}/x", json={}, match=[matchers.header_matcher(
        {"Content-Type": "application/merge-patch+json"})])
    _client().patch("/x", json={"a": None},
                    headers={"Content-Type": "application/merge-patch+json"})
    assert responses.calls[0].request.body == b'{"a":null}'


@responses.activate(assert_all_requests_are_fired=True)
def test_a_callers_content_type_wins_whatever_its_case() -> None:
    responses.put(f"{BASE}/x", json={})
    _client().put("/x", json=[1], headers={"content-type": "application/vnd.x+json"})
    assert responses.calls[0].request.headers["Content-Type"] == "application/vnd.x+json"


@pytest.mark.parametrize(
    "value", [float("nan"), {"x": float("inf")}, [float("-inf")], {"o": object()}, {1j}]
)
def test_values_json_cannot_hold_are_refused(value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="JSON"):
        Body(json=value)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        with pytest.raises(InvalidRequestError) as info:
            _client().post("/x", json=value)
        assert len(rs.calls) == 0
    assert isinstance(info.value, ValueError)


def test_json_and_data_together_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="json"):
        Body(json={"a": 1}, data=b"raw")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        with pytest.raises(InvalidRequestError, match="data"):
            _client().post("/x", json={"a": 1}, data={"b": "2"})
        assert len(rs.calls) == 0


# --- data and rewinding --------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [None, b"raw", bytearray(b"raw"), "text", {"a": "1"}, [("a", "1"), ("a", "2")],
             (("k", "v"),)],
)
def test_in_memory_data_is_always_replayable(data: Any) -> None:
    body = Body(data=data)
    assert body.data is data
    assert body.content_type is None
    assert body.rewind() is True
    assert body.rewind() is True
    assert body.reason == ""


def test_a_seekable_stream_rewinds_to_its_offset_at_capture() -> None:
    stream = io.BytesIO(b"0123456789")
    stream.seek(4)
    body = Body(data=stream)
    assert stream.read() == b"456789"  # what a send consumes
    assert body.rewind() is True
    assert stream.tell() == 4
    assert stream.read() == b"456789"
    stream.seek(9)
    assert body.rewind() is True
    assert stream.tell() == 4


def _gen() -> Iterator[bytes]:
    yield b"x"


class ReadOnly:
    """A file-like object with read() only (no seekable/tell)."""

    def read(self, n: int = -1) -> bytes:
        return b""


class NotSeekable(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_gen, "iterator"),
        (lambda: iter([b"a", b"b"]), "iterator"),
        (lambda: (c for c in [b"a"]), "iterator"),
        (ReadOnly, "stream"),
        (NotSeekable, "stream"),
    ],
)
def test_one_shot_bodies_refuse_to_rewind_with_a_reason(make: Any, reason: str) -> None:
    data = make()
    body = Body(data=data)
    assert body.data is data
    assert body.rewind() is False
    assert reason in body.reason
    assert body.rewind() is False


def test_a_pipe_is_not_replayable() -> None:
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as stream:
        body = Body(data=stream)
        assert body.rewind() is False
        assert "cannot be rewound" in body.reason


def test_a_closed_file_is_not_replayable() -> None:
    stream = io.BytesIO(b"abc")
    stream.close()
    body = Body(data=stream)
    assert body.rewind() is False
    assert body.reason


@responses.activate(assert_all_requests_are_fired=True, registry=OrderedRegistry)
def test_a_seekable_stream_is_resent_whole_on_retry() -> None:
    responses.post(f"{BASE}/upload", status=503)
    responses.post(f"{BASE}/upload", status=201, json={"ok": True})
    stream = io.BytesIO(b"HEADER|payload")
    stream.seek(7)
    assert _client().post("/upload", data=stream, idempotency_key="u1") == {"ok": True}
    assert [c.request.body for c in responses.calls] == [b"payload", b"payload"]
