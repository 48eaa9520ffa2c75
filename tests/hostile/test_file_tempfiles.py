"""FileTokenCache leaves no token behind in temporary files of killed writers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mysdk.tokens import file as file_mod
from mysdk.tokens.file import FileTokenCache
from tests.tokens.contract import KEY, OTHER_KEY, make_token

REPO_ROOT = Path(__file__).resolve().parents[2]
KILLS = 40

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"),
                                reason="needs os.fork and SIGKILL, which Windows lacks")

# One interpreter imports mysdk once, then forks writers that loop on set() and
# SIGKILLs each after a small random delay: a kill costs milliseconds, not a
# fresh interpreter.
_KILLER = r'''
import os, random, signal, sys, time
from mysdk.tokens.file import FileTokenCache
from tests.tokens.contract import KEY, make_token

directory, kills = sys.argv[1], int(sys.argv[2])
cache = FileTokenCache(directory)
for n in range(kills):
    pid = os.fork()
    if pid == 0:
        try:
            i = 0
            while True:
                cache.set(KEY, make_token(f"{n}-{i}"))
                i += 1
        finally:
            os._exit(1)
    time.sleep(random.uniform(0.003, 0.02))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print("done", flush=True)
'''


def temp_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(".tmp"))


def leave_temp_file(directory: Path, key: str, age: float = 0.0) -> Path:
    """A temporary file as a writer killed mid-write leaves it, ``age`` seconds old."""
    path = directory / f".{key}.abcd1234.tmp"
    path.write_bytes(make_token("leftover").to_json().encode())
    path.chmod(0o600)
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def test_stale_temp_files_of_killed_writers_are_removed_by_the_next_writer(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "tokens"
    FileTokenCache(directory)
    result = subprocess.run(
        [sys.executable, "-c", _KILLER, str(directory), str(KILLS)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    leftovers = temp_files(directory)
    assert leftovers, "no writer was killed mid-write; the test proves nothing"
    # Young temp files may be a live writer's: the next set() leaves them alone.
    cache = FileTokenCache(directory)
    other = make_token("other")
    cache.set(OTHER_KEY, other)
    assert set(leftovers) <= set(temp_files(directory))
    # Once older than STALE_TEMP_SECONDS, the next writer removes every one of them.
    then = time.time() - file_mod.STALE_TEMP_SECONDS - 1
    for path in leftovers:
        os.utime(path, (then, then))
    token = make_token("after")
    cache.set(KEY, token)
    assert temp_files(directory) == []
    assert cache.get(KEY) == token  # whole and readable
    assert cache.get(OTHER_KEY) == other


def test_stale_age_is_a_documented_minute() -> None:
    assert file_mod.STALE_TEMP_SECONDS == 60.0
    assert "STALE_TEMP_SECONDS" in (FileTokenCache.__doc__ or "")


def test_set_removes_stale_temp_files_of_other_keys_too(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path)
    stale = leave_temp_file(tmp_path, OTHER_KEY, age=file_mod.STALE_TEMP_SECONDS + 5)
    fresh = leave_temp_file(tmp_path, KEY.replace("token", "other"), age=1.0)
    cache.set(KEY, make_token())
    assert not stale.exists()
    assert fresh.exists()


def test_set_leaves_files_that_are_not_its_temp_files(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path)
    then = time.time() - 3600
    mine = tmp_path / "notes.tmp"
    mine.write_text("not a token")
    os.utime(mine, (then, then))
    cache.set(KEY, make_token())
    assert mine.exists()


def test_delete_removes_the_keys_temp_files_whatever_their_age(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path)
    cache.set(KEY, make_token())
    fresh = leave_temp_file(tmp_path, KEY)
    other = leave_temp_file(tmp_path, OTHER_KEY)
    assert cache.delete(KEY) is True
    assert not fresh.exists()
    assert other.exists()  # another key's write in progress is left alone
    # Also when there is no entry any more: nothing of the key remains.
    again = leave_temp_file(tmp_path, KEY)
    assert cache.delete(KEY) is False
    assert not again.exists()
    token = make_token("new")
    cache.set(KEY, token)
    assert cache.get(KEY) == token


def test_delete_only_if_another_token_keeps_everything(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path)
    current = make_token("current")
    cache.set(KEY, current)
    pending = leave_temp_file(tmp_path, KEY)
    assert cache.delete(KEY, only_if=make_token("stale")) is False
    assert pending.exists()  # the entry is someone else's: so is the write in progress
    assert cache.delete(KEY, only_if=current) is True
    assert not pending.exists()
