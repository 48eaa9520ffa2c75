"""The installed surface of mysdk: exports, typing marker, a cheap import."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

import mysdk

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("tornado", "vcr", "responses", "refserver", "redis", "filelock", "platformdirs")


def test_all_names_are_importable_and_unique() -> None:
    assert len(mysdk.__all__) == len(set(mysdk.__all__))
    for name in mysdk.__all__:
        assert hasattr(mysdk, name), name
    namespace: dict[str, object] = {}
    exec("from mysdk import *", namespace)  # noqa: S102 - the statement under test
    assert set(mysdk.__all__) <= namespace.keys()


@pytest.mark.parametrize(
    "module",
    ["mysdk.errors", "mysdk.auth", "mysdk.tokens", "mysdk.resources", "mysdk.retry",
     "mysdk.ratelimit", "mysdk.events", "mysdk.pagination", "mysdk.client"],
)
def test_submodule_all_names_exist(module: str) -> None:
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_version_is_a_string() -> None:
    assert isinstance(mysdk.__version__, str)
    assert mysdk.__version__


def test_py_typed_marker_is_shipped() -> None:
    marker = resources.files("mysdk") / "py.typed"
    assert marker.is_file()


def test_import_does_not_load_optional_or_test_dependencies() -> None:
    code = (
        "import json, sys\n"
        "import mysdk\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=True,
    )
    loaded = set(json.loads(result.stdout))
    assert "mysdk" in loaded
    assert "requests" in loaded  # the probe does see what was imported
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], f"import mysdk loaded {heavy}"
