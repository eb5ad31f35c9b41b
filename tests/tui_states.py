"""Known states of the screens around the workspace, for screenshots and tests.

Each ``show_*`` coroutine takes a running Pilot whose app carries what ripen's
screens read from the app (``engine``, ``image_class``, ``previews``, ``jobs``):
:class:`tui.app.RipenApp` does, and so does the smaller :class:`ScreenHost` below.
It pushes one screen in a state worth looking at, waits until its workers have
finished and the screen has settled, and returns the screen. The data comes from the
demo session (:func:`core.demo.ensure_demo`), built on first use.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from core.demo import ensure_demo, sample_photo
from core.engine import Engine
from core.models import Round
from tui.preview_cache import PREVIEW_SIZES, PreviewCache
from tui.renderer import Renderer, image_widget_class
from tui.screens.compare import CompareScreen
from tui.screens.dialogs import (
    ABDialog,
    ConfirmDialog,
    ExportDialog,
    NoteEditor,
    RegionPicker,
    TextDialog,
)
from tui.screens.new_session import NewSessionScreen
from tui.screens.sessions import SessionsScreen
from tui.screens.templates import TemplatesScreen

SIZE = (120, 40)


class ScreenHost(App[None]):
    """The smallest app that hosts ripen's screens: one engine, half-cell previews.

    ``results`` collects what each pushed screen answered through ``dismiss``.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.renderer = Renderer("halfcell")
        self.image_class = image_widget_class(self.renderer)
        self.previews = PreviewCache(
            engine.config.cache_dir / "previews", PREVIEW_SIZES["halfcell"]
        )
        self.jobs: dict[int, Any] = {}
        self.results: list[object] = []

    def open(self, screen: Screen[Any]) -> None:
        """Push ``screen`` and keep its answer in ``results``."""
        self.push_screen(screen, self.results.append)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until the workers are done and the messages they posted are handled.

    A DirectoryTree keeps one loader worker alive for as long as it is mounted;
    that one is not waited for.
    """
    for _ in range(3):
        running = [w for w in pilot.app.workers if w.group != "_loader"]
        if running:  # an empty list would mean "every worker" to Textual
            await pilot.app.workers.wait_for_complete(running)
        await pilot.pause()
        await asyncio.sleep(0.02)
    await pilot.pause()


def engine_of(pilot: Pilot[Any]) -> Engine:
    engine = getattr(pilot.app, "engine", None)
    assert isinstance(engine, Engine), "the app must carry an engine"
    return engine


def demo_pair(engine: Engine) -> tuple[Round, Round]:
    """The demo session's A/B pair: the first two rounds that share a parent."""
    tree = engine.tree(ensure_demo(engine).id)
    for r in tree.rounds:
        siblings = tree.children(r.parent) if r.parent else []
        if len(siblings) >= 2:
            return siblings[0], siblings[1]
    raise LookupError("the demo session has no A/B pair")


async def _push(pilot: Pilot[Any], screen: Screen[Any]) -> Screen[Any]:
    await pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def more_sessions(engine: Engine, folder: Path) -> None:
    """Two sessions beside the demo one: a portrait edit and a prompt-only draft."""
    titles = {s.title for s in engine.sessions()}
    if "Astronaut portrait, softer light" not in titles:
        photo = sample_photo("astronaut", folder)
        first = engine.new_session(
            "", [photo], backend="local", title="Astronaut portrait, softer light"
        )
        engine.refine(first.id, "Soften the contrast slightly", backend="local")
    if "Rocket at dawn" not in titles:
        engine.new_session(
            "A rocket on the launch pad at dawn, rocket in the left third",
            backend="local",
            title="Rocket at dawn",
            budget=100,
        )


async def show_sessions(
    pilot: Pilot[Any], folder: Path | None = None
) -> SessionsScreen:
    """The sessions list with thumbnails: the demo session, and two more when a
    ``folder`` for their sample photo is given."""
    engine = engine_of(pilot)
    ensure_demo(engine)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        more_sessions(engine, folder)
    screen = SessionsScreen(engine)
    await _push(pilot, screen)
    return screen


async def show_new_session(pilot: Pilot[Any], folder: Path) -> NewSessionScreen:
    """The new-session form in edit mode, a photo from ``folder`` chosen, a prompt
    typed. ``folder`` gets two sample photos and a text file the picker hides."""
    folder.mkdir(parents=True, exist_ok=True)
    sample_photo("coffee", folder)
    sample_photo("astronaut", folder)
    (folder / "notes.txt").write_text("not an image\n", encoding="utf-8")
    screen = NewSessionScreen(engine_of(pilot), start_dir=folder)
    await _push(pilot, screen)
    await pilot.press("down", "enter")  # mode: edit a photo
    screen.add_image(folder / "coffee.png")
    screen.query_one("#new-prompt").focus()
    await pilot.press(*"Crop to 4:5 and warm the light a little")
    await settle(pilot)
    return screen


async def show_compare(pilot: Pilot[Any]) -> CompareScreen:
    """The demo session's A/B pair side by side."""
    engine = engine_of(pilot)
    warm, cool = demo_pair(engine)
    screen = CompareScreen(engine, warm.id, cool.id)
    await _push(pilot, screen)
    return screen


async def show_templates(pilot: Pilot[Any]) -> TemplatesScreen:
    """The template library for the demo session, previewing the first template."""
    engine = engine_of(pilot)
    session = ensure_demo(engine)
    assert session.current_round is not None
    screen = TemplatesScreen(engine, session.id, session.current_round)
    await _push(pilot, screen)
    return screen


async def show_region_picker(pilot: Pilot[Any]) -> RegionPicker:
    """The region picker with the cursor moved to the lower right third."""
    screen = RegionPicker()
    await _push(pilot, screen)
    await pilot.press("down", "right")
    await settle(pilot)
    return screen


async def show_note_editor(pilot: Pilot[Any]) -> NoteEditor:
    """The note editor on a round that already has a note."""
    screen = NoteEditor(
        "Warm highlights suit the wooden table; keep them.", title="Note on #3"
    )
    await _push(pilot, screen)
    return screen


async def show_confirm(pilot: Pilot[Any]) -> ConfirmDialog:
    """The question asked before a session is deleted."""
    screen = ConfirmDialog(
        "Delete “Demo: coffee for the menu”, its 7 rounds and their notes?\n"
        "Images another session still uses are kept.",
        yes="Delete",
    )
    await _push(pilot, screen)
    return screen


async def show_ab_dialog(pilot: Pilot[Any]) -> ABDialog:
    """The A/B dialog with both alternatives written."""
    screen = ABDialog("Make the light warmer overall", "Make the light cooler overall")
    await _push(pilot, screen)
    return screen


async def show_export_dialog(pilot: Pilot[Any], folder: Path) -> ExportDialog:
    """The export dialog pointing at ``folder``."""
    screen = ExportDialog(folder)
    await _push(pilot, screen)
    return screen


async def show_rename(pilot: Pilot[Any]) -> TextDialog:
    """The rename dialog over the sessions list (the demo session highlighted)."""
    await show_sessions(pilot)
    await pilot.press("r")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TextDialog)
    return screen
