"""Careless and hostile text typed or pasted into ripen's dialogs and lists.

A folder field holding a home folder that does not exist, a NUL or a name too long
for the file system; a filter that looks like markup; a first round whose worker
fails with something other than an engine error. Each ends with the screen saying
what is wrong and the user still in control, never a dead app or a locked form.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Button, Input, Label

from core.engine import MAX_INSTRUCTION, MAX_TITLE, Engine
from tests.tui_states import SIZE, ScreenHost, settle
from tests.tui_support import scripted_engine, small_session
from tui.app import RipenApp
from tui.errors import ErrorDetails
from tui.screens.dialogs import ExportDialog, ExportRequest, TextDialog
from tui.screens.new_session import NewSessionScreen
from tui.screens.sessions import SessionsScreen
from tui.widgets.bounded import BoundedTextArea
from tui.widgets.prompt import PromptArea


@pytest.fixture
def engine() -> Engine:
    return scripted_engine()


def messages(app: ScreenHost | RipenApp) -> list[str]:
    return [note.message for note in app._notifications]


async def export_into(engine: Engine, tmp_path: Path, folder: str) -> ScreenHost:
    """Type ``folder`` into the export dialog and press Ctrl+S; the app returned
    holds the dialog's answer, if any, and what it said."""
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = ExportDialog(tmp_path)
        app.open(dialog)
        await settle(pilot)
        dialog.query_one("#out", Input).value = folder
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert (app.screen is dialog) == (not app.results)
    return app


@pytest.mark.parametrize(
    ("folder", "said"),
    [
        ("~nobody-by-this-name/out", "no home folder for ~nobody-by-this-name"),
        ("out\x00put", "control or invisible characters"),
        ("out\x1b[2Jput", "control or invisible characters"),
        ("out\u202eput", "control or invisible characters"),
        ("x" * 5000, "File name too long"),
    ],
)
async def test_a_folder_no_export_can_go_into_keeps_the_dialog_open(
    engine: Engine, tmp_path: Path, folder: str, said: str
) -> None:
    app = await export_into(engine, tmp_path, folder)

    assert app.results == [], "the user must be able to correct the folder"
    assert any(said in message for message in messages(app)), messages(app)


async def test_a_folder_that_can_be_made_is_answered(
    engine: Engine, tmp_path: Path
) -> None:
    app = await export_into(engine, tmp_path, str(tmp_path / "new" / "folder"))

    assert app.results == [ExportRequest(tmp_path / "new" / "folder", "png", False)]


async def test_a_filter_that_looks_like_markup_is_shown_as_typed(
    engine: Engine, tmp_path: Path
) -> None:
    small_session(engine, tmp_path, rounds=0)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = SessionsScreen(engine)
        app.open(screen)
        await settle(pilot)
        await pilot.press("slash")
        app.post_message(events.Paste("[/b] \x1b[2J\u202e"))
        await settle(pilot)

        heading = str(screen.query_one("#sessions-heading", Label).render())
        assert heading == "Sessions · 0 of 1 match “[/b]”"
        assert app.screen is screen


async def test_a_first_round_that_fails_unexpectedly_gives_the_form_back(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug deep in the engine")

    monkeypatch.setattr(engine, "new_session", broken)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = NewSessionScreen(engine, start_dir=tmp_path)
        app.open(screen)
        await settle(pilot)
        screen.query_one("#new-prompt").insert("A red cup on a table")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot)

        assert isinstance(app.screen, ErrorDetails)
        assert "a bug deep in the engine" in app.screen.text
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert screen.job is None
        assert not screen.query_one("#new-start", Button).disabled
        await pilot.press("escape")
        await settle(pilot)
        assert app.results == [None], "Escape must leave a form that is not busy"


async def test_renaming_while_another_program_holds_the_database_keeps_the_app(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = small_session(engine, tmp_path, rounds=0)
    monkeypatch.setattr("core.store.BUSY_TIMEOUT_MS", 100)
    engine.store.close()  # reopened with the short wait on first use
    other = sqlite3.connect(engine.config.home / "ripen.db", isolation_level=None)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = SessionsScreen(engine)
        app.open(screen)
        await settle(pilot)
        other.execute("BEGIN EXCLUSIVE")
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#text", Input).value = "A new title"
        await pilot.press("enter")
        await settle(pilot)

        assert app.screen is screen, "the failure is a notification, not a new screen"
        assert any("cannot be written (database is locked)" in m for m in messages(app))
        other.execute("ROLLBACK")
    other.close()
    assert engine.session(session.id).title == "Small coffee"


async def test_a_pasted_file_is_refused_by_the_prompt_and_the_note(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path)
    app = RipenApp(session=session.id, engine=engine)
    huge = "warmer light, " * 40_000  # 560,000 characters
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        area = app.screen.query_one(PromptArea)
        app.post_message(events.Paste("Warm the light"))
        await settle(pilot)
        app.post_message(events.Paste(huge))
        await settle(pilot)
        assert area.text == "Warm the light", "a paste too long adds nothing"
        assert any("The paste is 560,000 characters" in m for m in messages(app))

        await pilot.press("escape", "n")  # the tree, then the note of the round
        await settle(pilot)
        note = app.screen.query_one("#note", BoundedTextArea)
        app.post_message(events.Paste(huge))
        await settle(pilot)
        assert note.text == ""
        app.post_message(events.Paste("x" * MAX_INSTRUCTION))
        await settle(pilot)
        assert len(note.text) == MAX_INSTRUCTION, "a paste that fits is taken whole"


@pytest.mark.parametrize("typed", ["y" * 300, "a\x00b", "~nobody-here/x.png"])
async def test_a_path_no_file_can_have_is_refused_in_the_form(
    engine: Engine, tmp_path: Path, typed: str
) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = NewSessionScreen(engine, start_dir=tmp_path)
        app.open(screen)
        await settle(pilot)
        await pilot.press("down", "enter")  # edit a photo
        box = screen.query_one("#new-path", Input)
        box.focus()
        box.value = typed
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and screen.images == []
        assert messages(app), "the refusal is said"


async def test_a_pasted_file_is_refused_by_the_rename_box(
    engine: Engine,
) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(TextDialog("Rename the session", "", "A short title"))
        await settle(pilot)
        app.post_message(events.Paste("warmer light, " * 40_000))
        await settle(pilot)
        assert app.screen.query_one("#text", Input).value == ""
        assert any("The paste is 560,000 characters" in m for m in messages(app))
        app.post_message(events.Paste("t" * MAX_TITLE))
        await settle(pilot)
        assert app.screen.query_one("#text", Input).value == "t" * MAX_TITLE
