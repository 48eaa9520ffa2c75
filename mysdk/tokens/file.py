"""Per-user token cache on disk, shared by the processes of one machine.

Needs the ``file`` extra (filelock, platformdirs): ``pip install 'mysdk[file]'``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

try:
    import filelock
    import platformdirs
except ImportError as exc:
    raise ImportError(
        "mysdk.tokens.file needs the 'file' extra: pip install 'mysdk[file]'"
    ) from exc

from mysdk.tokens.cache import KeyedLocks, retain_until
from mysdk.tokens.token import Token

__all__ = ["STALE_TEMP_SECONDS", "FileTokenCache"]

logger = logging.getLogger("mysdk.tokens")

# Keys from cache_key() are "mysdk-token-<hex>" and are used as file names as
# they are; anything else is hashed so that a key can never escape the directory.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_MAX_FILE_BYTES = 64 * 1024  # a token file is < 10 KiB; larger means corrupt
_POSIX = hasattr(os, "geteuid")  # POSIX modes and owners mean nothing on Windows
# What tempfile.mkstemp(prefix=".<file name>.", suffix=".tmp") creates: a dot, the
# key's file name, a dot, eight characters of tempfile's alphabet, ".tmp".
_TEMP_NAME = re.compile(r"\.(?P<name>[A-Za-z0-9_-][A-Za-z0-9._-]{0,127})\.[a-z0-9_]{8}\.tmp")

STALE_TEMP_SECONDS = 60.0
"""Age in seconds (by modification time) past which a temporary file is stale.

