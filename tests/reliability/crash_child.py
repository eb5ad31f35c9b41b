"""A ``ripen`` process that stops dead at a chosen moment, for the crash tests.

Run as ``python -m tests.reliability.crash_child MOMENT FD ARGV...``: it installs
hooks at the points of a round where a crash matters (the request about to leave,
the image file half written, the rename, each step of the commit) and then runs
``ripen ARGV``. When the round reaches ``MOMENT`` the child writes the moment's name
to the pipe ``FD`` and sleeps, so the parent can SIGKILL it at exactly that point;
timing alone could never land a kill between two lines of the image writer.

``MOMENT`` may also be ``started``, which only reports that the child is up (the
parent then kills on a clock), or ``none``, which reports nothing (the parent
kills on what the loopback server sees).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, BinaryIO

import sqlite_utils

import core.blobs
from core.backends.gemini import GeminiBackend
from core.cli import main
from core.engine import Engine
from core.store import Store

HOOKED_MOMENTS = (
    "before_request",
    "answer_received",
    "temp_file_created",
    "half_written",
    "before_fsync",
    "before_rename",
    "after_rename",
    "transaction_begun",
    "round_row_inserted",
    "search_row_inserted",
    "before_commit",
    "after_commit",
    "attempt_row_inserted",
)
"""Moments this child stops at by itself; the others are the parent's to time."""

_moment = ""
_signal_fd = -1
_image_stored = False  # the commit hooks fire only for the round's own transaction


def reached(name: str) -> None:
    """At ``name``: if it is the chosen moment, say so and wait to be killed."""
    if name != _moment:
        return
    os.write(_signal_fd, f"{name}\n".encode())
    time.sleep(60)
    # Never killed: leave without any cleanup, as a crash would.
    os._exit(3)


class _HalfWritingFile:
    """A file whose first write stops half way, for the moment the parent kills."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle

    def write(self, data: bytes) -> int:
        half = len(data) // 2
        self._handle.write(data[:half])
        self._handle.flush()
        reached("half_written")
        return half + self._handle.write(data[half:])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _HalfWritingFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._handle.close()


class _HookedOs:
    """``os`` as the image writer sees it, with the writer's steps announced."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def fdopen(self, fd: int, *args: Any, **kwargs: Any) -> Any:
        return _HalfWritingFile(os.fdopen(fd, *args, **kwargs))

    def fsync(self, fd: int) -> None:
        reached("before_fsync")
        os.fsync(fd)

    def replace(self, source: Any, target: Any) -> None:
        reached("before_rename")
        os.replace(source, target)
        reached("after_rename")


class _HookedTempfile:
    """``tempfile`` as the image writer sees it: announces the new empty file."""

    def __getattr__(self, name: str) -> Any:
        import tempfile

        return getattr(tempfile, name)

    def mkstemp(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
        import tempfile

        made = tempfile.mkstemp(*args, **kwargs)
        reached("temp_file_created")
        return made


def _wrap(owner: Any, name: str, before: str, after: str | None = None) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def hooked(*args: Any, **kwargs: Any) -> Any:
        reached(before)
        value = original(*args, **kwargs)
        if after:
            reached(after)
        return value

    setattr(owner, name, hooked)


def install_hooks() -> None:
    """Put a hook at every moment in :data:`HOOKED_MOMENTS`."""
    global _image_stored
    _wrap(GeminiBackend, "generate", "before_request")
    original_store_image = Engine._store_image

    def store_image(self: Engine, result: Any) -> Any:
        global _image_stored
        reached("answer_received")
        stored = original_store_image(self, result)
        _image_stored = True
        return stored

    Engine._store_image = store_image  # type: ignore[method-assign]
    core.blobs.os = _HookedOs()  # type: ignore[assignment]
    core.blobs.tempfile = _HookedTempfile()  # type: ignore[assignment]

    original_transaction = Store.transaction

    @contextmanager
    def transaction(self: Store) -> Iterator[sqlite_utils.Database]:
        armed = _image_stored
        with original_transaction(self) as db:
            if armed:
                reached("transaction_begun")
            yield db
            if armed:
                reached("before_commit")
        if armed:
            reached("after_commit")

    Store.transaction = transaction  # type: ignore[method-assign,assignment]

    original_insert = Store.insert

    def insert(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> None:
        original_insert(db, table, row)
        names = {
            "rounds": "round_row_inserted",
            "search_index": "search_row_inserted",
            "attempts": "attempt_row_inserted",
        }
        if table in names:
            reached(names[table])

    Store.insert = staticmethod(insert)  # type: ignore[method-assign,assignment]
    _image_stored = False


def run(argv: list[str]) -> int:
    """Parse ``MOMENT FD ARGV...``, install the hooks and run ``ripen ARGV``."""
    global _moment, _signal_fd
    _moment, _signal_fd = argv[0], int(argv[1])
    install_hooks()
    if _moment == "started":
        os.write(_signal_fd, b"started\n")
    return main(argv[2:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
