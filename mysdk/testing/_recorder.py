"""Record cassettes from a live API, or replay them with the network blocked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from mysdk.testing._names import DEFAULT_CANONICAL_ORIGIN, DEFAULT_SECRET_NAMES, SecretNames
from mysdk.testing._vcr import block_network, make_vcr

__all__ = ["Recorder"]


class Recorder:
    """One switch for a set of cassettes: record them all, or replay them all.

    Replaying (``record=False``, what CI does) reads each cassette, refuses any
    request not in it and blocks every network connection. Recording talks to
    ``live_url`` and writes each cassette afresh, scrubbed (see :func:`make_vcr`)
    and on ``canonical_origin``, so the replay client uses that origin.

    Args:
        cassette_dir: Folder of the cassettes, e.g. ``Path("cassettes/test_cars")``.
        record: True records from ``live_url``; False replays.
        canonical_origin: Origin written in cassettes and used by replays
            (default ``http://127.0.0.1:8765``; nothing needs to listen there).
        names: Secret field and header names.
        live_url: Base URL of the live API; needed only when recording.

    Example::

        recorder = Recorder(Path("cassettes/flows"), record=False)
        client = mysdk.Client(base_url=recorder.base_url)
        with recorder.use_cassette("list_cars", client=client):
            client.cars.list()
        recorder.assert_all_played()
    """

    def __init__(self, cassette_dir: str | Path, *, record: bool,
                 canonical_origin: str = DEFAULT_CANONICAL_ORIGIN,
                 names: SecretNames = DEFAULT_SECRET_NAMES, live_url: str | None = None) -> None:
        self.cassette_dir = Path(cassette_dir)
        self.recording = record
        self.canonical_origin = canonical_origin.rstrip("/")
        self.names = names
        self.live_url = live_url
        self.cassette: Any = None  # the vcrpy Cassette while one is in use

    @property
    def base_url(self) -> str:
        """Where the client under test should point: ``live_url`` when recording,
        else the canonical origin.

        Raises:
            RuntimeError: Recording without a ``live_url``.
        """
        if not self.recording:
            return self.canonical_origin
        if not self.live_url:
            raise RuntimeError("recording needs the live API's URL (live_url, MYSDK_LIVE_URL "
                               "or the mysdk_live_url fixture)")
        return self.live_url

    def path(self, name: str) -> Path:
        """The cassette file of ``name`` (``.yaml`` added unless present)."""
        return self.cassette_dir / (name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")

    @contextmanager
    def use_cassette(self, name: str, *, client: Any = None) -> Iterator[Any]:
        """Record or replay the cassette ``name`` for the duration of the block.

        Args:
            name: Cassette name, e.g. the test's name.
            client: The :class:`mysdk.Client` under test: its credential header
                is scrubbed too (see :func:`credential_headers`).

        Yields:
            The vcrpy ``Cassette`` (also :attr:`cassette`).

        Raises:
            FileNotFoundError: Replaying, and the cassette was never recorded.
            NetworkBlockedError: Replaying, and something tried to connect.
        """
        path = self.path(name)
        if not self.recording and not path.is_file():
            raise FileNotFoundError(
                f"cassette {path} does not exist: record it against a live API with "
                "`pytest --record` or MYSDK_RECORD=1")
        recorder = make_vcr(self.cassette_dir, record=self.recording,
                            canonical_origin=self.canonical_origin, names=self.names,
                            client=client)
        with ExitStack() as stack:
            if not self.recording:
                stack.enter_context(block_network())
            self.cassette = stack.enter_context(recorder.use_cassette(path.name))
            try:
                yield self.cassette
            finally:
                self.cassette = None

    def assert_all_played(self, cassette: Any = None) -> None:
        """When replaying, fail if the test made fewer requests than were recorded.

        Args:
            cassette: The cassette to check; default the one in use.

        Raises:
            AssertionError: Some recorded interactions were never replayed
                (the message lists them).
        """
        cassette = cassette if cassette is not None else self.cassette
        if self.recording or cassette is None:
            return
        unplayed = [f"{request.method} {request.uri}"
                    for index, request in enumerate(cassette.requests)
                    if not cassette.play_counts[index]]
        if unplayed:
            raise AssertionError(
                f"{len(unplayed)} recorded request(s) were not replayed: {unplayed}")
