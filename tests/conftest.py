"""Shared fixtures: keep the environment from changing how ``requests`` behaves.

Record/replay fixtures (``recorded_client``, ``fake_token_endpoint``, ``--record``)
come from mysdk's own pytest plugin, ``mysdk.testing.plugin``, as in any project
that installs ``mysdk[testing]``.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

# The kit's plugin loads through its pytest11 entry point; naming it here as well
# keeps it loaded under PYTEST_DISABLE_PLUGIN_AUTOLOAD. pytester runs it in inner
# sessions (tests/testing/test_plugin.py).
pytest_plugins = ["mysdk.testing.plugin", "pytester"]

# A busy 2-core CI machine can stall one example past hypothesis' default 200 ms
# deadline; the properties are about values, not speed (benchmarks measure that).
settings.register_profile("mysdk", deadline=None)
settings.load_profile("mysdk")

_ENV_VARS = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def _clean_requests_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No proxies, CA bundles or ~/.netrc of the machine running the tests."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path_factory.getbasetemp() / "no-such-netrc"))
