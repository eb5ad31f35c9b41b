"""Applying a template says what happens next, even when nothing is left to do.

A template counts a branch's refinement rounds as its steps taken, so on a branch as
deep as the template (the demo session's) applying it used to show nothing at all.
These tests apply the built-in product template as a user does, on a deep branch
and on a fresh one, and read what the user is told: the preview before applying,
the notice after it, and the credit meter's plan.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from core import library
from core.engine import Engine
from core.meter import meter
from tests.tui_states import SIZE, ScreenHost, settle
from tests.tui_support import scripted_engine, small_session, wait_until
from tui.app import RipenApp
from tui.screens.templates import TemplatesScreen
from tui.screens.workspace import WorkspaceScreen
from tui.widgets.meter import meter_text
from tui.widgets.prompt import LintingPrompt


@pytest.fixture
def engine() -> Engine:
    return scripted_engine()


async def apply_product(engine: Engine, session_id: str) -> tuple[str, list[str]]:
    """Open the templates on the session's current round, read the product
    template's preview, apply it; the preview and the notices shown."""
    current = engine.session(session_id).current_round
    assert current is not None
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = TemplatesScreen(engine, session_id, current)
        app.open(screen)
        await settle(pilot)
        assert screen.highlighted is not None
        assert screen.highlighted.name == "product"
        preview = str(screen.query_one("#templates-about", Static).render())
        await pilot.press("enter")
        await settle(pilot)
        notices = [f"{n.title}\n{n.message}" for n in app._notifications]
    assert app.results == ["product"]
    return preview, notices


async def test_applying_on_a_branch_past_every_step_says_how_to_start_over(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path, rounds=4)
    preview, notices = await apply_product(engine, session.id)

    assert "4 refinements: applied here, all 4 steps count as taken" in preview
    [notice] = notices
    assert notice.startswith("Product visualisation: every step already taken")
    assert "select #1 in the tree, press b to branch" in notice
    plan = meter_text(meter(engine, session.id)).plain
    assert plan.endswith("plan: product done")


async def test_applying_on_a_fresh_branch_names_the_next_step_and_its_words(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path, rounds=1)
    preview, notices = await apply_product(engine, session.id)

    assert "the next round would be step 2 of 4 (lighting)" in preview
    applied = library.progress(engine, session.id)
    assert applied is not None and applied.next is not None
    [notice] = notices
    assert notice.startswith("Following Product visualisation: step 2 of 4")
    assert f"Suggested instruction: {applied.next.instruction}" in notice
    assert "It is in the prompt" in notice and "press Enter to run it" in notice
    plan = meter_text(meter(engine, session.id)).plain
    assert plan.endswith("plan: 3 steps, +80 → 120")


async def test_j_and_k_move_through_the_templates_as_in_the_tree(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path, rounds=1)
    current = engine.session(session.id).current_round
    assert current is not None
    app = ScreenHost(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = TemplatesScreen(engine, session.id, current)
        app.open(screen)
        await settle(pilot)
        names = [t.name for t in library.list_templates(engine)]
        assert screen.highlighted is not None
        first = names.index(screen.highlighted.name)
        await pilot.press("j")
        assert screen.highlighted.name == names[first + 1]
        await pilot.press("j", "k", "a")
        await settle(pilot)
    assert app.results == [names[first + 1]]


async def test_each_step_of_a_followed_template_comes_to_the_prompt_at_its_tier(
    engine: Engine, tmp_path: Path
) -> None:
    session = small_session(engine, tmp_path, rounds=1)
    library.apply(engine, session.id, "product")
    steps = library.get_template(engine, "product").steps
    app = RipenApp(session=session.id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WorkspaceScreen)
        prompt = screen.query_one(LintingPrompt)
        for number in (2, 3, 4):
            step = library.progress(engine, session.id)
            assert step is not None and step.next is not None
            assert step.next.number == number
            assert prompt.text == step.next.instruction
            assert screen.quality == steps[number - 1].tier
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen.job is None)
            await settle(pilot)
        rounds = engine.tree(session.id).rounds
        assert [r.quality for r in rounds[-3:]] == ["common", "common", "ultra"]
        assert prompt.text == "", "nothing is left to suggest"
