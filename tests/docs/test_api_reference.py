"""docs/api.md documents every public name and is up to date with the code."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import mysdk

ROOT = Path(__file__).resolve().parents[2]


def test_api_reference_is_up_to_date() -> None:
    result = subprocess.run([sys.executable, "scripts/api_reference.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, "docs/api.md is stale: run python scripts/api_reference.py"


@pytest.mark.parametrize("name", [n for n in mysdk.__all__ if not n.startswith("__")])
def test_every_public_name_has_a_docstring(name: str) -> None:
    obj = getattr(mysdk, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert (inspect.getdoc(obj) or "").strip(), f"mysdk.{name} has no docstring"
    assert f"**`{name}`**" in (ROOT / "docs" / "api.md").read_text()


def test_public_names_are_not_private_modules() -> None:
    for name in mysdk.__all__:
        module = getattr(getattr(mysdk, name), "__module__", "mysdk") or "mysdk"
        assert module.startswith("mysdk"), name
        importlib.import_module(module)
