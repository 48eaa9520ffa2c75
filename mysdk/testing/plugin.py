"""The pytest plugin of mysdk's testing kit, registered as the ``pytest11`` entry point
``mysdk`` (active wherever mysdk is installed; the fixtures need ``mysdk[testing]``).

Record switch: ``pytest --record`` or ``MYSDK_RECORD=1`` records cassettes from a
live API; by default, and always when ``CI`` is set, cassettes are only replayed
(vcrpy ``record_mode="none"``) with every network connection blocked.

Fixtures (override the ``mysdk_*`` ones in your ``conftest.py``):

* ``recorded_client``: a :class:`mysdk.Client` whose traffic is recorded to, or
  replayed from, ``<mysdk_cassette_dir>/<test module>/<test name>.yaml``;
* ``mysdk_recorder``: the :class:`~mysdk.testing.Recorder` behind it
  (``.recording``, ``.cassette``, ``.assert_all_played()``);
* ``mysdk_make_client``: builds the client from a base URL (default: no auth);
* ``mysdk_live_url``: the live API's URL, asked for only when recording
  (default ``$MYSDK_LIVE_URL``); start your server here;
* ``mysdk_secret_names``: secret field/header names (default
  :data:`~mysdk.testing.DEFAULT_SECRET_NAMES`);
* ``mysdk_recording``, ``mysdk_cassette_dir``, ``mysdk_canonical_origin``;
* ``fake_token_endpoint``: a :class:`~mysdk.testing.FakeTokenEndpoint` on an
  active ``responses`` mock, configured by ``mysdk_fake_oauth_options``.

ini options: ``mysdk_cassette_dir`` (default ``cassettes``, relative to the
rootdir) and ``mysdk_canonical_origin`` (default ``http://127.0.0.1:8765``).

This module imports neither vcrpy nor responses; the fixtures do, when used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mysdk.testing._names import DEFAULT_CANONICAL_ORIGIN, DEFAULT_SECRET_NAMES, SecretNames

if TYPE_CHECKING:
    import mysdk
    from mysdk.testing._recorder import Recorder
    from mysdk.testing.fake_oauth import FakeTokenEndpoint

__all__ = ["LIVE_URL_ENV", "RECORD_ENV", "record_requested"]

RECORD_ENV = "MYSDK_RECORD"
"""Environment variable of the record switch: ``1``/``true``/``yes`` records."""
LIVE_URL_ENV = "MYSDK_LIVE_URL"
"""Environment variable read by the default ``mysdk_live_url`` fixture."""

_YES = frozenset({"1", "true", "yes", "on", "all"})
_NO = frozenset({"", "0", "false", "no", "off", "none"})
_RECORDING = pytest.StashKey[bool]()


def record_requested(option: bool, environ: Mapping[str, str]) -> bool:
    """Whether this run records: ``--record`` or ``MYSDK_RECORD=1``, never in CI.

    Args:
        option: The ``--record`` command-line flag.
        environ: The environment (``os.environ``).

    Returns:
        True to record, False to replay.

    Raises:
        pytest.UsageError: Recording was asked for while ``CI`` is set (CI
            replays only), or ``MYSDK_RECORD`` has a value that is neither yes nor no.
    """
    value = environ.get(RECORD_ENV, "").strip().lower()
    if value not in _YES | _NO:
        raise pytest.UsageError(f"{RECORD_ENV}={value!r}: use 1 to record, 0 to replay")
    wanted = option or value in _YES
    ci = environ.get("CI", "").strip().lower()
    if wanted and ci not in _NO:
        raise pytest.UsageError(
            f"refusing to record cassettes in CI (CI={ci!r}): CI replays only; record on a "
            f"workstation with `pytest --record` or {RECORD_ENV}=1 and commit the cassettes")
    return wanted


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--record`` (also ``--mysdk-record``) and the ini options."""
    group = parser.getgroup("mysdk", "mysdk testing kit (record, scrub, replay)")
    text = (f"record cassettes from the live API instead of replaying them (also "
            f"{RECORD_ENV}=1; refused when CI is set)")
    try:
        group.addoption("--record", "--mysdk-record", action="store_true", default=False,
                        dest="mysdk_record", help=text)
    except ValueError:  # another plugin owns --record
        group.addoption("--mysdk-record", action="store_true", default=False,
                        dest="mysdk_record", help=text)
    parser.addini("mysdk_cassette_dir", "folder of cassettes, relative to the rootdir",
                  default="cassettes")
    parser.addini("mysdk_canonical_origin", "origin written in cassettes and used by replays",
                  default=DEFAULT_CANONICAL_ORIGIN)


