"""FileTokenCache: the contract, file modes, corruption, atomicity, cross-process lock."""

from __future__ import annotations

import importlib
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from mysdk.tokens.file import FileTokenCache

from .contract import KEY, OTHER_KEY, TokenCacheContract, contender_wait, make_token

REPO_ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX modes and owners")
root_only = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown to another user"
)
NOBODY = 65534


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "tokens"


class TestFileTokenCache(TokenCacheContract):
    @pytest.fixture
    def cache(self, directory: Path) -> FileTokenCache:
        return FileTokenCache(directory)


def test_file_per_key_named_after_key(directory: Path) -> None:
    cache = FileTokenCache(directory)
    cache.set(KEY, make_token())
    assert (directory / f"{KEY}.json").is_file()
    with cache.lock(KEY, timeout=1) as held:
        assert held
        assert (directory / f"{KEY}.lock").exists()


def test_unsafe_key_stays_inside_directory(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "tokens")
    token = make_token()
    cache.set("../../escape", token)
    assert cache.get("../../escape") == token
    assert {p.parent for p in tmp_path.rglob("*.json")} == {tmp_path / "tokens"}


@posix_only
def test_directory_and_files_are_private(directory: Path) -> None:
    cache = FileTokenCache(directory)
    assert mode(directory) == 0o700
    cache.set(KEY, make_token())
    assert mode(directory / f"{KEY}.json") == 0o600
    with cache.lock(KEY, timeout=1):
        assert mode(directory / f"{KEY}.lock") == 0o600


