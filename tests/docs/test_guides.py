"""The guides stay true: every Python block of a guide runs, in order, as written."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(name: str) -> list[str]:
    """The ```python blocks of ``docs/<name>``."""
    return _BLOCK.findall((DOCS / name).read_text())


def test_the_build_your_sdk_guide_runs_as_written() -> None:
    code = blocks("build-your-sdk.md")
    assert len(code) >= 6
    module = types.ModuleType("mysdk_guide")  # a real module, as a user's SDK file is
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            for block in code:
                exec(compile(block, "build-your-sdk.md", "exec"), namespace)  # noqa: S102
    finally:
        sys.modules.pop(module.__name__, None)
        server = namespace.get("server")
        stop = getattr(server, "stop", None)
        if callable(stop):  # the guide stops it last; again is harmless
            with contextlib.suppress(Exception):
                stop()
    printed = out.getvalue()
    assert "Cat(id=1, name='Tom', color='grey')" in printed
    assert "CatNotFound cat_not_found" in printed
    assert "['Tom', 'Felix', 'Garfield'" in printed


def test_the_async_guide_runs_as_written() -> None:
    code = blocks("async.md")
    assert len(code) >= 3
    namespace: dict[str, object] = {"__name__": "mysdk_async_guide"}
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            for block in code:
                exec(compile(block, "async.md", "exec"), namespace)  # noqa: S102
    finally:
        stop = getattr(namespace.get("server"), "stop", None)
        if callable(stop):
            with contextlib.suppress(Exception):
                stop()
    printed = out.getvalue().splitlines()
    assert printed[0] == "{'id': 1, 'name': 'Tom', 'color': 'grey'}"
    assert printed[1] == "201 Nyan"
    assert printed[2] == "NotFoundError 404"
    # The sync and the async client print the same from one set of declarations:
    assert printed[3] == printed[5] == "Cat(id=2, name='Felix', color='black')"
    assert printed[4] == printed[6] == "[1, 2, 3, 4, 5]"  # every page, two photos a page
    assert printed[7] == "['Tom', 'Felix', 'Garfield']"


@pytest.mark.parametrize("name", ["build-your-sdk.md", "async.md"])
def test_guides_use_no_private_names(name: str) -> None:
    for block in blocks(name):
        assert not re.search(r"mysdk\.(\w+\.)*_\w", block), block
        assert "from mysdk._" not in block
