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


def test_the_core_names_no_api_and_loads_no_example() -> None:
    code = (
        "import json, sys\n"
        "import mysdk, mysdk.resources, mysdk.pagination\n"
        "from mysdk import Resource, Client\n"
        "print(json.dumps([sorted(sys.modules), hasattr(Client, 'cars')]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=True,
    )
    loaded, has_cars = json.loads(result.stdout)
    assert not has_cars
    assert [m for m in loaded if m.split(".")[0] == "examples" or "cars" in m] == []


def test_the_sdk_building_blocks_load_only_when_used() -> None:
    code = (
        "import json, sys\n"
        "import mysdk\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('mysdk.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=True,
    )
    loaded = set(json.loads(result.stdout))
    lazy = {"mysdk.models", "mysdk.pagination", "mysdk.resources", "mysdk.streaming",
            "mysdk.middleware", "mysdk.testing"}
    assert loaded.isdisjoint(lazy), sorted(loaded & lazy)


def test_no_core_module_mentions_the_cars_api() -> None:
    for path in (ROOT / "mysdk").rglob("*.py"):
        if path.parts[-2] == "testing":
            continue  # the test kit's examples may name it in prose
        text = path.read_text()
        assert "examples.cars" not in text and "cars_sdk" not in text, path
