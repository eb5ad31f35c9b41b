"""``ripen demo`` in a real terminal: tmux runs it, sends keys and shows the pane.

Pilot drives the app from inside; this drives it from outside, through a terminal
emulator, the way a user inside tmux meets it: the terminal probe must not leave
replies in the prompt, previews must fall back to half-cells with a hint, typing an
instruction and pressing Enter must make a round, and Ctrl+Q must quit cleanly.
The tmux server is a private one on a socket in the test's folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import load_config
from core.demo import DEMO_KEY
from core.engine import Engine

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")

EXITED = "ripen exited with"


class Pane:
    """One tmux pane on a private server."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "demo")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "demo", *keys)

    def wait_for(self, needle: str, seconds: float = 20.0) -> str:
        deadline = time.monotonic() + seconds
        while True:
            text = self.text()
            if needle in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{needle!r} never appeared; the pane shows:\n{text}"
                )
            time.sleep(0.1)


@pytest.fixture
def pane(ripen_home: Path, tmp_path: Path) -> Iterator[Pane]:
    ripen = Path(sys.executable).with_name("ripen")
    assert ripen.exists(), "the ripen console script is not installed"
    pane = Pane(tmp_path / "tmux.sock")
    # pytest may export COLUMNS and LINES, which would override the pane's size.
    command = f"env -u COLUMNS -u LINES {ripen} demo; echo {EXITED} $?; sleep 30"
    pane.tmux(
        "-f",
        os.devnull,
        "new-session",
        "-d",
        "-s",
        "demo",
        "-x",
        "120",
        "-y",
        "40",
        "-e",
        f"RIPEN_HOME={ripen_home}",
        command,
    )
    try:
        yield pane
    finally:
        pane.tmux("kill-server")


def test_ripen_demo_starts_refines_and_quits_in_tmux(
    pane: Pane, ripen_home: Path
) -> None:
    screen = pane.wait_for("Refine #6")
    assert "Demo: coffee for the menu" in screen
    assert "✗ not understood: Make it better" in screen
    assert "Traceback" not in screen
    pane.wait_for("previews are drawn with half-cells", seconds=5)

    pane.keys("Increase the contrast slightly")
    typed = pane.wait_for("Increase the contrast slightly")
    # Nothing the terminal said in reply to the probe reached the prompt.
    prompt_line = next(line for line in typed.splitlines() if "Increase the" in line)
    # (The hint's notification may still cover the right of the line.)
    assert prompt_line.split("▌")[0].strip() == "Increase the contrast slightly"

    # Alt+Enter reaches the app as ESC and CR here; then a second line and Enter,
    # all in one burst as a paste or a slow link delivers them.
    pane.keys("M-Enter", "and warm the light a little", "M-Enter", "add grain", "Enter")
    screen = pane.wait_for("Refine #7")
    assert "● #7" in screen

    engine = Engine(load_config(ripen_home))
    session = engine.store.setting(DEMO_KEY)
    assert session is not None
    newest = engine.tree(session).rounds[-1]
    assert (newest.number, newest.instruction) == (
        7,
        "Increase the contrast slightly\nand warm the light a little\nadd grain",
    )
    assert len(newest.applied) == 3

    started = time.monotonic()
    pane.keys("C-q")
    screen = pane.wait_for(f"{EXITED} 0", seconds=5)
    assert time.monotonic() - started < 3
    assert "Traceback" not in screen
