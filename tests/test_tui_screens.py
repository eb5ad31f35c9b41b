"""The screens around the workspace, driven with keys as a user would drive them.

Each test mounts one screen in a small host app at 120x40, presses keys through
Pilot, and checks what the screen shows, what it answered, and what the database
now holds. Photos are scikit-image samples, downscaled where size does not matter;
generations run on the local backend.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import DirectoryTree, Label, Static, TextArea

from core import library
from core.backends.base import BlobStore, GenerationRequest, GenerationResult
from core.backends.local.regions import validate_region
from core.cancel import CancelToken, Progress, ProgressCallback
from core.engine import Engine
from core.errors import Cancelled, NotFound
from core.models import Round
from tests.conftest import sample
from tests.tui_states import SIZE, ScreenHost, settle
from tui.screens.compare import CompareScreen
from tui.screens.dialogs import ConfirmDialog, NoteEditor, RegionPicker, TextDialog
from tui.screens.new_session import NewSessionScreen
from tui.screens.sessions import SessionRow, SessionsScreen
from tui.screens.templates import TemplatesScreen


@pytest.fixture
def engine() -> Engine:
    return Engine()


def photo(folder: Path, name: str, size: int = 160) -> Path:
    """A small copy of a sample photograph, saved as a JPEG in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jpg"
    sample(name, size).save(path, quality=90)
    return path


def start(engine: Engine, image: Path, title: str) -> Round:
    return engine.new_session("", [image], backend="local", title=title)


def text_of(widget: Label | Static) -> str:
    return str(widget.render())


# -- sessions ---------------------------------------------------------------------


async def test_sessions_filter_narrows_the_list_as_you_type(
    engine: Engine, tmp_path: Path
) -> None:
    for name, title in (
        ("coffee", "Coffee for the menu"),
        ("astronaut", "Astronaut portrait"),
        ("rocket", "Rocket at dawn"),
    ):
        start(engine, photo(tmp_path, name), title)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = SessionsScreen(engine)
        app.open(screen)
        await settle(pilot)
        assert [s.title for s in screen.shown] == [
            "Rocket at dawn",
            "Astronaut portrait",
            "Coffee for the menu",
        ]

        await pilot.press("slash", *"ro")
        assert [s.title for s in screen.shown] == [
            "Rocket at dawn",
            "Astronaut portrait",
        ]
        await pilot.press("c")
        assert [s.title for s in screen.shown] == ["Rocket at dawn"]
        assert "1 of 3" in text_of(screen.query_one("#sessions-heading", Label))

        await pilot.press(*"xyz")
        assert screen.shown == []
        assert screen.query_one("#sessions-empty").display

        await pilot.press("escape")
        assert len(screen.shown) == 3
        assert screen.focused is screen.list_view
        await pilot.press("j", "j", "k")  # as in the tree
        assert screen.highlighted is not None
        assert screen.highlighted.title == "Astronaut portrait"
        await pilot.press("slash", *"coffee", "enter")
        await settle(pilot)
    coffee = next(s for s in engine.sessions() if s.title == "Coffee for the menu")
    assert app.results == [coffee.id]


async def test_sessions_show_thumbnails_from_small_cached_copies(
    engine: Engine, tmp_path: Path
) -> None:
    start(engine, photo(tmp_path, "chelsea", size=900), "Cat on the sofa")
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = SessionsScreen(engine)
        app.open(screen)
        await settle(pilot)
        row = screen.query_one(SessionRow)
        assert row.query_one(".thumbnail").display
        assert not row.query_one(".placeholder").display
        figures = text_of(row.query_one(".figures", Label))
        assert figures.startswith("1 round · 0 of 140 credits · changed ")
    cached = list((engine.config.cache_dir / "previews").glob("*.png"))
    assert len(cached) == 1
    from PIL import Image

    with Image.open(cached[0]) as thumbnail:
        assert max(thumbnail.size) <= 96


