"""The installed surface of mysdk: exports, typing marker, a cheap import."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

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


def _run(code: str) -> Any:
    """What ``code`` (ending in a JSON print) printed, run in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", "import json, sys\n" + code], cwd=ROOT, capture_output=True,
        text=True, timeout=60, check=True,
    )
    return json.loads(result.stdout)


def test_the_core_names_no_api_and_loads_no_example() -> None:
    loaded, has_cars = _run(
        "import mysdk, mysdk.resources, mysdk.pagination\n"
        "from mysdk import Resource, Client\n"
        "print(json.dumps([sorted(sys.modules), hasattr(Client, 'cars')]))\n")
    assert not has_cars
    assert [m for m in loaded if m.split(".")[0] == "examples" or "cars" in m] == []


def test_the_sdk_building_blocks_load_only_when_used() -> None:
    loaded = _run("import mysdk\nprint(json.dumps(sorted(sys.modules)))\n")
    lazy = {"mysdk.models", "mysdk.pagination", "mysdk.resources", "mysdk.streaming",
            "mysdk.middleware", "mysdk.testing"}
    assert isinstance(loaded, list)
    assert lazy.isdisjoint(loaded), sorted(lazy.intersection(loaded))


def test_no_core_module_mentions_the_cars_api() -> None:
    for path in (ROOT / "mysdk").rglob("*.py"):
        if path.parts[-2] == "testing":
            continue  # the test kit's examples may name it in prose
        text = path.read_text()
        assert "examples.cars" not in text, path
        assert "cars_sdk" not in text, path
