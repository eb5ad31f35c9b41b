"""What every benchmark shares: figures, timing, a scratch data folder, the server.

The machine these run on is shared and noisy, so the rules are: report medians of
repeated runs, and when two things are compared, run them in the same process,
alternating A and B (ABBA...) so that drift in the machine's load falls on both.
Every benchmark works in a throwaway ``RIPEN_HOME`` with no real key in sight.
"""

from __future__ import annotations

import gc
import io
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.gemini_server import GeminiServer

# Variables that could point a benchmark at a real account or a user's data.
_HIDDEN = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "RIPEN_GEMINI_BASE_URL",
    "RIPEN_BACKEND",
    "RIPEN_IMAGES",
    "RIPEN_HOME",
)


@dataclass
class Figure:
    """One measured value, with its target and whether the target was met.

    ``met`` is None for a figure that has no target (context for the others).
    """

    name: str
    value: float | None
    unit: str = "ms"
    target: str = ""
    met: bool | None = None
    note: str = ""
    digits: int = 1

    @property
    def shown(self) -> str:
        if self.value is None:
            return "not measured"
        unit = f" {self.unit}" if self.unit and self.unit != "x" else self.unit
        return f"{self.value:,.{self.digits}f}{unit}"

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "-"
        return "met" if self.met else "**not met**"


@dataclass
class Section:
    """One benchmark's result: headline figures, detail tables and notes."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    """A Markdown table; ``align`` has an ``l`` or ``r`` per column.

    By default the first column is left-aligned and the others (numbers) right.
    """
    align = align or "l" + "r" * (len(header) - 1)
    marks = [":--" if side == "l" else "--:" for side in align]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(marks) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def timed(call: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def repeat(call: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Seconds per call over ``runs`` calls, after ``warmup`` calls not counted."""
    for _ in range(warmup):
        call()
    return [timed(call) for _ in range(runs)]


def interleaved(
    calls: dict[str, Callable[[], object]], runs: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds per call for each named call, the calls alternating in each run.

    The order rotates from run to run, so no call always goes first (or always
    follows the most expensive one). The collector runs between calls, not in them.
    """
    names = list(calls)
    for _ in range(warmup):
        for name in names:
            calls[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for run in range(runs):
        order = names[run % len(names) :] + names[: run % len(names)]
        if run % 2:
            order.reverse()
        for name in order:
            gc.collect()
            samples[name].append(timed(calls[name]))
    return samples


def folder_bytes(folder: Path) -> int:
    """Total size of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@contextmanager
def scratch_home(**env: str) -> Iterator[Path]:
    """A throwaway ``RIPEN_HOME``, with every key variable hidden, for one block.

    ``env`` sets extra variables for the block; all are restored afterwards.
    """
    folder = Path(tempfile.mkdtemp(prefix="ripen-bench-"))
    names = set(_HIDDEN) | set(env) | {"HOME"}
    saved = {name: os.environ.get(name) for name in names}
    for name in _HIDDEN:
        os.environ.pop(name, None)
    home = folder / "ripen-home"
    home.mkdir()
    os.environ["RIPEN_HOME"] = str(home)
    # Nothing should reach for the user's own dotfiles (textual, the SDK).
    os.environ["HOME"] = str(folder / "home")
    os.environ.update(env)
    try:
        yield home
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def loopback_gemini() -> Iterator[GeminiServer]:
    """The tests' loopback Gemini server, with the engine's variables pointing at it.

    Use inside :func:`scratch_home`; the variables are restored when it ends.
    """
    from tests.gemini_server import FAKE_KEY, GeminiServer

    server = GeminiServer()
    server.start()
    os.environ["RIPEN_GEMINI_BASE_URL"] = server.url
    os.environ["GEMINI_API_KEY"] = FAKE_KEY
    try:
        yield server
    finally:
        server.stop()


def distinct_pngs(
    width: int, height: int, count: int, name: str = "coffee"
) -> list[bytes]:
    """``count`` different PNGs of one photograph, so every round stores a new file.

    The service never sends the same bytes twice; a benchmark that did would let
    the content-addressed store skip its write and flatter the figure.
    """
    from PIL import Image, ImageDraw

    from tests.gemini_server import photo_png, png_bytes

    base = Image.open(io.BytesIO(photo_png(width, height, name)))
    base.load()
    pngs = []
    for index in range(count):
        image = base.copy()
        # A small mark in a corner, different each time, changes the bytes only.
        ImageDraw.Draw(image).rectangle(
            (0, 0, 3, 3), fill=(index % 256, (index // 256) % 256, 7)
        )
        pngs.append(png_bytes(image, compress_level=1))
    return pngs
