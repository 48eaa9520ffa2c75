"""The pytest plugin, exercised in inner pytest sessions as a user's project would use it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

# Inner sessions run in this process, and pytester drops the modules they import
# afterwards; import the libraries they load here, so all sessions share one copy.
import responses  # noqa: F401
import vcr.patch
import vcr.stubs.requests_stubs  # noqa: F401
import yaml  # noqa: F401

from mysdk.testing import scan_text
from mysdk.testing.plugin import record_requested
from tests.testing.tiny_api import TinyAPI

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
import os

import pytest

import mysdk


@pytest.fixture
def mysdk_make_client(mysdk_recording):
    key = os.environ["TINY_KEY"] if mysdk_recording else "replay-dummy"
    def make(base_url):
        return mysdk.Client(base_url=base_url, auth=mysdk.APIKey(key, header="Api-Key"),
                            retry=None)
    return make
"""

TEST = """
import socket

import pytest

from mysdk.testing import NetworkBlockedError


def test_whoami(recorded_client, mysdk_recorder, mysdk_recording):
    assert recorded_client.get("/whoami") == {"user": "tiny"}
    assert recorded_client.get("/items", params={"page": 1})["items"] == ["item-1a", "item-1b"]
    mysdk_recorder.assert_all_played()
    if not mysdk_recording:
        with pytest.raises(NetworkBlockedError):
            socket.create_connection(("127.0.0.1", 9))
"""


@pytest.mark.parametrize(("option", "environ", "expected"), [
    (False, {}, False),
    (True, {}, True),
    (False, {"MYSDK_RECORD": "1"}, True),
    (False, {"MYSDK_RECORD": "true"}, True),
    (False, {"MYSDK_RECORD": "0"}, False),
    (False, {"CI": "true"}, False),
    (True, {"CI": "false"}, True),
    (True, {"CI": ""}, True),
])
def test_record_switch(option: bool, environ: Mapping[str, str], expected: bool) -> None:
    assert record_requested(option, environ) is expected


@pytest.mark.parametrize(("option", "environ", "message"), [
    (True, {"CI": "true"}, "refusing to record cassettes in CI"),
    (False, {"CI": "1", "MYSDK_RECORD": "1"}, "refusing to record cassettes in CI"),
    (False, {"MYSDK_RECORD": "maybe"}, "use 1 to record"),
])
def test_record_switch_refusals(option: bool, environ: Mapping[str, str], message: str) -> None:
    with pytest.raises(pytest.UsageError, match=message):
        record_requested(option, environ)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project: a conftest building the client, one recorded test."""
    for name in ("CI", "MYSDK_RECORD", "MYSDK_LIVE_URL"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=TEST)
    return pytester


def test_record_with_the_switch_then_replay_without_the_server(
        project: pytest.Pytester, tiny_api: TinyAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSDK_LIVE_URL", tiny_api.url)
    monkeypatch.setenv("TINY_KEY", tiny_api.api_key)
    recorded = project.runpytest("--record")
    recorded.assert_outcomes(passed=1)
    recorded.stdout.fnmatch_lines(["mysdk: RECORDING cassettes*"])
    cassette = project.path / "cassettes" / "test_inner" / "test_whoami.yaml"
    text = cassette.read_text()
    assert scan_text(text, known=tiny_api.secrets) == []
    assert "uri: http://127.0.0.1:8765/whoami" in text
    tiny_api.stop()
    monkeypatch.delenv("MYSDK_LIVE_URL")
    monkeypatch.delenv("TINY_KEY")
    replayed = project.runpytest()
    replayed.assert_outcomes(passed=1)
    assert "RECORDING" not in replayed.stdout.str()


def test_mysdk_record_1_records_too(project: pytest.Pytester, tiny_api: TinyAPI,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSDK_RECORD", "1")
    monkeypatch.setenv("MYSDK_LIVE_URL", tiny_api.url)
    monkeypatch.setenv("TINY_KEY", tiny_api.api_key)
    project.runpytest().assert_outcomes(passed=1)
    assert (project.path / "cassettes" / "test_inner" / "test_whoami.yaml").is_file()


def test_replay_is_the_default_and_a_missing_cassette_says_how_to_record(
        project: pytest.Pytester) -> None:
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cassette*test_whoami.yaml does not exist*--record*"])


def test_recording_in_ci_is_refused(project: pytest.Pytester,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    result = project.runpytest("--record")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*refusing to record cassettes in CI*"])


def test_recording_without_a_live_url_fails_clearly(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINY_KEY", "any")
    result = project.runpytest("--record")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*recording needs the live API's URL*"])


def test_ini_options_move_the_cassettes(project: pytest.Pytester, tiny_api: TinyAPI,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    project.makeini("[pytest]\nmysdk_cassette_dir = tapes\n"
                    "mysdk_canonical_origin = http://127.0.0.1:9999\n")
    monkeypatch.setenv("MYSDK_LIVE_URL", tiny_api.url)
    monkeypatch.setenv("TINY_KEY", tiny_api.api_key)
    project.runpytest("--record").assert_outcomes(passed=1)
    text = (project.path / "tapes" / "test_inner" / "test_whoami.yaml").read_text()
    assert "uri: http://127.0.0.1:9999/whoami" in text
    project.runpytest().assert_outcomes(passed=1)


def test_secret_names_can_be_overridden(project: pytest.Pytester, tiny_api: TinyAPI,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    project.makeconftest(CONFTEST + """

from mysdk.testing import DEFAULT_SECRET_NAMES


@pytest.fixture
def mysdk_secret_names():
    return DEFAULT_SECRET_NAMES.add(fields={"user"})
""")
    monkeypatch.setenv("MYSDK_LIVE_URL", tiny_api.url)
    monkeypatch.setenv("TINY_KEY", tiny_api.api_key)
    project.runpytest("--record").assert_outcomes(passed=1)  # live answers are not scrubbed
    text = (project.path / "cassettes" / "test_inner" / "test_whoami.yaml").read_text()
    assert '"user": "**FILTERED-' in text
    # Scrubbing a field the test asserts on breaks its replay: choose names with care.
    project.runpytest().assert_outcomes(failed=1)


def test_the_fake_token_endpoint_fixture_in_a_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fake="""
def test_token(fake_token_endpoint):
    fake_token_endpoint.protect("GET", "https://api.example.test/me", json={"me": 1})
    with fake_token_endpoint.client("https://api.example.test") as client:
        assert client.get("/me") == {"me": 1}
    assert fake_token_endpoint.count == 1
""")
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("module", ["mysdk.testing", "mysdk.testing.plugin"])
def test_importing_the_kit_loads_neither_vcrpy_nor_responses(module: str) -> None:
    code = f"import json, sys\nimport {module}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    loaded = set(json.loads(result.stdout))
    assert module in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in ("vcr", "responses", "yaml")) == []