@posix_only
def test_wide_existing_directory_is_made_private(
    directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        FileTokenCache(directory)
    assert mode(directory) == 0o700
    assert "0755" in caplog.text


@root_only
def test_foreign_wide_directory_is_refused(directory: Path) -> None:
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    os.chown(directory, NOBODY, NOBODY)
    with pytest.raises(PermissionError, match=r"0777") as info:
        FileTokenCache(directory)
    assert str(directory) in str(info.value)


@posix_only
def test_wide_existing_file_is_fixed_on_read(
    directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileTokenCache(directory)
    token = make_token()
    cache.set(KEY, token)
    path = directory / f"{KEY}.json"
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        assert cache.get(KEY) == token
    assert mode(path) == 0o600
    assert "0644" in caplog.text
    assert "secret" not in caplog.text


@root_only
def test_foreign_file_is_ignored(directory: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = FileTokenCache(directory)
    cache.set(KEY, make_token())
    os.chown(directory / f"{KEY}.json", NOBODY, NOBODY)
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        assert cache.get(KEY) is None
    assert "owned by this user" in caplog.text


@posix_only
def test_symlink_is_not_followed(
    directory: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileTokenCache(directory)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(make_token().to_dict()))
    (directory / f"{KEY}.json").symlink_to(elsewhere)
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        assert cache.get(KEY) is None
    assert "unreadable" in caplog.text


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe secret-access-zzz",
        b'["secret-access-zzz"]',
        b'{"access_token": "secret-access-zzz", "token_type": "Bearer", "issued_at": "x"}',
        b'{"access_token": "secret-access-zzz", "token_type": "Bearer", "issued_at": 9'
        + b"9" * 400
        + b"}",
        b"[" * 100_000,
    ],
    ids=["empty", "garbage", "binary", "list", "wrong-type", "huge-int", "too-large"],
)
def test_corrupt_file_reads_as_empty_and_is_logged(
    directory: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileTokenCache(directory)
    path = directory / f"{KEY}.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        assert cache.get(KEY) is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert str(path) in caplog.text
    assert "secret" not in caplog.text
    token = make_token()
    cache.set(KEY, token)  # the next set replaces the corrupt entry
    assert cache.get(KEY) == token


def test_atomic_write_leaves_no_temp_files(directory: Path) -> None:
    cache = FileTokenCache(directory)
    for n in range(5):
        cache.set(KEY, make_token(str(n)))
    assert sorted(p.name for p in directory.iterdir()) == [f"{KEY}.json"]


def test_failed_write_keeps_old_token_and_no_temp_file(
    directory: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileTokenCache(directory)
    old = make_token("old")
    cache.set(KEY, old)

    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        cache.set(KEY, make_token("new"))  # logged, not raised
    monkeypatch.undo()
    assert "No space left" in caplog.text
    assert "secret" not in caplog.text
    assert cache.get(KEY) == old
    assert sorted(p.name for p in directory.iterdir()) == [f"{KEY}.json"]


def test_directory_removed_later_is_recreated(directory: Path) -> None:
    cache = FileTokenCache(directory)
    directory.rmdir()
    token = make_token()
    cache.set(KEY, token)
    assert cache.get(KEY) == token


def test_default_directory_uses_platformdirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def user_cache_dir(appname: str) -> str:
        asked.append(appname)
        return str(tmp_path / "user-cache" / appname)

    monkeypatch.setattr(platformdirs, "user_cache_dir", user_cache_dir)
    cache = FileTokenCache()
    assert asked == ["mysdk"]
    assert cache.directory == tmp_path / "user-cache" / "mysdk" / "tokens"
    assert cache.directory.is_dir()


def test_repr_names_directory_only(directory: Path) -> None:
    cache = FileTokenCache(directory)
    cache.set(KEY, make_token())
    assert repr(cache) == f"FileTokenCache(directory={str(directory)!r})"


def test_two_instances_share_entries_and_lock(directory: Path) -> None:
    first, second = FileTokenCache(directory), FileTokenCache(directory)
    token = make_token()
    first.set(KEY, token)
    assert second.get(KEY) == token
    with first.lock(KEY, timeout=1) as held:
        assert held
        with second.lock(KEY, timeout=0.1) as other:  # same thread, other instance
            assert other is False
        with second.lock(OTHER_KEY, timeout=0.1) as other_key:
            assert other_key is True
    with second.lock(KEY, timeout=0.1) as again:
        assert again is True


def test_lock_wait_is_capped_by_lock_timeout(directory: Path) -> None:
    assert contender_wait(FileTokenCache(directory, lock_timeout=0.1)) < 1.0


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_lock_timeout_is_validated(directory: Path, bad: float) -> None:
    with pytest.raises(ValueError, match="lock_timeout"):
        FileTokenCache(directory, lock_timeout=bad)


HOLDER = """
import sys
from mysdk.tokens.file import FileTokenCache

cache = FileTokenCache(sys.argv[1])
with cache.lock(sys.argv[2], timeout=5) as held:
    print("held" if held else "not held", flush=True)
    sys.stdin.read()  # hold the lock until the parent closes stdin
"""


def test_lock_excludes_another_process(directory: Path) -> None:
    cache = FileTokenCache(directory)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), KEY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO_ROOT,
    ) as child:
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            assert child.stdout.readline() == b"held\n"
            with cache.lock(KEY, timeout=0.1) as held:
                assert held is False
            with cache.lock(OTHER_KEY, timeout=0.1) as other:
                assert other is True
        finally:
            child.stdin.close()
            child.wait(timeout=10)
    assert child.returncode == 0
    with cache.lock(KEY, timeout=1) as held:
        assert held is True


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "filelock", None)
    monkeypatch.delitem(sys.modules, "mysdk.tokens.file")
    with pytest.raises(ImportError, match=r"pip install 'mysdk\[file\]'"):
        importlib.import_module("mysdk.tokens.file")


_FORK_CHILD = """
import os, sys
from mysdk.tokens.file import FileTokenCache
from tests.tokens.contract import KEY, make_token

cache = FileTokenCache(sys.argv[1])
token = make_token()
with cache.lock(KEY, timeout=1) as held:  # creates this process's FileLock
    assert held
cache.set(KEY, token)
pid = os.fork()
if pid == 0:  # child: must not reuse the parent's locks
    code = 1
    try:
        with cache.lock(KEY, timeout=1) as child_held:
            ok = child_held and cache.get(KEY) == token and cache.delete(KEY, only_if=token)
            code = 0 if ok else 2
    finally:
        os._exit(code)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) or (3 if cache.get(KEY) is not None else 0))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork does not exist on Windows")
def test_usable_in_a_forked_child(directory: Path) -> None:
    # Forked from a fresh single-threaded interpreter: forking pytest itself,
    # which may run threads, could deadlock the child.
    result = subprocess.run(
        [sys.executable, "-c", _FORK_CHILD, str(directory)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
