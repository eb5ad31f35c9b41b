"""How previews are drawn, decided once, before Textual takes the terminal.

textual-image asks the terminal what it can draw when its renderables are first
imported, allowing a tenth of a second per question. That is fragile exactly where
ripen is used: tmux swallows the graphics query unless passthrough is on, and over a
slow SSH link the answer can arrive after the deadline, when Textual is already
reading the keyboard and would take the reply for typing. So ripen asks on its own,
ending each question with a request for the primary device attributes, which every
terminal answers, and in order: reading up to that answer consumes every reply.
When it never comes, the terminal is treated as one that does not answer, and
previews fall back to half-cells with a one-line hint. textual-image is then
imported with its own probing switched off and given the renderer chosen here.
"""

from __future__ import annotations

import io
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

RENDERERS = ("auto", "tgp", "sixel", "halfcell", "unicode")
PROBE_SECONDS = 0.5

_GRAPHICS_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
_CELL_QUERY = "\x1b[16t"
_ATTRIBUTES_QUERY = "\x1b[c"
_ATTRIBUTES = re.compile(r"\x1b\[\?([\d;]*)c")
_CELL = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_GRAPHICS_OK = re.compile(r"\x1b_Gi=31;OK\x1b\\")

TMUX_HINT = (
    "Inside tmux, previews are drawn with half-cells "
    "(--images chooses another renderer if passthrough is on)."
)
SILENT_HINT = (
    "The terminal did not answer its capability query in time; previews are drawn "
    "with half-cells (--images chooses another renderer)."
)


@dataclass(frozen=True)
class Renderer:
    """The chosen renderer, the terminal's cell size in pixels, and a hint."""

    name: str
    cell: tuple[int, int] | None = None
    hint: str = ""


@dataclass(frozen=True)
class Answers:
    """What a terminal said in reply to the probe."""

    sixel: bool
    graphics: bool
    cell: tuple[int, int] | None


def choose_renderer(
    requested: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: IO[Any] | None = None,
    stdout: IO[Any] | None = None,
) -> Renderer:
    """Pick the preview renderer for ``--images`` / ``RIPEN_IMAGES`` / the config."""
    environ = os.environ if environ is None else environ
    stdin = stdin or sys.__stdin__
    stdout = stdout or sys.__stdout__
    wanted = (requested or "auto").strip().lower()
    if wanted not in RENDERERS:
        return Renderer(
            "halfcell",
            hint=f"Unknown preview renderer {wanted!r}; using half-cells "
            f"(choose one of: {', '.join(RENDERERS)}).",
        )
    interactive = _is_tty(stdin) and _is_tty(stdout)
    cell = _ioctl_cell_size(stdout) if interactive else None
    if wanted != "auto":
        return Renderer(wanted, cell=cell)
    if not interactive:
        return Renderer("halfcell")
    if environ.get("TMUX"):
        return Renderer("halfcell", cell=cell, hint=TMUX_HINT)
    assert stdin is not None and stdout is not None
    answers = probe(stdin, stdout)
    if answers is None:
        return Renderer("halfcell", cell=cell, hint=SILENT_HINT)
    cell = cell or answers.cell
    # Sixel first, as textual-image does: terminals that claim Kitty graphics but
    # are not Kitty often draw Sixel correctly, and Kitty itself has no Sixel.
    if answers.sixel:
        return Renderer("sixel", cell=cell)
    if answers.graphics:
        return Renderer("tgp", cell=cell)
    return Renderer("halfcell", cell=cell)


def attributes_in(reply: str) -> list[str] | None:
    """The primary device attributes in a terminal's reply, once they have arrived."""
    found = _ATTRIBUTES.search(reply)
    return found.group(1).split(";") if found else None


def cell_in(reply: str) -> tuple[int, int] | None:
    """The cell size in pixels (width, height) if the terminal reported it."""
    found = _CELL.search(reply)
    if found is None:
        return None
    height, width = int(found.group(1)), int(found.group(2))
    return (width, height) if width and height else None


def probe(
    stdin: IO[Any], stdout: IO[Any], seconds: float = PROBE_SECONDS
) -> Answers | None:
    """Ask the terminal what it can draw; None if it does not answer in time.

    The first question (cell size, device attributes) has replies Textual would
    swallow harmlessly should they arrive late. Only a terminal that answered it
    is asked the Kitty graphics question, whose late reply would otherwise reach
    the prompt as typing.
    """
    try:
        import termios
        import tty
    except ImportError:
        return None
    fd = stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        return None
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        first = _ask(fd, stdout, _CELL_QUERY + _ATTRIBUTES_QUERY, seconds)
        attributes = attributes_in(first) if first is not None else None
        if first is None or attributes is None:
            return None
        sixel = "4" in attributes
        graphics = False
        if not sixel:
            second = _ask(fd, stdout, _GRAPHICS_QUERY + _ATTRIBUTES_QUERY, seconds)
            graphics = second is not None and bool(_GRAPHICS_OK.search(second))
        return Answers(sixel=sixel, graphics=graphics, cell=cell_in(first))
    except OSError:
        return None
    finally:
        # Whatever came with or after the last reply is terminal chatter, not typing.
        termios.tcflush(fd, termios.TCIFLUSH)
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def _ask(fd: int, stdout: IO[Any], question: str, seconds: float) -> str | None:
    """Send ``question`` and read until the device attributes reply ends it."""
    from select import select

    stdout.write(question)
    stdout.flush()
    reply = ""
    deadline = time.monotonic() + seconds
    while attributes_in(reply) is None:
        left = deadline - time.monotonic()
        if left <= 0 or not select([fd], [], [], left)[0]:
            return None
        reply += os.read(fd, 1024).decode("latin-1")
    return reply


def image_widget_class(renderer: Renderer) -> type[Any]:
    """The textual-image widget class for a renderer, imported without probing."""
    from textual_image import _terminal

    if renderer.cell is not None:
        # textual-image caches the cell size on its getter; filling that cache
        # keeps it from querying the terminal on import.
        setattr(_terminal.get_cell_size, "_result", _terminal.CellSize(*renderer.cell))  # noqa: B010
    real_stdout = sys.__stdout__
    # textual-image probes the terminal while importing its renderables, but only
    # when stdout is a terminal; the choice is already made, so hide the terminal.
    sys.__stdout__ = io.StringIO()  # type: ignore[assignment,misc]
    try:
        from textual_image import widget
    finally:
        sys.__stdout__ = real_stdout  # type: ignore[misc]
    from tui.widgets.cached_image import with_line_cache

    classes: dict[str, type[Any]] = {
        "tgp": widget.TGPImage,
        "sixel": widget.SixelImage,
        "halfcell": with_line_cache(widget.HalfcellImage),
        "unicode": with_line_cache(widget.UnicodeImage),
    }
    return classes.get(renderer.name, classes["halfcell"])


def _is_tty(stream: IO[Any] | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (ValueError, OSError):
        return False


def _ioctl_cell_size(stdout: IO[Any] | None) -> tuple[int, int] | None:
    try:
        import fcntl
        import struct
        import termios

        assert stdout is not None
        packed = fcntl.ioctl(stdout.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        rows, columns, width, height = struct.unpack("HHHH", packed)
    except (ImportError, OSError, AssertionError, ValueError):
        return None
    if not (rows and columns and width and height):
        return None
    return width // columns, height // rows
