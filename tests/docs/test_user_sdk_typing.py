"""An SDK built on mysdk type-checks with mypy --strict and no ignore, from outside
the repository, as a user's would (issue 8 §2 and §7: the install is visible to mypy)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USAGE = '''
from __future__ import annotations

import mysdk
from cat_sdk import Cat, CatClient, Photo

client = CatClient(base_url="https://cats.example", auth=mysdk.APIKey("k", header="X-Api-Key"))
cat: Cat = client.cats.get(1)
made: Cat = client.cats.create(name="Nyan", color=None)
raw: mysdk.RawResponse[Cat] = client.cats.get.raw(1)
pages: mysdk.Pager[Photo] = client.cats(1).photos.list(limit=3)
first: list[Photo] = [p for p in pages]
reveal_type(client.cats.get(1))
reveal_type(client.health())
reveal_type(client.cats(1).photos.list())
'''

ASYNC_USAGE = '''
from __future__ import annotations

import mysdk
from cat_sdk import AsyncCatClient, Cat, Photo


async def main() -> None:
    async with AsyncCatClient(base_url="https://cats.example",
                              auth=mysdk.APIKey("k", header="X-Api-Key")) as client:
        cat: Cat = await client.cats.get(1)
        made: Cat = await client.cats.create(name="Nyan", color=None)
        raw: mysdk.RawResponse[Cat] = await client.cats.get.raw(1)
        photos: list[Photo] = [p async for p in client.cats(1).photos.list(limit=3)]
        reveal_type(client.cats.get(1))
        reveal_type(client.cats(1).photos.list())
        reveal_type(await client.health())
        client.cats.get(2)
        await client.cats.get("one")
'''

WRONG = '''
from cat_sdk import CatClient

client = CatClient(base_url="https://cats.example")
client.cats.get("one")
client.cats.create(nme="Nyan")
'''


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "examples" / "cat_api" / "sdk.py", tmp_path / "cat_sdk.py")
    (tmp_path / "use.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--cache-dir", str(tmp_path / ".mypy_cache"), "cat_sdk.py", "use.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)


def test_a_user_sdk_and_its_callers_type_check_strictly(tmp_path: Path) -> None:
    result = _mypy(tmp_path, USAGE)
    assert "error" not in result.stdout, result.stdout
    assert 'Revealed type is "cat_sdk.Cat"' in result.stdout
    assert 'Revealed type is "cat_sdk.Health"' in result.stdout
    assert 'Revealed type is "mysdk.pagination.Pager[cat_sdk.Photo]"' in result.stdout
    assert "type: ignore" not in (tmp_path / "cat_sdk.py").read_text()


def test_mypy_sees_each_operations_parameters(tmp_path: Path) -> None:
    result = _mypy(tmp_path, WRONG)
    assert 'incompatible type "str"; expected "int"' in result.stdout, result.stdout
    assert 'Unexpected keyword argument "nme"' in result.stdout, result.stdout


def test_the_same_declarations_type_as_awaitables_on_the_async_client(tmp_path: Path) -> None:
    result = _mypy(tmp_path, ASYNC_USAGE)
    out = result.stdout
    assert 'Revealed type is "typing.Coroutine[Any, Any, cat_sdk.Cat]"' in out, out
    assert 'Revealed type is "mysdk.pagination.AsyncPager[cat_sdk.Photo]"' in out, out
    assert 'Revealed type is "cat_sdk.Health"' in out, out
    # A call not awaited, and a wrong argument type, are caught:
    assert 'Value of type "Coroutine[Any, Any, Cat]" must be used' in out, out
    assert 'incompatible type "str"; expected "int"' in out, out
    assert out.count("error:") == 3, out  # unused coroutine (x2: the reveal too) + the str
