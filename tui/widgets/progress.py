"""One line that says a generation is running: the model, seconds, any retry wait.

Reports arrive from the worker as :class:`core.cancel.Progress`; between reports a
timer ticks the elapsed seconds and the retry countdown down, so the line keeps
moving while the service is silent. The line is hidden when nothing runs.
"""

from __future__ import annotations

import math
import time

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from core.cancel import Progress
from tui.text import Piece, joined, line

TICK_SECONDS = 0.25


def progress_text(
    what: str, progress: Progress | None, elapsed: float, retry_left: float | None
) -> Text:
    """The progress line's text at one moment."""
    parts: list[Piece] = [(what, "bold")]
    if progress is not None and progress.model:
        parts.append((progress.model, ""))
    parts.append((f"{elapsed:.0f} s", ""))
    if retry_left is not None:
        reason = progress.message.split(";")[0] if progress else ""
        wait = f"{reason or 'waiting'}, retry in {math.ceil(max(0.0, retry_left))} s"
        if progress is not None and progress.attempt > 1:
            wait += f" (attempt {progress.attempt})"
        parts.append((wait, "#ffb000"))
    elif progress is not None and progress.message:
        parts.append((progress.message, "dim"))
    parts.append(("Esc cancels", "dim"))
    return line(("● ", "bold #ffb000"), *joined(parts, " · "))


class ProgressLine(Static):
    """The running generation, if any."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id, markup=False)
        self.what = ""
        self.progress: Progress | None = None
        self.started = 0.0
        self.reported = 0.0
        self._timer: Timer | None = None

    def start(self, what: str) -> None:
        """Show the line for a generation that has just been sent."""
        self.what = what
        self.progress = None
        self.started = self.reported = time.monotonic()
        self.display = True
        self._tick()
        if self._timer is None:
            self._timer = self.set_interval(TICK_SECONDS, self._tick)

    def report(self, progress: Progress) -> None:
        """Take a report from the worker."""
        self.progress = progress
        self.reported = time.monotonic()
        self._tick()

    def stop(self) -> None:
        """Hide the line: the generation ended, one way or another."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.display = False
        self.progress = None

    @property
    def retry_left(self) -> float | None:
        """Seconds until the next retry, counted down since the last report."""
        if self.progress is None or self.progress.retry_in is None:
            return None
        if self.progress.phase != "retrying":
            return None
        return self.progress.retry_in - (time.monotonic() - self.reported)

    def _tick(self) -> None:
        elapsed = time.monotonic() - self.started
        self.update(progress_text(self.what, self.progress, elapsed, self.retry_left))
