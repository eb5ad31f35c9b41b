"""What the interface tests share: a scripted backend, small sessions, waiting.

The scripted backend behaves like a paid service (20 and 40 credits, dollars per
round) and reads cues from the instruction, so a test drives every outcome by
typing, as a user would: ``BLOCK`` is refused by the service, ``SLOW`` waits until
cancelled, ``RATE`` sits in a rate-limit wait with a countdown, ``DELAY`` takes half
a second, ``HOLD`` waits until the test opens the backend's ``gate``. Anything else
brightens the parent image a little, with Pillow.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from PIL import Image, ImageEnhance
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from textual.worker import WorkerCancelled, WorkerFailed

from core.backends.base import (
    BlobStore,
    GenerationRequest,
    GenerationResult,
    Quality,
    Usage,
)
from core.cancel import CancelToken, Progress, ProgressCallback
from core.config import load_config
from core.demo import ensure_demo
from core.engine import Engine
from core.errors import Blocked, Cancelled, RipenError
from core.models import Round, Session
from tests import tui_states
from tests.conftest import sample
from tui.app import RipenApp
from tui.widgets.prompt import PromptArea
from tui.widgets.session_tree import SessionTree

FROZEN_TIME = "2024-03-01T09:30:00+00:00"


class ScriptedBackend:
    """A paid-looking backend whose outcome the instruction chooses."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls = 0
        self.gate = threading.Event()

    def model_for(self, quality: Quality) -> str:
        return "scripted-ultra" if quality == "ultra" else "scripted-common"

    def credits_for(self, quality: Quality) -> int:
        return 40 if quality == "ultra" else 20

    def generate(
        self,
        request: GenerationRequest,
        blobs: BlobStore,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> GenerationResult:
        self.calls += 1
        model = self.model_for(request.quality)
        cue = request.instruction
        if "BLOCK" in cue:
            raise Blocked(
                "The service would not make this image [policy: SAFETY].",
                reason="SAFETY",
            )
        if "SLOW" in cue:
            while not cancel.wait(0.02):
                pass
            raise Cancelled("Cancelled while waiting for the service.")
        if "RATE" in cue:
            progress(
                Progress(
                    "retrying",
                    "Rate limited; retrying in 30 s",
                    model=model,
                    retry_in=30.0,
                    attempt=2,
                )
            )
            if cancel.wait(30):
                raise Cancelled("Cancelled during the rate-limit wait.")
        if "DELAY" in cue and cancel.wait(0.5):
            raise Cancelled("Cancelled.")
        if "HOLD" in cue:
            while not self.gate.wait(0.02):
                if cancel.cancelled:
                    raise Cancelled("Cancelled.")
        source = request.history[-1].image if request.history else request.inputs[0]
        with Image.open(source) as opened:
            image = ImageEnhance.Brightness(opened.convert("RGB")).enhance(1.08)
        return GenerationResult(
            image=image,
            model=model,
            text="Brightened a little.",
            applied=[cue.split(".")[0].strip()],
            usage=Usage(input=12, output=1290, image=1290),
            usd=0.039 if request.quality == "common" else 0.134,
        )


def scripted_engine() -> Engine:
    """An engine over the test's data folder with the scripted backend added."""
    return Engine(load_config(), backends={"scripted": ScriptedBackend()})


def small_session(
    engine: Engine, tmp: Path, rounds: int = 2, budget: int | None = None
) -> Session:
    """A session from a downscaled photo with ``rounds`` refinements on top."""
    photo = tmp / "coffee-small.png"
    sample("coffee", 160).save(photo)
    first = engine.new_session(
        "Coffee for the menu",
        [photo],
        backend="scripted",
        title="Small coffee",
        budget=budget,
    )
    current = first
    for number in range(rounds):
        current = engine.refine(current.id, f"Brighten step {number + 1}")
    return engine.session(first.session)


class OneAtATime(Engine):
    """An engine that runs A/B alternatives one after the other, so that which one
    gets the lower round number does not depend on thread timing."""

    def ab(
        self,
        round_id: str,
        instructions: Sequence[str],
        *,
        cancel: CancelToken | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> list[Round | RipenError]:
        results: list[Round | RipenError] = []
        for text in instructions:
            try:
                results.append(
                    self.refine(
                        round_id, text, cancel=cancel, progress=progress, **options
                    )
                )
            except RipenError as error:
                results.append(error)
        return results


def build_frozen_demo(home: Path) -> None:
    """The demo session in ``home`` with the same ids, numbers, times and timings
    on every run: what byte-stable screenshots need."""
    ids = (f"demo{n:02d}" for n in itertools.count(1))
    with mock.patch("core.engine.new_id", lambda length=6: next(ids)):
        engine = OneAtATime(load_config(home))
        ensure_demo(engine)
    freeze(engine)
    engine.store.close()


def freeze(engine: Engine) -> None:
    """Give every row the same timestamps and timings, for byte-stable screenshots."""
    with engine.store.transaction() as db:
        db.execute("UPDATE rounds SET created = ?, latency = 1.25", [FROZEN_TIME])
        db.execute("UPDATE sessions SET created = ?, updated = ?", [FROZEN_TIME] * 2)
        db.execute("UPDATE attempts SET created = ?", [FROZEN_TIME])


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], object], seconds: float = 5.0
) -> None:
    """Let the app run until ``condition()`` holds; fail loudly if it never does."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds} s waiting for {condition}")
        await pilot.pause(0.02)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for workers and timers, so what the screen shows is final."""
    await pilot.pause(0.1)
    await workers_done(pilot.app)
    await pilot.pause(0.1)
    await asyncio.sleep(0)


