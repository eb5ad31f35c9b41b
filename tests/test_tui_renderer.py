"""Choosing how previews are drawn, against terminals that answer, lie or stay silent.

A pseudo-terminal stands in for the user's terminal: a thread on its far side reads
what ripen asks and answers as a given terminal would (Kitty, a Sixel terminal, one
that never answers, one behind a slow link). The tests check the renderer chosen,
the hint shown, and that nothing the terminal says is left for the app to read.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tui.renderer import (
    PROBE_SECONDS,
    SILENT_HINT,
    TMUX_HINT,
    Answers,
    Renderer,
    choose_renderer,
    image_widget_class,
    probe,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")

Answerer = Callable[[str], str | None]


@contextmanager
def terminal(answer: Answerer, delay: float = 0.0) -> Iterator[tuple[int, list[str]]]:
    """A pty whose far side answers each question with ``answer(question)``.

    Yields the near side's file descriptor and the questions heard so far.
    """
    far, near = pty.openpty()
    heard: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            if not select.select([far], [], [], 0.02)[0]:
                continue
            question = os.read(far, 1024).decode("latin-1")
            heard.append(question)
            reply = answer(question)
            if reply:
                time.sleep(delay)
                os.write(far, reply.encode("latin-1"))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield near, heard
    finally:
        stop.set()
        thread.join()
        os.close(far)
        os.close(near)


def kitty(question: str) -> str:
    reply = "\x1b[6;20;10t" if "\x1b[16t" in question else ""
    if "\x1b_G" in question:
        reply += "\x1b_Gi=31;OK\x1b\\"
    return reply + "\x1b[?62;22;52c"


def sixel_terminal(question: str) -> str:
    return "\x1b[6;16;8t\x1b[?62;4;22c" if "\x1b[16t" in question else "\x1b[?62;4c"


def plain_terminal(question: str) -> str:
    return "\x1b[?1;2c"


def silent(question: str) -> None:
    return None


def ask(near: int) -> Answers | None:
    with os.fdopen(os.dup(near), "w") as out, os.fdopen(os.dup(near), "r") as into:
        return probe(into, out, seconds=PROBE_SECONDS)


def pending(near: int) -> bytes:
    """What the app would read from the terminal next (nothing, we hope)."""
    return os.read(near, 1024) if select.select([near], [], [], 0.05)[0] else b""


def test_kitty_graphics_are_found_and_the_cell_size_read() -> None:
    with terminal(kitty) as (near, heard):
        answers = ask(near)
        assert answers is not None
        assert (answers.sixel, answers.graphics, answers.cell) == (
            False,
            True,
            (10, 20),
        )
        assert pending(near) == b""


def test_sixel_is_found_without_asking_about_kitty_graphics() -> None:
    with terminal(sixel_terminal) as (near, heard):
        answers = ask(near)
        assert answers is not None
        assert (answers.sixel, answers.graphics, answers.cell) == (True, False, (8, 16))
        assert not any("\x1b_G" in question for question in heard)


def test_a_terminal_with_neither_is_answered_with_half_cells() -> None:
    with terminal(plain_terminal) as (near, _):
        answers = ask(near)
        assert answers is not None
        assert (answers.sixel, answers.graphics, answers.cell) == (False, False, None)


def test_a_silent_terminal_is_given_up_on_in_time_and_never_asked_more() -> None:
    with terminal(silent) as (near, heard):
        started = time.monotonic()
        assert ask(near) is None
        assert time.monotonic() - started < PROBE_SECONDS + 0.3
        # The graphics question, whose late answer would be typed into the
        # prompt, was never sent.
        assert "".join(heard) == "\x1b[16t\x1b[c"


def test_a_slow_link_leaves_no_reply_for_the_app_to_read() -> None:
    with terminal(kitty, delay=0.2) as (near, _):
        answers = ask(near)
        assert answers is not None and answers.graphics
        time.sleep(0.3)
        assert pending(near) == b""


def test_tmux_falls_back_to_half_cells_with_a_hint() -> None:
    with terminal(kitty) as (near, heard):
        with os.fdopen(os.dup(near), "w") as out, os.fdopen(os.dup(near), "r") as into:
            chosen = choose_renderer(
                "auto",
                environ={"TMUX": "/tmp/tmux-0/default,1,0"},
                stdin=into,
                stdout=out,
            )
        assert (chosen.name, chosen.hint) == ("halfcell", TMUX_HINT)
        assert heard == []  # tmux is not asked: it would swallow the question


def test_a_silent_terminal_falls_back_with_a_hint() -> None:
    with terminal(silent) as (near, _):
        with os.fdopen(os.dup(near), "w") as out, os.fdopen(os.dup(near), "r") as into:
            chosen = choose_renderer("auto", environ={}, stdin=into, stdout=out)
        assert (chosen.name, chosen.hint) == ("halfcell", SILENT_HINT)


def test_an_explicit_choice_is_kept_and_nothing_is_asked() -> None:
    with terminal(kitty) as (near, heard):
        with os.fdopen(os.dup(near), "w") as out, os.fdopen(os.dup(near), "r") as into:
            chosen = choose_renderer(
                "sixel", environ={"TMUX": "x"}, stdin=into, stdout=out
            )
        assert chosen.name == "sixel" and chosen.hint == ""
        assert heard == []


def test_an_unknown_choice_says_so_and_uses_half_cells() -> None:
    chosen = choose_renderer("braille", environ={})
    assert chosen.name == "halfcell"
    assert "Unknown preview renderer 'braille'" in chosen.hint


def test_without_a_terminal_previews_use_half_cells_silently() -> None:
    import io

    chosen = choose_renderer(
        "auto", environ={}, stdin=io.StringIO(), stdout=io.StringIO()
    )
    assert chosen == Renderer("halfcell")


@pytest.mark.parametrize("name", ["halfcell", "unicode", "sixel", "tgp"])
def test_each_renderer_has_its_textual_image_widget(name: str) -> None:
    from textual_image import widget

    expected = {
        "halfcell": widget.HalfcellImage,
        "unicode": widget.UnicodeImage,
        "sixel": widget.SixelImage,
        "tgp": widget.TGPImage,
    }[name]
    assert issubclass(image_widget_class(Renderer(name)), expected)


def test_a_stray_byte_from_the_terminal_becomes_a_replacement_character(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from textual.drivers import linux_driver

    from tui.app import _tolerate_stray_bytes

    original = linux_driver.getincrementaldecoder
    monkeypatch.setattr(linux_driver, "getincrementaldecoder", original)
    with pytest.raises(UnicodeDecodeError):
        original("utf-8")().decode(b"\xe9A")
    _tolerate_stray_bytes()
    decode = linux_driver.getincrementaldecoder("utf-8")().decode
    assert decode(b"\xe9A") == "\ufffdA"
    assert decode("é".encode()) == "é"
