"""Cancellation and progress reporting shared by the engine and its backends.

Backend calls run on worker threads. The caller keeps a :class:`CancelToken` and may
cancel at any moment; backends poll it, and wait on it instead of sleeping, so that a
cancel during a backoff or a slow request returns promptly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import Cancelled


class CancelToken:
    """A one-way switch a caller flips to stop a running generation."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("Cancelled before the image arrived.")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True at once if cancelled meanwhile."""
        return self._event.wait(max(0.0, seconds))


@dataclass(frozen=True)
class Progress:
    """One progress report from a running generation."""

    phase: str  # "sending", "waiting", "retrying", "decoding", "saving", "done"
    message: str
    model: str = ""
    elapsed: float = 0.0
    retry_in: float | None = None
    attempt: int = 1


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores every report."""


class Stopwatch:
    """Elapsed seconds since creation, for progress reports and latency."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start
