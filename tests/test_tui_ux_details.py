"""Round ids in the interface: shown where a round is described, taken by the CLI.

A user who wants ``ripen show`` or ``ripen export`` from the workspace needs the
round's id; these tests read it off the details pane as a user would and hand it
back to the engine's id lookup, the one the command line uses.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Static

from core.engine import Engine
from tests.tui_states import SIZE
from tests.tui_support import scripted_engine, settle, small_session
from tui.app import RipenApp
from tui.screens.help import HelpScreen
from tui.widgets.prompt import LintingPrompt
from tui.widgets.round_details import RoundDetails
from tui.widgets.session_tree import SessionTree

SHOWN_ID = re.compile(r"\bid (\S+)")


@pytest.fixture
def engine() -> Engine:
    return scripted_engine()


async def test_details_show_the_id_the_command_line_takes(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path, rounds=2)
    app = RipenApp(session=session.id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.screen.query_one(SessionTree)
        tree.focus()
        await pilot.press("k")
        await settle(pilot)
        selected = tree.selected
        assert selected is not None
        details = str(app.screen.query_one(RoundDetails).render())

        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        note = str(app.screen.query_one("#help-ids", Static).render())

    found = SHOWN_ID.search(details)
    assert found is not None, details
    shown = found.group(1)
    assert shown == selected.id
    assert engine.round(shown).number == 2  # the lookup behind `ripen show ID`
    assert "ripen show ID" in note and "ripen export ID" in note


async def test_a_long_title_gives_way_to_the_meters_figures(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path)
    title = "Espresso cup on the walnut counter for the spring menu, second try"
    engine.rename_session(session.id, title)
    app = RipenApp(session=session.id, engine=engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        drawn = app.screen.query_one("#meter", Static)
        text = str(drawn.render())
        assert text.startswith("Espresso cup on the")
        assert "…" in text, "the title is cut, not the figures"
        assert text.rstrip().endswith("· $0.117"), text
        assert len(text.rstrip()) <= 100 - 2
        await pilot.resize_terminal(160, 40)
        await settle(pilot)
        assert title in str(drawn.render()), "with room, the whole title shows"


async def test_the_warning_the_fix_key_applies_is_the_first_shown(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path, rounds=5)
    app = RipenApp(session=session.id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        prompt = app.screen.query_one(LintingPrompt)
        prompt.set_text("blur the background")
        await settle(pilot)
        codes = [w.code for w in prompt.report.warnings]
        assert len(codes) >= 2 and codes[0] != "missing-keep-clause", codes
        first = str(app.screen.query_one("#prompt-warnings", Static).render())
        assert first.splitlines()[0].startswith("ℹ missing-keep-clause")
        assert "^f: append the keep clause" in first.splitlines()[0]
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert prompt.text == "blur the background. Keep everything else unchanged."
