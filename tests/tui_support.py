"""What the interface tests share: a scripted backend, small sessions, waiting.

The scripted backend behaves like a paid service (20 and 40 credits, dollars per
round) and reads cues from the instruction, so a test drives every outcome by
typing, as a user would: ``BLOCK`` is refused by the service, ``SLOW`` waits until
cancelled, ``RATE`` sits in a rate-limit wait with a countdown, ``DELAY`` takes half
a second. Anything else brightens the parent image a little, with Pillow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from pathlib import Path

from PIL import Image, ImageEnhance
from textual.pilot import Pilot

from core.backends.base import (
    BlobStore,
    GenerationRequest,
    GenerationResult,
    Quality,
    Usage,
)
from core.cancel import CancelToken, Progress, ProgressCallback
from core.config import load_config
from core.engine import Engine
from core.errors import Blocked, Cancelled
from core.models import Session
from tests.conftest import sample

FROZEN_TIME = "2024-03-01T09:30:00+00:00"


class ScriptedBackend:
    """A paid-looking backend whose outcome the instruction chooses."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls = 0

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


def small_session(engine: Engine, tmp: Path, rounds: int = 2) -> Session:
    """A session from a downscaled photo with ``rounds`` refinements on top."""
    photo = tmp / "coffee-small.png"
    sample("coffee", 160).save(photo)
    first = engine.new_session(
        "Coffee for the menu", [photo], backend="scripted", title="Small coffee"
    )
    current = first
    for number in range(rounds):
        current = engine.refine(current.id, f"Brighten step {number + 1}")
    return engine.session(first.session)


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
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)
    await asyncio.sleep(0)
