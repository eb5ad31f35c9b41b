"""Keys that arrive in one burst, as a paste without bracketing or a slow SSH
link delivers them: the letters typed before Enter (or Ctrl+S) are all in what is
sent, and Alt+Enter read from a terminal that sends it as ESC and CR adds a line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.keys import _character_to_key

from core.engine import Engine
from core.models import Session
from tests.tui_states import SIZE, ScreenHost
from tests.tui_support import scripted_engine, settle, small_session
from tui.app import RipenApp, read_alt_with_named_keys
from tui.screens.dialogs import ABDialog, NoteEditor, TextDialog
from tui.screens.sessions import SessionsScreen
from tui.screens.workspace import WorkspaceScreen
from tui.widgets.prompt import PromptArea


@pytest.fixture
def engine() -> Engine:
    return scripted_engine()


@pytest.fixture
def session(engine: Engine, tmp_path: Path) -> Session:
    return small_session(engine, tmp_path)


def burst(app: RipenApp | ScreenHost, *pieces: str) -> None:
    """Post every key at once, as the terminal driver does with one read: text,
    and key names such as ``alt+enter`` (a piece with a ``+`` or ``enter``)."""
    for piece in pieces:
        if "+" in piece or piece in ("enter", "tab"):
            app.post_message(events.Key(piece, None))
        else:
            for character in piece:
                name = (
                    character if character.isalnum() else _character_to_key(character)
                )
                app.post_message(events.Key(name, character))


async def test_enter_in_a_burst_sends_every_letter_typed_before_it(
    engine: Engine, session: Session
) -> None:
    app = RipenApp(session=session.id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, PromptArea)
        burst(app, "Warm the light slightly", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WorkspaceScreen)
        newest = engine.tree(session.id).rounds[-1]
        assert (newest.number, newest.instruction) == (4, "Warm the light slightly")

        burst(app, "Brighten the cup", "alt+enter", "and cool the shadows", "enter")
        await settle(pilot)
        newest = engine.tree(session.id).rounds[-1]
        assert (newest.number, newest.instruction) == (
            5,
            "Brighten the cup\nand cool the shadows",
        ), "a line added in the middle of a burst stays where it was typed"


async def test_ctrl_s_in_a_burst_saves_the_whole_note(
    engine: Engine, tmp_path: Path
) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(NoteEditor(""))
        await settle(pilot)
        burst(app, "Client liked the crema", "ctrl+s")
        await settle(pilot)
        assert app.results == ["Client liked the crema"]


async def test_enter_in_a_burst_saves_the_whole_title(
    engine: Engine, tmp_path: Path
) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(TextDialog("Rename the session", "", "A short title"))
        await settle(pilot)
        burst(app, "Menu coffee", "enter")
        await settle(pilot)
        assert app.results == ["Menu coffee"]


def test_alt_enter_sent_as_escape_and_return_is_read_as_alt_enter() -> None:
    read_alt_with_named_keys()
    assert keys_read("\x1b\r") == ["alt+enter"]
    assert keys_read("a\x1b\rb\x1b\rc") == ["a", "alt+enter", "b", "alt+enter", "c"]
    assert keys_read("\r") == ["enter"]
    assert keys_read("\x1ba") == ["alt+a"]


def keys_read(sent: str) -> list[str]:
    """The keys Textual's terminal parser reads from ``sent`` and an idle moment."""
    parser = XTermParser()
    tokens = [*parser.feed(sent), *parser.feed("")]
    return [token.key for token in tokens if isinstance(token, events.Key)]


async def test_enter_in_a_burst_moves_from_a_to_b_in_the_ab_dialog(
    engine: Engine,
) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(ABDialog())
        await settle(pilot)
        burst(app, "Warmer", "enter", "Cooler", "enter")
        await settle(pilot)
        assert app.results == [("Warmer", "Cooler")]


async def test_letters_after_i_or_tab_in_a_burst_go_to_the_prompt_not_the_tree(
    engine: Engine, session: Session
) -> None:
    app = RipenApp(session=session.id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("escape")  # to the tree
        assert not isinstance(app.focused, PromptArea)
        burst(app, "isharpen the cup")
        await settle(pilot)
        assert isinstance(app.focused, PromptArea)
        assert app.focused.text == "sharpen the cup"
        assert not any(r.starred for r in engine.tree(session.id).rounds)
        assert isinstance(app.screen, WorkspaceScreen), "no A/B dialog opened"

        await pilot.press("escape")
        burst(app, "tab", " and warm it")  # Tab from the tree goes to the prompt
        await settle(pilot)
        assert isinstance(app.focused, PromptArea)
        assert app.focused.text == "sharpen the cup and warm it"
        assert not any(r.starred for r in engine.tree(session.id).rounds)


async def test_letters_after_slash_in_a_burst_filter_the_sessions(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = SessionsScreen(engine)
        app.open(screen)
        await settle(pilot)
        burst(app, "/daisy")  # d would delete, y would confirm
        await settle(pilot)
        assert screen.filter_box.value == "daisy"
        assert app.screen is screen
    assert engine.session(session.id).title == "Small coffee"