async def test_rename_changes_the_title_in_the_database(
    engine: Engine, tmp_path: Path
) -> None:
    first = start(engine, photo(tmp_path, "coffee"), "Coffee for the menu")
    start(engine, photo(tmp_path, "rocket"), "Rocket at dawn")
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = SessionsScreen(engine)
        app.open(screen)
        await settle(pilot)
        await pilot.press("down", "r")
        assert isinstance(app.screen, TextDialog)
        await pilot.press(*"Espresso, final", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert "Espresso, final" in [s.title for s in screen.shown]
        assert screen.highlighted is not None
        assert screen.highlighted.id == first.session
    assert engine.session(first.session).title == "Espresso, final"


async def test_delete_asks_first_and_keeps_images_another_session_uses(
    engine: Engine, tmp_path: Path
) -> None:
    shared = photo(tmp_path, "coffee")
    kept = start(engine, shared, "Coffee, kept")
    doomed = start(engine, shared, "Coffee, to delete")
    engine.refine(doomed.id, "Make it black and white", backend="local")
    doomed_only = engine.path(engine.session(doomed.session).current_round or "")[-1]
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = SessionsScreen(engine)
        app.open(screen)
        await settle(pilot)
        assert screen.highlighted is not None
        assert screen.highlighted.title == "Coffee, to delete"

        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert len(engine.sessions()) == 2

        await pilot.press("d", "y")
        await settle(pilot)
        assert [s.title for s in screen.shown] == ["Coffee, kept"]
    with pytest.raises(NotFound):
        engine.session(doomed.session)
    assert not doomed_only.image.exists()
    assert kept.image.exists()
    assert all(row["path"].exists() for row in engine.inputs(kept.id))


# -- new session ------------------------------------------------------------------


async def test_new_session_from_a_photo_picked_in_the_current_folder(
    engine: Engine, coffee_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(coffee_path, folder / "coffee.jpg")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    monkeypatch.chdir(folder)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(SessionsScreen(engine))
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NewSessionScreen)

        await pilot.press("down", "enter")  # mode: edit a photo
        assert form.mode == "edit"
        # Tab goes to what the session needs first: the prompt, then the images.
        await pilot.press("tab", *"Warm the light", "tab")
        tree = form.query_one("#new-files", DirectoryTree)
        assert form.focused is tree
        assert form.query_one("#new-prompt", TextArea).text == "Warm the light"
        listed = [str(node.label) for node in tree.root.children]
        assert listed == ["coffee.jpg"]

        await pilot.press("down", "enter")
        assert form.images == [(folder / "coffee.jpg").resolve()]
        await pilot.press("ctrl+s")
        await settle(pilot)

    assert len(app.results) == 1
    session = engine.session(str(app.results[0]))
    assert session.rounds == 1
    first = engine.round(session.current_round or "")
    assert (first.mode, first.instruction) == ("edit", "Warm the light")
    assert (first.width, first.height) == (600, 400)
    assert [row["source"] for row in engine.inputs(first.id)] == ["coffee.jpg"]


async def test_compose_needs_two_references_and_starts_nothing_without(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "refs"
    photo(folder, "coffee")
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        form = NewSessionScreen(engine, start_dir=folder)
        app.open(form)
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # mode: compose
        assert form.mode == "compose"
        form.add_image(folder / "coffee.jpg")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert [n.message for n in app._notifications] == [
            "Pick two or three references; 1 chosen."
        ]
    assert engine.sessions() == []
    assert app.results == []


# -- compare ----------------------------------------------------------------------


async def ab_pair(engine: Engine, tmp_path: Path) -> tuple[Round, Round]:
    base = start(engine, photo(tmp_path, "coffee"), "Coffee")
    warm, cool = engine.ab(
        base.id, ["Make the light warmer", "Make the light cooler"], backend="local"
    )
    assert isinstance(warm, Round) and isinstance(cool, Round)
    return warm, cool


async def test_compare_picks_the_right_round_as_winner(
    engine: Engine, tmp_path: Path
) -> None:
    warm, cool = await ab_pair(engine, tmp_path)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = CompareScreen(engine, warm.id, cool.id)
        app.open(screen)
        await settle(pilot)
        left = screen.query_one("#compare-left")
        assert "Make the light warmer" in text_of(
            left.query_one(".instruction", Static)
        )
        assert "0 credits" in text_of(left.query_one(".cost", Label))
        await pilot.press("right")
        await settle(pilot)
    assert app.results == [cool.id]
    assert engine.round(cool.id).winner
    assert not engine.round(warm.id).winner


async def test_compare_swap_then_pick_left(engine: Engine, tmp_path: Path) -> None:
    warm, cool = await ab_pair(engine, tmp_path)
    engine.mark_winner(warm.id)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(CompareScreen(engine, warm.id, cool.id))
        await settle(pilot)
        await pilot.press("s", "1")
        await settle(pilot)
    assert app.results == [cool.id]
    assert engine.round(cool.id).winner
    assert not engine.round(warm.id).winner


async def test_compare_letters_follow_rounds_and_keys_follow_sides(
    engine: Engine, tmp_path: Path
) -> None:
    warm, cool = await ab_pair(engine, tmp_path)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = CompareScreen(engine, warm.id, cool.id)
        app.open(screen)
        await settle(pilot)
        left = screen.query_one("#compare-left")
        right = screen.query_one("#compare-right")
        heading = text_of(screen.query_one("#compare-heading", Label))
        assert "A and B, two refinements of #1" in heading
        assert str(left.border_title).startswith(f"A · #{warm.number} ")
        assert left.border_subtitle == "← or 1 picks A"
        assert str(right.border_title).startswith(f"B · #{cool.number} ")
        assert right.border_subtitle == "→ or 2 picks B"

        await pilot.press("s")
        await settle(pilot)
        assert str(left.border_title).startswith(f"B · #{cool.number} ")
        assert left.border_subtitle == "← or 1 picks B"
        assert "Make the light cooler" in text_of(
            left.query_one(".instruction", Static)
        )
        assert str(right.border_title).startswith(f"A · #{warm.number} ")
        await pilot.press("2")
        await settle(pilot)
    assert app.results == [warm.id]
    assert engine.round(warm.id).winner


async def test_compare_back_marks_nothing(engine: Engine, tmp_path: Path) -> None:
    warm, cool = await ab_pair(engine, tmp_path)
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(CompareScreen(engine, warm.id, cool.id))
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
    assert app.results == [None]
    assert not engine.round(warm.id).winner and not engine.round(cool.id).winner


# -- templates --------------------------------------------------------------------


async def test_templates_apply_and_save_the_current_branch(
    engine: Engine, tmp_path: Path
) -> None:
    base = start(engine, photo(tmp_path, "coffee"), "Coffee")
    lit = engine.refine(base.id, "Deepen the shadows slightly", backend="local")
    done = engine.refine(lit.id, "Sharpen the cup slightly", backend="local")
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = TemplatesScreen(engine, base.session, done.id)
        app.open(screen)
        await settle(pilot)
        await pilot.press("s")
        assert isinstance(app.screen, TextDialog)
        await pilot.press(*"coffee light", "enter")
        await settle(pilot)
        assert screen.highlighted is not None
        assert screen.highlighted.name == "coffee light"
        about = text_of(screen.query_one("#templates-about", Static))
        assert "2 steps" in about
        await pilot.press("a")
        await settle(pilot)
    saved = library.get_template(engine, "coffee light")
    assert [step.skeleton for step in saved.steps] == [
        "Deepen the shadows slightly",
        "Sharpen the cup slightly",
    ]
    assert app.results == ["coffee light"]
    assert engine.session(base.session).template == "coffee light"


# -- dialogs ----------------------------------------------------------------------


async def test_region_picker_arrows_to_the_lower_right_third(engine: Engine) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(RegionPicker())
        await settle(pilot)
        await pilot.press("down", "down", "down", "right", "right", "enter")
        await settle(pilot)
    assert app.results == ["lower right third"]
    assert validate_region("lower right third") == "lower-right"


async def test_region_picker_named_regions_and_whole_image(engine: Engine) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(RegionPicker())
        await settle(pilot)
        await pilot.press("tab", "down", "down", "enter")
        app.open(RegionPicker())
        await settle(pilot)
        await pilot.press("w")
        app.open(RegionPicker())
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
    assert app.results == ["subject", "", None]


async def test_every_grid_cell_names_a_region_the_engine_accepts() -> None:
    from tui.screens.dialogs import NAMED_REGIONS, grid_region

    names = [grid_region(row, column) for row in range(3) for column in range(3)]
    names += [name for name, _ in NAMED_REGIONS]
    canonical = [validate_region(name) for name in names]
    assert canonical[:9] == [
        "upper-left",
        "upper-centre",
        "upper-right",
        "centre-left",
        "centre",
        "centre-right",
        "lower-left",
        "lower-centre",
        "lower-right",
    ]


async def test_note_editor_returns_the_edited_text(engine: Engine) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(NoteEditor("Warm highlights"))
        await settle(pilot)
        await pilot.press(*" suit the table", "enter", *"Keep them.", "ctrl+s")
        app.open(NoteEditor("unchanged"))
        await settle(pilot)
        await pilot.press("x", "escape")
        await settle(pilot)
    assert app.results == ["Warm highlights suit the table\nKeep them.", None]


async def test_confirm_enter_alone_answers_no(engine: Engine) -> None:
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(ConfirmDialog("Delete everything?"))
        await settle(pilot)
        await pilot.press("enter")
        app.open(ConfirmDialog("Delete everything?"))
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert app.results == [False, True]


async def test_ab_dialog_returns_both_instructions(engine: Engine) -> None:
    from tui.screens.dialogs import ABDialog

    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.open(ABDialog())
        await settle(pilot)
        await pilot.press(*"warmer light", "enter", *"cooler light", "enter")
        await settle(pilot)
    assert app.results == [("warmer light", "cooler light")]


class WaitingBackend:
    """A backend that reports a rate-limit wait and then waits to be cancelled."""

    name = "local"

    def model_for(self, quality: str) -> str:
        return "slow-model"

    def credits_for(self, quality: str) -> int:
        return 20

    def generate(
        self,
        request: GenerationRequest,
        blobs: BlobStore,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> GenerationResult:
        progress(Progress("retrying", "Rate limited", model="slow-model", retry_in=30))
        if cancel.wait(10):
            raise Cancelled("Cancelled while waiting to retry.")
        raise AssertionError("the test never cancelled")


async def test_escape_cancels_a_running_first_round(tmp_path: Path) -> None:
    engine = Engine(backends={"local": WaitingBackend()})
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        form = NewSessionScreen(engine, start_dir=tmp_path)
        app.open(form)
        await settle(pilot)
        form.query_one("#new-prompt").focus()
        await pilot.press(*"a cup", "enter")
        await pilot.pause(0.3)
        line = text_of(form.query_one("#new-progress", Static))
        assert "slow-model" in line and "rate limited, retry in 30 s" in line.lower()
        assert form.job is not None and len(app.jobs) == 1

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is form and form.job is None and app.jobs == {}
        assert not form.query_one("#new-progress").display
    assert app.results == []
    (session,) = engine.sessions()
    assert session.rounds == 0 and session.credits == 0
    (attempt,) = engine.tree(session.id).attempts
    assert attempt.kind == "cancelled"