def pytest_configure(config: pytest.Config) -> None:
    """Decide once per run whether cassettes are recorded or replayed."""
    config.stash[_RECORDING] = record_requested(
        bool(config.getoption("mysdk_record", False)), os.environ)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say so when this run records cassettes."""
    if config.stash.get(_RECORDING, False):
        return "mysdk: RECORDING cassettes from the live API (scrubbed before writing)"
    return None


@pytest.fixture
def mysdk_recording(request: pytest.FixtureRequest) -> bool:
    """True when this run records cassettes, False when it replays them."""
    return request.config.stash.get(_RECORDING, False)


@pytest.fixture
def mysdk_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """``<rootdir>/<mysdk_cassette_dir ini>/<test module's short name>``."""
    root = request.config.rootpath / str(request.config.getini("mysdk_cassette_dir"))
    module = getattr(request.node, "module", None)
    name = module.__name__.rpartition(".")[2] if module is not None else "cassettes"
    return root / name


@pytest.fixture
def mysdk_canonical_origin(request: pytest.FixtureRequest) -> str:
    """The origin cassettes are written on and replays use (ini ``mysdk_canonical_origin``)."""
    return str(request.config.getini("mysdk_canonical_origin")) or DEFAULT_CANONICAL_ORIGIN


@pytest.fixture
def mysdk_secret_names() -> SecretNames:
    """Secret names to scrub; override, e.g. ``DEFAULT_SECRET_NAMES.add(fields={"pin"})``."""
    return DEFAULT_SECRET_NAMES


@pytest.fixture
def mysdk_live_url() -> str | None:
    """The live API to record from (``$MYSDK_LIVE_URL``); only asked for when recording."""
    return os.environ.get(LIVE_URL_ENV) or None


@pytest.fixture
def mysdk_make_client() -> Callable[[str], mysdk.Client]:
    """Builds the client under test from a base URL; override to add auth and options."""

    def make(base_url: str) -> mysdk.Client:
        import mysdk

        return mysdk.Client(base_url=base_url, retry=None)

    return make


@pytest.fixture
def mysdk_recorder(request: pytest.FixtureRequest, mysdk_recording: bool,
                   mysdk_cassette_dir: Path, mysdk_canonical_origin: str,
                   mysdk_secret_names: SecretNames) -> Recorder:
    """The :class:`~mysdk.testing.Recorder` of this test's cassettes."""
    from mysdk.testing._recorder import Recorder

    live_url = request.getfixturevalue("mysdk_live_url") if mysdk_recording else None
    return Recorder(mysdk_cassette_dir, record=mysdk_recording,
                    canonical_origin=mysdk_canonical_origin, names=mysdk_secret_names,
                    live_url=live_url)


@pytest.fixture
def recorded_client(request: pytest.FixtureRequest, mysdk_recorder: Recorder,
                    mysdk_make_client: Callable[[str], mysdk.Client]) -> Iterator[mysdk.Client]:
    """A client on this test's cassette: live API when recording, replay otherwise.

    Replaying, the client's base URL is the canonical origin, requests missing
    from the cassette raise, and network connections raise
    :class:`~mysdk.testing.NetworkBlockedError`.
    """
    client = mysdk_make_client(mysdk_recorder.base_url)
    with client, mysdk_recorder.use_cassette(cassette_name(request.node.name), client=client):
        yield client


def cassette_name(test_name: str) -> str:
    """A file name for a test's cassette (``test_x[a/b]`` -> ``test_x[a_b]``)."""
    return re.sub(r"[^\w.\[\]-]+", "_", test_name)


@pytest.fixture
def mysdk_fake_oauth_options() -> dict[str, Any]:
    """Keyword arguments of the ``fake_token_endpoint`` (see FakeTokenEndpoint)."""
    return {}


@pytest.fixture
def fake_token_endpoint(mysdk_fake_oauth_options: dict[str, Any]) -> Iterator[FakeTokenEndpoint]:
    """A fake OAuth2 token endpoint on an active ``responses`` mock.

    Add API routes on ``fake_token_endpoint.mock`` or with ``.protect()``.
    Requests to anything not registered raise ``ConnectionError``.
    """
    try:
        import responses
    except ImportError as exc:
        raise ImportError("fake_token_endpoint needs responses: pip install 'mysdk[testing]'"
                          ) from exc
    from mysdk.testing.fake_oauth import FakeTokenEndpoint

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeTokenEndpoint(mock, **mysdk_fake_oauth_options)