# -- known states of every screen, for snapshot tests and screenshots/make.py ------

Step = Callable[[Pilot[Any], Path], Awaitable[object]]


async def workers_done(app: App[Any]) -> None:
    """Wait for every worker that ends by itself to end, however it ends."""
    for worker in list(app.workers):
        # A DirectoryTree's loader runs for as long as the widget lives.
        if worker.group == "_loader" or worker.is_finished:
            continue
        try:
            await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            pass


async def still(pilot: Pilot[Any]) -> None:
    """Finish every worker and stop every cursor blinking, so frames are final."""
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()
        await asyncio.sleep(0.02)
    for screen in pilot.app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            assert isinstance(widget, Input | TextArea)
            widget.cursor_blink = False
            # A TextArea caches its lines under a key that, once blinking stops,
            # no longer says whether the cursor was drawn: a line cached in the
            # blink's off phase would be reused without its cursor. Restyling
            # clears that cache.
            widget.notify_style_update()
            widget.refresh()
    await pilot.pause()


async def show_workspace(pilot: Pilot[Any], folder: Path) -> None:
    """The workspace as it opens: the current round selected, the prompt focused."""


async def show_failed_attempt(pilot: Pilot[Any], folder: Path) -> None:
    """The demo's failed attempt selected in the tree, dimmed, with its reason."""
    pilot.app.screen.query_one(SessionTree).focus()
    await pilot.press("down")


async def show_lint_warnings(pilot: Pilot[Any], folder: Path) -> None:
    """An instruction that asks for too much, with the linter's warnings under it."""
    area = pilot.app.screen.query_one(PromptArea)
    area.insert(
        "Crop tighter, move the cup to the left, warm the light, sharpen the cup "
        "and add film grain"
    )


async def show_help(pilot: Pilot[Any], folder: Path) -> None:
    """Every key of the workspace."""
    await pilot.press("f1")


async def show_error_details(pilot: Pilot[Any], folder: Path) -> None:
    """The full text of the demo's failed attempt."""
    pilot.app.screen.query_one(SessionTree).focus()
    await pilot.press("down", "enter")


async def show_new_session(pilot: Pilot[Any], folder: Path) -> None:
    await tui_states.show_new_session(pilot, folder / "photos")


async def show_export_dialog(pilot: Pilot[Any], folder: Path) -> None:
    await tui_states.show_export_dialog(pilot, Path("~/Pictures/ripen"))


def _other(show: Callable[[Pilot[Any]], Awaitable[object]]) -> Step:
    async def step(pilot: Pilot[Any], folder: Path) -> None:
        await show(pilot)

    step.__doc__ = show.__doc__
    return step


SCREENS: dict[str, Step] = {
    "workspace": show_workspace,
    "workspace-attempt": show_failed_attempt,
    "workspace-lint": show_lint_warnings,
    "help": show_help,
    "error-details": show_error_details,
    "sessions": _other(tui_states.show_sessions),
    "new-session": show_new_session,
    "compare": _other(tui_states.show_compare),
    "templates": _other(tui_states.show_templates),
    "region-picker": _other(tui_states.show_region_picker),
    "note-editor": _other(tui_states.show_note_editor),
    "confirm": _other(tui_states.show_confirm),
    "ab-dialog": _other(tui_states.show_ab_dialog),
    "export-dialog": show_export_dialog,
    "rename": _other(tui_states.show_rename),
}


def demo_app(engine: Engine) -> RipenApp:
    """The app on the demo session with half-cell previews, as screenshots show it."""
    return RipenApp(session=ensure_demo(engine).id, engine=engine, images="halfcell")
