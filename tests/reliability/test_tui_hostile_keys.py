"""Keys that arrive faster than ripen's screens can close.

A terminal delivers a held Escape or a burst of keys as fast as the app reads
them, so a dialog receives the second key before it has finished closing from the
first. Each must answer once and leave the screen underneath where it was: a
second answer used to close the workspace too, leaving a blank terminal. The
command palette's page keys, pressed before its list is drawn, used to take the
whole app down.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input

import tui.app
from core.engine import Engine
from tests.tui_support import scripted_engine, settle, small_session
from tui.app import RipenApp
from tui.errors import SteadyCommandPalette
from tui.screens.dialogs import (
    ABDialog,
    ExportDialog,
    NoteEditor,
)
from tui.screens.help import HelpScreen

SIZE = (120, 40)


@pytest.fixture
def engine() -> Engine:
    return scripted_engine()


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> RipenApp:
    """The app on the workspace of a small session."""
    return RipenApp(session=small_session(engine, tmp_path).id, engine=engine)


def burst(app: RipenApp, *keys: str) -> None:
    """Queue keys the way a terminal delivers a burst: all at once, no waiting."""
    for name in keys:
        app.post_message(events.Key(name, None))


async def test_enters_held_on_an_ab_test_run_it_once(app: RipenApp) -> None:
    answers: list[object] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        workspace = app.screen
        dialog = ABDialog("warmer", "cooler")
        app.push_screen(dialog, answers.append)
        await settle(pilot)
        dialog.query_one("#b").focus()

        burst(app, *["enter"] * 6)
        await settle(pilot)

        assert app.screen is workspace
        assert len(app.screen_stack) == 2
        assert answers == [("warmer", "cooler")]


async def test_enters_held_on_the_export_dialog_export_once(
    app: RipenApp, tmp_path: Path
) -> None:
    answers: list[object] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        workspace = app.screen
        dialog = ExportDialog(tmp_path)
        app.push_screen(dialog, answers.append)
        await settle(pilot)
        dialog.query_one("#out", Input).focus()

        burst(app, *["enter"] * 6)
        await settle(pilot)

        assert app.screen is workspace
        assert len(answers) == 1


async def test_an_answer_that_comes_under_the_help_closes_the_right_screen(
    app: RipenApp,
) -> None:
    answers: list[object] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        workspace = app.screen
        note = NoteEditor("kept")
        app.push_screen(note, answers.append)
        await settle(pilot)
        app.push_screen(HelpScreen(note))
        await settle(pilot)

        note.dismiss("written while help was open")
        await settle(pilot)

        assert app.screen is workspace
        assert answers == ["written while help was open"]


class SteadyPaletteApp(RipenApp):
    """The app with the steady palette on Ctrl+P, as ``tui.app`` should open it."""

    CSS_PATH = str(Path(tui.app.__file__).with_name("app.tcss"))

    def action_command_palette(self) -> None:
        if not isinstance(self.screen, CommandPalette):
            self.push_screen(SteadyCommandPalette(id="--command-palette"))


async def test_page_keys_in_a_palette_still_filling_do_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    app = SteadyPaletteApp(session=small_session(engine, tmp_path).id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        workspace = app.screen
        for _ in range(25):
            burst(app, "ctrl+p", "s", "pageup", "pagedown", "e", "pageup")
            burst(app, "pagedown", "backspace", "pageup", "escape")
            await asyncio.sleep(0.03)
        await settle(pilot)
        await pilot.pause(0.3)

        assert app.return_code is None, "the app must not have died"
        assert app.screen is workspace
