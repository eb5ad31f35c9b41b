"""Every screen at 120x40, compared with the SVG a person last looked at and accepted.

The demo session is built once per module and copied into each test's data folder
with its timestamps and timings frozen; previews use the half-cell renderer; every
worker has finished and no cursor blinks when the screenshot is taken, so the same
code gives the same bytes on every run. The states are the ones
``screenshots/make.py`` draws (``SCREENS`` in ``tests/tui_support.py``).
``pytest --snapshot-update`` accepts a change after a look at the report.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from core.config import load_config
from core.engine import Engine
from tests.tui_support import SCREENS, build_frozen_demo, demo_app, still

SIZE = (120, 40)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the frozen demo session, built once for the module."""
    home = tmp_path_factory.mktemp("demo-home")
    build_frozen_demo(home)
    return home


@pytest.fixture
def engine(demo_home: Path, ripen_home: Path) -> Engine:
    shutil.copytree(demo_home, ripen_home, dirs_exist_ok=True)
    return Engine(load_config(ripen_home))


@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(
    snap_compare: Callable[..., bool], engine: Engine, tmp_path: Path, name: str
) -> None:
    step = SCREENS[name]

    async def run_before(pilot: Pilot[Any]) -> None:
        await still(pilot)
        await step(pilot, tmp_path)
        await still(pilot)

    assert snap_compare(demo_app(engine), terminal_size=SIZE, run_before=run_before)