A writer creates ``.<key>.XXXXXXXX.tmp``, writes, fsyncs and renames it over
the token file within milliseconds; one killed in between (SIGKILL, power loss)
leaves it behind, holding a whole token with its refresh token. Every
:meth:`FileTokenCache.set` removes the temporary files in the directory older
than this; a younger one may be a live writer's and is left alone.
"""


class FileTokenCache:
    """A token cache in a private directory, one JSON file per key.

    Entries survive restarts and are shared by the user's processes that use
    the same directory. The directory is kept at mode 0700 and token files at
    0600 (POSIX); files are replaced atomically (temp file, fsync,
    ``os.replace``), so readers see the old token or the new one, never half.
    :meth:`lock` combines a per-key thread lock with ``filelock`` (``flock(2)``
    on POSIX), so it excludes this process's other threads and other processes.
    ``delete(only_if=...)`` compares and unlinks under a lock of this instance;
    across processes it relies on callers holding :meth:`lock` while refreshing.

    No secret is left behind by a writer killed mid-write: :meth:`set` removes
    temporary files older than :data:`STALE_TEMP_SECONDS` (60 s), and
    :meth:`delete` removes every temporary file of its key, whatever its age.

    Args:
        directory: Where the files live; default
            ``platformdirs.user_cache_dir("mysdk")/tokens`` (per user).
        lock_timeout: The most seconds :meth:`lock` ever waits.

    Raises:
        PermissionError: The directory belongs to another user and its mode
            lets others in (it cannot be made private).
        OSError: The directory cannot be created.
        ValueError: ``lock_timeout`` is negative or not finite.
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, lock_timeout: float = 30.0
    ) -> None:
        if not 0.0 <= lock_timeout < float("inf"):
            raise ValueError(f"FileTokenCache.lock_timeout must be >= 0 s, got {lock_timeout}")
        if directory is None:
            directory = Path(platformdirs.user_cache_dir("mysdk")) / "tokens"
        self._directory = Path(directory).absolute()
        self._lock_timeout = float(lock_timeout)
        self._pid = -1
        self._reset_locks()
        self._ensure_directory()

    @property
    def directory(self) -> Path:
        """The directory holding the token files."""
        return self._directory

    def get(self, key: str) -> Token | None:
        """Return the token under ``key`` (see :meth:`TokenCache.get`), or ``None``; never raises.

        An unreadable, corrupt or foreign-owned file counts as empty and is
        logged at WARNING (its path, never its contents).
        """
        token = self._read(self._path(key))
        now = time.time()
        if token is None or now >= retain_until(token, now):
            return None
        return token

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key`` atomically, in a file of mode 0600.

        A failed write (disk full, say) is logged at WARNING, not raised: the
        caller already holds the token. Temporary files of any key older than
        :data:`STALE_TEMP_SECONDS` (left by writers that were killed) are
        removed first.
        """
        path = self._path(key)
        data = token.to_json().encode()
        self._reset_locks()
        with self._write_guard:
            try:
                self._ensure_directory()
                self._remove_temp_files(older_than=STALE_TEMP_SECONDS)
                self._write_atomic(path, data)
            except OSError as exc:
                logger.warning("cannot write token file %s (%s)", path, _describe(exc))

    def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """Remove the file for ``key`` (only if it still holds ``only_if``, when given).

        Every temporary file of ``key``, whatever its age, goes with it (also
        when there was no entry); when ``only_if`` does not match, nothing is
        touched.

        Returns:
            True when the token file was removed. Errors are logged, never raised.
        """
        path = self._path(key)
        self._reset_locks()
        with self._write_guard:
            if only_if is not None and self._read(path) != only_if:
                return False
            self._remove_temp_files(name=path.stem)
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            except OSError as exc:
                logger.warning("cannot remove token file %s (%s)", path, _describe(exc))
                return False
            return True

    def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
        """Hold the cross-process lock ``<directory>/<key>.lock``.

        Args:
            key: The cache key.
            timeout: Seconds to wait, capped at ``lock_timeout``.

        Returns:
            A context manager yielding True when held, False when another
            thread or process kept it for ``timeout`` seconds or the lock file
            could not be opened (logged at WARNING).
        """
        self._reset_locks()
        wait = min(timeout, self._lock_timeout) if timeout > 0 else 0.0  # NaN counts as 0
        return self._hold(key, wait)

    def __repr__(self) -> str:
        return f"FileTokenCache(directory={str(self._directory)!r})"

    @contextmanager
    def _hold(self, key: str, wait: float) -> Iterator[bool]:
        deadline = time.monotonic() + wait
        # Threads are excluded by a thread lock first: filelock counts re-entries
        # per object, and a FileLock shared by threads (thread_local=False) lets a
        # second thread straight in. The file lock then excludes other processes.
        with self._thread_locks.hold(key, timeout=wait) as in_process:
            file_lock = self._file_lock(key)
            acquired = in_process and self._acquire(file_lock, deadline)
            if not acquired:
                logger.warning("token cache lock for %s not acquired within %.3gs", key, wait)
            try:
                yield acquired
            finally:
                if acquired:
                    file_lock.release()

    def _reset_locks(self) -> None:
        # After fork the child gets fresh locks: copied ones may be held by
        # threads that do not exist there, and filelock refuses inherited locks.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._write_guard = threading.Lock()  # makes delete's compare-then-unlink atomic
            self._thread_locks = KeyedLocks()
            self._file_locks: dict[str, filelock.FileLock] = {}
            self._file_locks_guard = threading.Lock()

    def _file_lock(self, key: str) -> filelock.FileLock:
        with self._file_locks_guard:
            lock = self._file_locks.get(key)
            if lock is None:
                path = self._directory / (_file_name(key) + ".lock")
                lock = self._file_locks[key] = filelock.FileLock(path, mode=0o600)
            return lock

    def _acquire(self, lock: filelock.FileLock, deadline: float) -> bool:
        try:
            self._ensure_directory()  # before filelock would create it with a default mode
            lock.acquire(timeout=max(deadline - time.monotonic(), 0.0))
        except filelock.Timeout:
            return False
        except OSError as exc:
            logger.warning("cannot lock %s (%s)", lock.lock_file, _describe(exc))
            return False
        return True

    def _path(self, key: str) -> Path:
        return self._directory / (_file_name(key) + ".json")

    def _ensure_directory(self) -> None:
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _POSIX:
            return
        st = self._directory.stat()
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(f"token cache path {self._directory} is not a directory")
        if st.st_mode & 0o077:
            if st.st_uid != os.geteuid():
                raise PermissionError(
                    f"token cache directory {self._directory} has mode "
                    f"{stat.S_IMODE(st.st_mode):04o} and belongs to another user; "
                    "use a private directory (mode 0700)"
                )
            self._directory.chmod(0o700)
            logger.warning(
                "token cache directory %s had mode %04o; changed to 0700",
                self._directory,
                stat.S_IMODE(st.st_mode),
            )

    def _read(self, path: Path) -> Token | None:
        # O_NOFOLLOW: a symlink planted in the directory is refused, not followed.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            with os.fdopen(os.open(path, flags), "rb") as file:
                if not _private_file(path, file.fileno()):
                    return None
                raw = file.read(_MAX_FILE_BYTES + 1)
            if len(raw) > _MAX_FILE_BYTES:
                raise ValueError("file is too large")
            return Token.from_json(raw)
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("ignoring unreadable token file %s (%s)", path, _describe(exc))
        except ValueError as exc:  # messages name what is wrong, never the contents
            logger.warning("ignoring corrupt token file %s (%s)", path, exc)
        return None

    def _remove_temp_files(self, *, older_than: float = 0.0, name: str | None = None) -> None:
        """Unlink temporary files of interrupted writes; never raises.

        Args:
            older_than: Only files last modified more than this many seconds
                ago; 0 removes them whatever their age.
            name: Only the files of this token file name (a key's); None for
                every key's.
        """
        cutoff = time.time() - older_than
        try:
            with os.scandir(self._directory) as scan:
                entries = list(scan)
        except OSError as exc:
            logger.warning("cannot list token cache directory %s (%s)", self._directory,
                           _describe(exc))
            return
        for entry in entries:
            match = _TEMP_NAME.fullmatch(entry.name)
            if match is None or (name is not None and match["name"] != name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode) or (older_than and st.st_mtime > cutoff):
                    continue
                os.unlink(entry.path)
            except FileNotFoundError:
                continue  # renamed by its writer, or removed by another cleaner
            except OSError as exc:
                logger.warning("cannot remove temporary token file %s (%s)", entry.path,
                               _describe(exc))
                continue
            logger.info("removed temporary token file %s", entry.path)

    def _write_atomic(self, path: Path, data: bytes) -> None:
        # mkstemp creates the file O_EXCL with mode 0600 in the same directory,
        # so os.replace is an atomic rename on the same filesystem.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=self._directory)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise


def _private_file(path: Path, fd: int) -> bool:
    """True when the open file is ours and private, fixing a too-wide mode."""
    if not _POSIX:
        return True
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        logger.warning("ignoring token file %s: not a regular file owned by this user", path)
        return False
    if st.st_mode & 0o077:
        os.fchmod(fd, 0o600)
        logger.warning(
            "token file %s had mode %04o; changed to 0600", path, stat.S_IMODE(st.st_mode)
        )
    return True


def _file_name(key: str) -> str:
    if _SAFE_NAME.fullmatch(key):
        return key
    return "key-" + hashlib.sha256(key.encode()).hexdigest()


def _describe(exc: OSError) -> str:
    # strerror, not str(exc): the path is logged separately and once.
    return f"{type(exc).__name__}: {exc.strerror or exc}"
