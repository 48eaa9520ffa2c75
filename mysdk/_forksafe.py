"""Reset locks and in-flight state of live mysdk objects in a forked child.

``os.fork()`` copies every lock in the state it was in, but only the thread
that forked: a lock a parent thread held stays held in the child forever, and
an in-flight token fetch that the child would wait for never finishes there.
Objects that own such state call :func:`register`; one ``after_in_child`` hook,
installed once at import, calls their ``_after_fork_in_child()`` in the child.

Only weak references are kept (a :class:`weakref.WeakSet`), so registering
never keeps an object alive; registering costs one set insertion.
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a Protocol class costs import time; only mypy needs it
    from typing import Protocol

    class ForkSafe(Protocol):
        """An object that resets its locks and in-flight state in a forked child."""

        def _after_fork_in_child(self) -> None:
            """Replace locks and forget state that parent threads owned.

            Runs in the child right after ``os.fork()``, in its only thread; it
            must not take any lock a parent thread might have held.
            """
            ...

__all__ = ["register"]

_live: weakref.WeakSet[ForkSafe] = weakref.WeakSet()


def register(obj: ForkSafe) -> None:
    """Have ``obj._after_fork_in_child()`` called in every child forked from now on."""
    _live.add(obj)


def _reset_in_child() -> None:
    for obj in list(_live):
        obj._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_reset_in_child)
