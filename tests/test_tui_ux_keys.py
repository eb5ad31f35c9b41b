"""The keys a newcomer meets: Escape on the sessions list, and what footers offer.

The footer is the only key help a newcomer reads without asking, so these tests
read it the way the screen draws it: the labels in order, and whether each one is
inside the 120 columns left of the command palette's label. Escape is checked
where it used to quit the whole app, on the sessions list ``ripen`` opens with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from core.engine import Engine
from tests.tui_states import SIZE, ScreenHost
from tests.tui_support import scripted_engine, settle, small_session
from tui.app import RipenApp
from tui.screens.dialogs import (
    ABDialog,
    ConfirmDialog,
    ExportDialog,
    NoteEditor,
    RegionPicker,
    TextDialog,
)
from tui.screens.sessions import SessionsScreen
from tui.screens.workspace import WorkspaceScreen
from tui.widgets.prompt import PromptArea
from tui.widgets.session_tree import SessionTree


@pytest.fixture
def engine() -> Engine:
    return scripted_engine()


@pytest.fixture
def workspace_app(engine: Engine, tmp_path: Path) -> RipenApp:
    """The app opening on the workspace of a small session."""
    return RipenApp(session=small_session(engine, tmp_path).id, engine=engine)


def footer_labels(screen: Screen[Any]) -> list[str]:
    """The footer's keys as drawn, e.g. ``"q Quit"``, the palette's left out."""
    footer = screen.query_one(Footer)
    return [
        f"{item.key_display} {item.description}"
        for item in footer.query(FooterKey)
        if not item.has_class("-command-palette")
    ]


def cut_off(screen: Screen[Any]) -> list[str]:
    """The footer's labels that do not fit left of the command palette's label."""
    footer = screen.query_one(Footer)
    palette = footer.query(".-command-palette")
    limit = palette.first().region.x if palette else footer.region.right
    return [
        f"{item.key_display} {item.description}"
        for item in footer.query(FooterKey)
        if not item.has_class("-command-palette")
        and (item.region.width == 0 or item.region.right > limit)
    ]


# -- Escape on the sessions list ------------------------------------------------


def sessions_screen(app: RipenApp) -> SessionsScreen:
    screen = app.screen
    assert isinstance(screen, SessionsScreen), type(screen).__name__
    return screen


async def test_escape_on_the_first_sessions_screen_never_quits(
    engine: Engine, tmp_path: Path
) -> None:
    small_session(engine, tmp_path)
    app = RipenApp(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = sessions_screen(app)
        assert footer_labels(screen)[-1] == "q Quit"
        assert not any(label.startswith("esc") for label in footer_labels(screen))

        await pilot.press("escape", "escape")
        await settle(pilot)
        assert app.return_code is None
        assert sessions_screen(app) is screen

        # While the filter is typed into, q is a letter and Escape clears.
        await pilot.press("slash", "q")
        await settle(pilot)
        assert screen.filter_box.value == "q"
        assert app.return_code is None
        assert "esc Clear filter" in footer_labels(screen)
        await pilot.press("escape")
        await settle(pilot)
        assert screen.filter_box.value == ""
        assert screen.focused is screen.list_view
        assert sessions_screen(app) is screen and app.return_code is None

        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


async def test_escape_on_sessions_opened_from_the_workspace_goes_back(
    workspace_app: RipenApp,
) -> None:
    app = workspace_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        workspace = app.screen
        assert isinstance(workspace, WorkspaceScreen)
        await pilot.press("escape", "o")
        await settle(pilot)
        assert isinstance(app.screen, SessionsScreen)
        assert footer_labels(app.screen)[-2:] == ["esc Back", "q Quit"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is workspace
        assert app.return_code is None


# -- the workspace footer ---------------------------------------------------------


async def test_workspace_footer_fits_120_columns_on_the_prompt_and_the_tree(
    workspace_app: RipenApp,
) -> None:
    app = workspace_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen.focused, PromptArea)
        assert footer_labels(screen) == [
            "⏎ Refine",
            "alt+⏎ New line",
            "^f Apply fix",
            "^t Tier",
            "^r Region",
            "esc Tree",
        ]
        assert cut_off(screen) == []

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(screen.focused, SessionTree)
        assert footer_labels(screen) == [
            "b Branch",
            "a A/B",
            "c Compare",
            "w Winner",
            "u Tier",
            "r Region",
            "p Promote",
            "n Note",
            "? Help",
            "q Quit",
        ]
        assert cut_off(screen) == []


async def test_a_dialog_over_the_workspace_shows_its_own_keys(
    workspace_app: RipenApp,
) -> None:
    app = workspace_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("escape", "n")
        await settle(pilot)
        assert isinstance(app.screen, NoteEditor)
        assert footer_labels(app.screen) == ["^s Save", "esc Cancel"]


DIALOGS: dict[str, tuple[Callable[[], Screen[Any]], list[str]]] = {
    "note": (NoteEditor, ["^s Save", "esc Cancel"]),
    "confirm": (lambda: ConfirmDialog("Delete it?"), ["y Yes", "n/esc No"]),
    "text": (lambda: TextDialog("Rename"), ["⏎ Save", "esc Cancel"]),
    "ab": (ABDialog, ["^s Run both", "esc Cancel"]),
    "export": (ExportDialog, ["^s Export", "esc Cancel"]),
    "region": (RegionPicker, ["⏎ Pick cell", "esc Cancel", "w Whole image"]),
}


@pytest.mark.parametrize("name", list(DIALOGS))
async def test_every_dialog_names_its_enter_or_save_and_escape_keys(
    engine: Engine, name: str
) -> None:
    make, wanted = DIALOGS[name]
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = make()
        app.open(dialog)
        await settle(pilot)
        labels = footer_labels(dialog)
        assert [label for label in labels if label in wanted] == wanted
        assert cut_off(dialog) == []


def test_remaps_that_would_break_a_key_or_typing_are_refused_by_name() -> None:
    from tui.app import known_binding_groups
    from tui.keys import load_keymap

    keymap, problems = load_keymap(
        {
            "tree.quit": "j",  # j moves down in the tree
            "prompt.refine": "x",  # x would never reach an instruction
            "app.quit": "not a key!!!",
            "tree.star": " , ,",
            "tree.winner": "ctrl+w",  # fine
            "tree.branch": "B",  # fine
        },
        known_binding_groups(),
    )
    assert keymap == {"tree.winner": "ctrl+w", "tree.branch": "B"}
    said = {problem.binding_id: problem.message for problem in problems}
    assert said == {
        "tree.quit": "'j' already means 'Down' (tree.down) on the same screen",
        "prompt.refine": "'x' is typed as text while this key works; choose one "
        "with ctrl or alt",
        "app.quit": "'not a key!!!' is not a key name such as 'b', 'ctrl+b' or 'f5'",
        "tree.star": "a key is missing between the commas",
    }


def test_a_dropped_remap_gives_back_a_key_an_accepted_one_then_loses() -> None:
    from tui.app import known_binding_groups
    from tui.keys import load_keymap

    # b moves onto a (A/B's key) and A/B onto c (compare's): A/B is refused and
    # keeps a, so the branch remap must go too, or A/B would have no key.
    keymap, problems = load_keymap(
        {"tree.branch": "a", "tree.ab": "c", "tree.star": "shift+x"},
        known_binding_groups(),
    )
    assert keymap == {}
    said = {problem.binding_id: problem.message for problem in problems}
    assert said["tree.branch"].startswith("'a' already means 'A/B' (tree.ab)")
    assert said["tree.star"] == "a shifted letter is written as itself: 'X'"
