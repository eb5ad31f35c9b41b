"""The workspace driven as a user drives it: keys in, screen and database checked.

Every test runs the real app headless at 120x40 over a session of the scripted
backend (see ``tests/tui_support.py``), presses keys with Pilot, and then asserts
both what the screen shows and what ``engine.tree`` holds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.events import Paste
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea
from textual.widgets._toast import Toast

from core.config import load_config
from core.engine import Engine
from core.models import Attempt
from tests.conftest import sample
from tests.gemini_server import (
    GeminiServer,
    astronaut_png,
    coffee_png,
    prompt_block,
    rate_limited,
    success,
)
from tests.tui_support import (
    ScriptedBackend,
    scripted_engine,
    settle,
    small_session,
    wait_until,
)
from tui.app import RipenApp
from tui.screens.workspace import WorkspaceScreen
from tui.widgets.preview import ImagePanel
from tui.widgets.progress import ProgressLine
from tui.widgets.prompt import LintingPrompt, PromptArea
from tui.widgets.session_tree import SessionTree

SIZE = (120, 40)


@pytest.fixture
def engine() -> Engine:
    return scripted_engine()


@pytest.fixture
def session_id(engine: Engine, tmp_path: Path) -> str:
    return small_session(engine, tmp_path).id


@pytest.fixture
def backend(engine: Engine) -> ScriptedBackend:
    """The engine's scripted backend, whose gate lets a HOLD round finish."""
    loaded = engine.loaded_backend("scripted")
    assert isinstance(loaded, ScriptedBackend)
    return loaded


def workspace(app: RipenApp) -> WorkspaceScreen:
    screen = app.screen
    assert isinstance(screen, WorkspaceScreen), type(screen).__name__
    return screen


def shown(widget: Static) -> str:
    """The plain text a Static widget shows."""
    return str(widget.content)


def labels(app: RipenApp) -> dict[str, str]:
    """Every tree line by the id of the round or attempt it shows."""
    tree = workspace(app).query_one(SessionTree)
    return {ident: str(node.label) for ident, node in tree.nodes.items()}


def toasts(app: RipenApp) -> list[str]:
    """The notifications on screen, title and message."""
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def type_into(pilot: Pilot[None], text: str) -> None:
    """Type into the focused text box at once (Pilot spends 50 ms on each key)."""
    focused = pilot.app.focused
    assert isinstance(focused, TextArea), focused
    focused.insert(text)
    await pilot.pause()


async def refine(pilot: Pilot[None], instruction: str) -> None:
    """Type an instruction into the prompt and press Enter."""
    await type_into(pilot, instruction)
    await pilot.press("enter")


async def test_opens_on_the_session_with_the_prompt_focused(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = workspace(app)
        assert isinstance(app.focused, PromptArea)
        tree = screen.query_one(SessionTree)
        current = engine.session(session_id).current_round
        assert len(tree.nodes) == len(engine.tree(session_id).rounds) == 3
        assert tree.current == current
        assert tree.selected is not None and tree.selected.id == current
        assert labels(app)[current].startswith("● #3")
        panel = screen.query_one(ImagePanel)
        assert panel.problem == ""
        assert panel.query_one(".image").display
        assert "60/140 credits" in shown(screen.query_one("#meter", Static))
        assert shown(screen.query_one("#prompt-status", Static)).startswith(
            "Refine #3 · Common 20cr"
        )


async def test_typing_and_enter_makes_a_new_round(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "Warm the light slightly")
        screen = workspace(app)
        await wait_until(pilot, lambda: screen.job is None)
        await settle(pilot)
        tree = engine.tree(session_id)
        newest = tree.rounds[-1]
        assert (newest.number, newest.instruction) == (4, "Warm the light slightly")
        assert newest.parent == tree.rounds[-2].id
        assert tree.session.current_round == newest.id
        assert labels(app)[newest.id].startswith("● #4")
        assert screen.query_one(LintingPrompt).text == ""
        assert "80/140 credits" in shown(screen.query_one("#meter", Static))
        assert screen.query_one(SessionTree).selected == newest


async def test_pasted_text_keeps_its_lines_and_alt_enter_adds_one(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        area = workspace(app).query_one(PromptArea)
        # A terminal hands a paste to the app, which forwards it to the focus.
        app.post_message(Paste("Brighten the cup\nand soften the shadows"))
        await pilot.pause()
        await pilot.press("alt+enter", *"kept")
        assert area.text == "Brighten the cup\nand soften the shadows\nkept"
        assert engine.tree(session_id).rounds[-1].number == 3  # nothing sent yet


async def test_branch_from_an_earlier_round(engine: Engine, session_id: str) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("tab", "k", "b")
        assert isinstance(app.focused, PromptArea)
        await refine(pilot, "A cooler alternative")
        await wait_until(pilot, lambda: workspace(app).job is None)
        await settle(pilot)
        rounds = {r.number: r for r in engine.tree(session_id).rounds}
        assert rounds[4].parent == rounds[2].id  # a sibling of #3: a branch
        assert engine.session(session_id).current_round == rounds[4].id
        # Drawn as the second line out of #2: under its own heading, below #2.
        node = workspace(app).query_one(SessionTree).nodes[rounds[4].id]
        heading = node.parent
        assert heading is not None and str(heading.label) == "branch B · 1 round"
        assert heading.parent is not None and heading.parent.data == rounds[2]


async def test_ab_pair_then_compare_and_pick_the_winner(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("tab", "a")
        await pilot.pause()
        await type_into(pilot, "Make it warmer")
        await pilot.press("enter")
        await type_into(pilot, "Make it cooler")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(engine.tree(session_id).rounds) == 5)
        await wait_until(pilot, lambda: workspace(app).job is None)
        await settle(pilot)
        rounds = engine.tree(session_id).rounds
        warm, cool = rounds[-2], rounds[-1]
        assert {warm.instruction, cool.instruction} == {
            "Make it warmer",
            "Make it cooler",
        }
        assert warm.parent == cool.parent == rounds[2].id
        assert any("A/B pair ready" in text for text in toasts(app))
        status = workspace(app).query_one("#prompt-status", Static)
        assert shown(status).startswith(
            "Refine #5 (B of the pair; c compares, w picks the winner)"
        )

        await pilot.press("c")
        await pilot.pause()
        assert type(app.screen).__name__ == "CompareScreen"
        await pilot.press("right")
        await settle(pilot)
        winners = [r for r in engine.tree(session_id).rounds if r.winner]
        assert [w.id for w in winners] == [workspace(app).pair[1]]  # type: ignore[index]
        assert "✓" in labels(app)[winners[0].id]
        assert shown(status).startswith("Refine #5 · Common")


async def test_star_and_winner_keys(engine: Engine, session_id: str) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("tab", "s")
        await settle(pilot)
        third = engine.tree(session_id).rounds[-1]
        assert third.starred
        assert "★" in labels(app)[third.id]
        await pilot.press("s")
        assert not engine.round(third.id).starred
        await pilot.press("w")
        await settle(pilot)
        assert engine.round(third.id).winner
        assert "✓" in labels(app)[third.id]


async def test_escape_cancels_a_running_generation(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "SLOW please")
        screen = workspace(app)
        progress = screen.query_one(ProgressLine)
        await wait_until(pilot, lambda: progress.progress is not None)
        assert progress.display
        assert "Refining #3 · scripted-common" in shown(progress)
        started = time.monotonic()
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.job is None)
        assert time.monotonic() - started < 1.0
        await settle(pilot)
        assert not progress.display
        attempts = engine.tree(session_id).attempts
        assert [a.kind for a in attempts] == ["cancelled"]
        assert labels(app)[attempts[0].id] == "✗ cancelled: SLOW please"
        assert len(engine.tree(session_id).rounds) == 3
        assert engine.session_credits(session_id) == 60  # nothing charged
        # The instruction stays, so the user can edit it and try again.
        assert screen.query_one(LintingPrompt).text == "SLOW please"


async def test_escape_without_a_generation_leaves_the_prompt(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        assert isinstance(app.focused, SessionTree)
        await pilot.press("i")
        assert isinstance(app.focused, PromptArea)
        await pilot.press("escape", "slash")
        assert isinstance(app.focused, PromptArea)
        assert workspace(app).query_one(LintingPrompt).text == ""


async def test_a_blocked_round_notifies_and_shows_a_dimmed_attempt(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "BLOCK this")
        await wait_until(pilot, lambda: workspace(app).job is None)
        await settle(pilot)
        (attempt,) = engine.tree(session_id).attempts
        assert attempt.kind == "blocked"
        assert any(
            text.startswith("Blocked by the service") and "[policy: SAFETY]" in text
            for text in toasts(app)
        )
        tree = workspace(app).query_one(SessionTree)
        node = tree.nodes[attempt.id]
        assert str(node.label) == "✗ blocked: BLOCK this"
        assert isinstance(node.label, Text) and node.label.style == "dim italic"
        assert isinstance(tree.selected, Attempt)
        # Enter on the attempt opens its full text.
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ErrorDetails"
        assert "The service would not make this image" in app.screen.text  # type: ignore[attr-defined]


async def test_rate_limited_round_shows_its_countdown(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "RATE limited round")
        progress = workspace(app).query_one(ProgressLine)
        await wait_until(pilot, lambda: progress.retry_left is not None)
        await pilot.pause(0.3)
        text = shown(progress)
        assert "· Rate limited, retry in 30 s (attempt 2) ·" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: workspace(app).job is None)
        assert engine.tree(session_id).attempts[0].kind == "cancelled"


async def test_quitting_during_a_generation_records_a_cancelled_attempt(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "SLOW to quit")
        await wait_until(pilot, lambda: bool(app.jobs))
        started = time.monotonic()
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, seconds=3)
    assert time.monotonic() - started < 2.0
    assert [a.kind for a in engine.tree(session_id).attempts] == ["cancelled"]


async def test_a_result_after_leaving_the_screen_is_still_saved(
    engine: Engine, session_id: str, backend: ScriptedBackend
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "HOLD then done")
        await wait_until(pilot, lambda: bool(app.jobs))
        app.pop_screen()
        await pilot.pause()
        backend.gate.set()  # the service answers only now, after the user left
        await wait_until(pilot, lambda: not app.jobs)
        await settle(pilot)
        assert engine.tree(session_id).rounds[-1].instruction == "HOLD then done"
        assert app.is_running


async def test_the_next_instruction_can_be_typed_while_a_round_runs(
    engine: Engine, session_id: str, backend: ScriptedBackend
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = workspace(app)
        await refine(pilot, "HOLD warm the light")
        await wait_until(pilot, lambda: screen.job is not None)
        assert screen.query_one(LintingPrompt).text == "", "free for the next one"
        await refine(pilot, "Cool the shadows")  # Enter while it runs: refused
        assert any("A generation is running" in text for text in toasts(app))
        assert screen.query_one(LintingPrompt).text == "Cool the shadows"
        backend.gate.set()
        await wait_until(pilot, lambda: screen.job is None)
        await settle(pilot)
        # The first round is saved as sent; what was typed since is untouched.
        assert engine.tree(session_id).rounds[-1].instruction == "HOLD warm the light"
        assert screen.query_one(LintingPrompt).text == "Cool the shadows"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.job is None)
        await settle(pilot)
        assert engine.tree(session_id).rounds[-1].instruction == "Cool the shadows"


async def test_the_tier_toggle_and_the_keep_clause(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await type_into(pilot, "Sharpen the cup")
        await pilot.press("tab", "u", "K")
        screen = workspace(app)
        assert isinstance(app.focused, PromptArea)
        status = shown(screen.query_one("#prompt-status", Static))
        assert "Ultra 40cr" in status
        prompt = screen.query_one(LintingPrompt)
        assert prompt.text == "Sharpen the cup. Keep everything else unchanged."
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.job is None)
        newest = engine.tree(session_id).rounds[-1]
        assert (newest.quality, newest.credits) == ("ultra", 40)


async def test_a_fork_puts_each_alternative_under_a_heading_of_its_own(
    engine: Engine, session_id: str
) -> None:
    # #1 -> #2 -> #3, then two alternatives of #3: #4 (the winner, refined on to #6)
    # and #5. Only the fork indents: each alternative's line sits under a heading,
    # so #6 follows #4 and cannot be read as a third alternative.
    third = engine.round(engine.session(session_id).current_round or "")
    fourth, fifth = (engine.refine(third.id, f"Brighten {n}") for n in ("a", "b"))
    engine.mark_winner(fourth.id)
    sixth = engine.refine(fourth.id, "Sharpen the cup slightly")
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        tree = workspace(app).query_one(SessionTree)

        def place(ident: str) -> tuple[int, str]:
            """How deep a round's line is indented, and the line it sits under."""
            parent = tree.nodes[ident].parent
            assert parent is not None
            depth, above = 0, parent.parent
            while above is not None:
                depth, above = depth + 1, above.parent
            return depth, "" if parent.is_root else str(parent.label)

        first_three = [r.id for r in engine.tree(session_id).rounds[:3]]
        assert [place(ident) for ident in first_three] == [(0, "")] * 3
        assert place(fourth.id) == (2, "branch A ✓ · 2 rounds")
        assert place(sixth.id) == (2, "branch A ✓ · 2 rounds")
        assert place(fifth.id) == (2, "branch B · 1 round")
        headings = [str(node.label) for node in tree.nodes[third.id].children]
        assert headings == ["branch A ✓ · 2 rounds", "branch B · 1 round"]
        # On a heading, the keys and the preview act on the line's first round.
        tree.move_cursor(tree.nodes[third.id].children[1], animate=False)
        await settle(pilot)
        assert tree.selected == engine.round(fifth.id)


async def test_a_missing_image_shows_a_placeholder(
    engine: Engine, session_id: str
) -> None:
    current = engine.round(engine.session(session_id).current_round or "")
    current.image.unlink()
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        panel = workspace(app).query_one(ImagePanel)
        assert panel.image_widget is None  # no image was ever drawn
        assert "The image file is missing" in panel.problem
        assert str(current.image) in shown(panel.query_one(".placeholder", Static))


async def test_previews_come_from_a_cached_small_copy(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        current = engine.round(engine.session(session_id).current_round or "")
        cached = app.previews.path_for(current.image_sha)
        assert cached.exists()
        assert cached.parent == engine.config.cache_dir / "previews"
        widget: Any = workspace(app).query_one(ImagePanel).query_one(".image")
        assert max(widget.image.size) <= app.previews.size


async def test_keys_can_be_remapped_in_the_config_file(
    ripen_home: Path, tmp_path: Path
) -> None:
    (ripen_home / "config.toml").write_text(
        '[keys]\n"tree.star" = "x"\n"no.such" = "y"\n', encoding="utf-8"
    )
    engine = scripted_engine()
    session_id = small_session(engine, tmp_path).id
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert any("'no.such': no binding has this id" in t for t in toasts(app))
        await pilot.press("tab", "s")
        current = engine.session(session_id).current_round or ""
        assert not engine.round(current).starred
        await pilot.press("x")
        assert engine.round(current).starred


async def test_help_lists_every_key_with_remaps(
    ripen_home: Path, tmp_path: Path
) -> None:
    (ripen_home / "config.toml").write_text(
        '[keys]\n"tree.branch" = "B"\n', encoding="utf-8"
    )
    engine = scripted_engine()
    session_id = small_session(engine, tmp_path).id
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        from tui.screens.help import HelpScreen, key_rows

        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = {
            row.binding_id: row
            for _title, group in key_rows(app, help_screen.target)
            for row in group
        }
        assert rows["tree.branch"].keys == "B"
        assert (
            rows["prompt.refine"].keys == "⏎" or rows["prompt.refine"].keys == "enter"
        )
        from tui.keys import own_binding_ids

        elsewhere = {"error.close", "error.copy", "help.close", "list.up", "list.down"}
        assert own_binding_ids() - elsewhere <= set(rows)


async def test_a_missing_session_opens_the_sessions_list(engine: Engine) -> None:
    app = RipenApp(session="no-such-session", engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "SessionsScreen"
        assert any(text.startswith("Not found") for text in toasts(app))


async def test_the_palette_runs_workspace_commands(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"round: star")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        current = engine.session(session_id).current_round or ""
        assert engine.round(current).starred


async def test_the_palette_finds_commands_by_their_help_and_shows_their_keys(
    engine: Engine, session_id: str
) -> None:
    from textual.command import CommandList, CommandPalette

    from tui.screens.new_session import NewSessionScreen

    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"sessions")
        await pilot.pause(0.3)
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        found = palette.query_one(CommandList)
        shown_text = " ".join(
            str(found.get_option_at_index(n).prompt) for n in range(found.option_count)
        )
        assert "session: open another" in shown_text
        assert "(key: o)" in shown_text
        await pilot.press(*["backspace"] * 8, *"round: refine")
        await pilot.pause(0.3)
        shown_text = " ".join(
            str(found.get_option_at_index(n).prompt) for n in range(found.option_count)
        )
        assert "(key: i or /)" in shown_text, "key names as the footer draws them"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"session: new")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, NewSessionScreen)


async def test_lint_warnings_follow_typing_and_one_key_appends_the_keep_clause(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        warnings = workspace(app).query_one("#prompt-warnings", Static)
        assert not warnings.display
        await type_into(pilot, "Darken only the background")
        assert warnings.display
        assert shown(warnings).startswith("ℹ missing-keep-clause A targeted change")
        assert shown(warnings).endswith("^f: append the keep clause")
        await pilot.press("ctrl+f")
        prompt = workspace(app).query_one(LintingPrompt)
        assert (
            prompt.text == "Darken only the background. Keep everything else unchanged."
        )
        assert not warnings.display


async def test_too_many_changes_split_into_rounds_run_one_after_another(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await type_into(
            pilot,
            "Crop tighter, move the cup to the left, warm the light, sharpen the cup "
            "and add film grain",
        )
        screen = workspace(app)
        warnings = shown(screen.query_one("#prompt-warnings", Static))
        assert warnings.startswith("⚠ too-many-changes 5 changes across 4 stages")
        assert "^f: split into 4 rounds" in warnings
        await pilot.press("ctrl+f")
        prompt = screen.query_one(LintingPrompt)
        assert prompt.text == "Crop tighter, move the cup to the left."
        status = shown(screen.query_one("#prompt-status", Static))
        assert "3 more planned rounds" in status
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.job is None)
        await settle(pilot)
        newest = engine.tree(session_id).rounds[-1]
        assert newest.instruction == "Crop tighter, move the cup to the left."
        assert prompt.text == "Warm the light."
        assert prompt.planned == ["Sharpen the cup.", "Add film grain."]


# -- the same flows on the real backends ------------------------------------------


@pytest.fixture
def gemini_session(
    gemini_server: GeminiServer, tmp_path: Path
) -> tuple[Engine, str, GeminiServer]:
    """A session on the gemini backend, its first round from the loopback server."""
    photo = tmp_path / "coffee.png"
    sample("coffee", 160).save(photo)
    engine = Engine(load_config())
    gemini_server.push(success(coffee_png(), text="Here is your photo."))
    first = engine.new_session("Coffee for the menu", [photo], backend="gemini")
    return engine, first.session, gemini_server


async def test_gemini_rate_limited_round_counts_down_and_escape_cancels(
    gemini_session: tuple[Engine, str, GeminiServer],
) -> None:
    engine, session_id, server = gemini_session
    server.push(rate_limited(retry_delay="30s"), success(astronaut_png()))
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "Warm the light slightly")
        progress = workspace(app).query_one(ProgressLine)
        await wait_until(pilot, lambda: progress.retry_left is not None)
        await pilot.pause(0.3)
        text = shown(progress)
        assert "Refining #1 · gemini-2.5-flash-image" in text
        assert "· Rate limited, retry in 30 s (attempt 2) ·" in text
        started = time.monotonic()
        await pilot.press("escape")
        await wait_until(pilot, lambda: workspace(app).job is None)
        assert time.monotonic() - started < 1.5
        await settle(pilot)
        (attempt,) = engine.tree(session_id).attempts
        assert attempt.kind == "cancelled"
        assert len(server.requests) == 2  # the first round and the 429; no retry
        assert labels(app)[attempt.id] == "✗ cancelled: Warm the light slightly"


async def test_gemini_blocked_round_shows_the_reason(
    gemini_session: tuple[Engine, str, GeminiServer],
) -> None:
    engine, session_id, server = gemini_session
    server.push(prompt_block("SAFETY"))
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "Put a logo on the cup")
        await wait_until(pilot, lambda: workspace(app).job is None)
        await settle(pilot)
        (attempt,) = engine.tree(session_id).attempts
        assert attempt.kind == "blocked"
        assert any(text.startswith("Blocked by the service") for text in toasts(app))
        assert labels(app)[attempt.id] == "✗ blocked: Put a logo on the cup"
        assert engine.session_credits(session_id) == 20  # the first round only


async def test_gemini_rounds_an_ab_pair_and_the_winner(
    gemini_session: tuple[Engine, str, GeminiServer],
) -> None:
    engine, session_id, server = gemini_session
    server.push(*(success(coffee_png(), text=f"Done {n}.") for n in range(4)))
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        for instruction in ("Crop in slightly", "Warm the light a little"):
            await refine(pilot, instruction)
            await wait_until(pilot, lambda: workspace(app).job is None)
        await pilot.press("tab", "a")
        await pilot.pause()
        await type_into(pilot, "Make it warmer")
        await pilot.press("enter")
        await type_into(pilot, "Make it cooler")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(engine.tree(session_id).rounds) == 5)
        await wait_until(pilot, lambda: workspace(app).job is None)
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("left")
        await settle(pilot)
        tree = engine.tree(session_id)
        assert [r.credits for r in tree.rounds] == [20] * 5
        warm, cool = tree.rounds[3], tree.rounds[4]
        assert warm.parent == cool.parent == tree.rounds[2].id
        assert [r.id for r in tree.rounds if r.winner] == [workspace(app).pair[0]]  # type: ignore[index]
        assert "100/140 credits" in shown(workspace(app).query_one("#meter", Static))


async def test_local_backend_refines_and_exports(
    tmp_path: Path, coffee_path: Path
) -> None:
    engine = Engine(load_config())
    first = engine.new_session("Coffee for the menu", [coffee_path], backend="local")
    app = RipenApp(session=first.session, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        for instruction in (
            "Crop in slightly",
            "Increase the contrast slightly",
            "Add a subtle vignette",
        ):
            await refine(pilot, instruction)
            await wait_until(pilot, lambda: workspace(app).job is None)
        await settle(pilot)
        rounds = engine.tree(first.session).rounds
        assert [r.instruction for r in rounds[1:]] == [
            "Crop in slightly",
            "Increase the contrast slightly",
            "Add a subtle vignette",
        ]
        assert all(r.applied for r in rounds[1:])
        assert labels(app)[rounds[-1].id].startswith("● #4")

        out = tmp_path / "out"
        await pilot.press("tab", "e")
        await pilot.pause()
        app.screen.query_one("#out", Input).value = str(out)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any(out.glob("*-round-4.png")))
        await settle(pilot)
        assert {p.suffix for p in out.iterdir()} == {".png", ".md", ".json"}
        assert any(text.startswith("Exported") for text in toasts(app))


async def test_a_corrupt_image_shows_a_placeholder_and_the_app_goes_on(
    engine: Engine, session_id: str
) -> None:
    current = engine.round(engine.session(session_id).current_round or "")
    current.image.chmod(0o644)
    current.image.write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        panel = workspace(app).query_one(ImagePanel)
        assert "cannot be decoded" in panel.problem
        await pilot.press("tab", "k")
        await settle(pilot)
        assert panel.problem == ""
        assert panel.query_one(".image").display


async def test_region_note_promote_and_retry_keys(
    engine: Engine, session_id: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = workspace(app)
        # r: the region picker; Enter picks the grid's middle cell.
        await pilot.press("tab", "r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert "region: centre" in shown(screen.query_one("#prompt-status", Static))
        await pilot.press("i")
        await refine(pilot, "Brighten the middle")
        await wait_until(pilot, lambda: screen.job is None)
        newest = engine.tree(session_id).rounds[-1]
        assert newest.region == "centre"
        assert "region: whole image" in shown(
            screen.query_one("#prompt-status", Static)
        )

        # n: a note on the selected round.
        await pilot.press("tab", "n")
        await pilot.pause()
        await type_into(pilot, "Keep this one.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert engine.round(newest.id).note == "Keep this one."
        assert "note: Keep this one." in shown(screen.query_one("#details", Static))

        # p: promote, after saying yes; the final render is an Ultra round.
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.job is None)
        final = engine.tree(session_id).rounds[-1]
        assert (final.mode, final.quality, final.parent) == (
            "promote",
            "ultra",
            newest.id,
        )

        # R: a failed attempt runs again.
        await pilot.press("i")
        await refine(pilot, "BLOCK this")
        await wait_until(pilot, lambda: screen.job is None)
        await settle(pilot)
        (attempt,) = engine.tree(session_id).attempts
        await pilot.press("tab", "R")
        await wait_until(pilot, lambda: screen.job is None)
        assert [a.kind for a in engine.tree(session_id).attempts] == ["blocked"] * 2


@pytest.mark.parametrize(
    ("keys", "screen_name"),
    [
        (("tab", "t"), "TemplatesScreen"),
        (("tab", "o"), "SessionsScreen"),
        (("tab", "question_mark"), "HelpScreen"),
        (("f1",), "HelpScreen"),
    ],
)
async def test_keys_open_their_screens(
    engine: Engine, session_id: str, keys: tuple[str, ...], screen_name: str
) -> None:
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)
        assert type(app.screen).__name__ == screen_name
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WorkspaceScreen)


@pytest.mark.parametrize(
    ("budget", "level", "shown_spent"),
    [
        (140, "-ok", "60/140 credits"),
        (70, "-amber", "60/70 credits"),
        (60, "-red", "60/60 credits"),
        (50, "-red", "60/50 credits (10 over)"),
    ],
)
async def test_the_meter_turns_amber_then_red(
    engine: Engine, tmp_path: Path, budget: int, level: str, shown_spent: str
) -> None:
    session_id = small_session(engine, tmp_path, budget=budget).id
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        meter = workspace(app).query_one("#meter", Static)
        assert meter.has_class(level)
        assert shown_spent in shown(meter)
        assert "3 Common · 0 Ultra · $0.117" in shown(meter)


async def test_the_template_hint_and_plan_follow_the_session(
    engine: Engine, session_id: str
) -> None:
    from core import library

    applied = library.apply(engine, session_id, "portrait")
    assert applied is not None and applied.next is not None
    step = applied.next
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = shown(workspace(app).query_one("#prompt-status", Static))
        assert f"next ({step.number}/{step.total}, {step.stage}): {step.goal}" in status
        meter = shown(workspace(app).query_one("#meter", Static))
        assert f"plan: {step.total - step.number + 1} steps" in meter


async def test_a_partly_understood_instruction_says_what_was_not_acted_on(
    coffee_path: Path,
) -> None:
    engine = Engine(load_config())
    first = engine.new_session("Coffee for the menu", [coffee_path], backend="local")
    app = RipenApp(session=first.session, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await refine(pilot, "Make the light warmer and make it pop")
        await wait_until(pilot, lambda: workspace(app).job is None)
        await settle(pilot)
        newest = engine.tree(first.session).rounds[-1]
        assert newest.applied and newest.skipped
        notices = [text for text in toasts(app) if "not acted on" in text]
        assert len(notices) == 1
        assert all(clause in notices[0] for clause in newest.skipped)


async def test_applying_a_template_puts_its_next_instruction_in_the_prompt(
    engine: Engine, session_id: str
) -> None:
    from core import library

    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("tab", "t")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        applied = library.progress(engine, session_id)
        assert applied is not None and applied.next is not None
        screen = workspace(app)
        assert screen.prompt.text == applied.next.instruction
        assert app.focused is screen.prompt.area


async def test_compare_names_the_older_alternative_a(
    engine: Engine, session_id: str
) -> None:
    base = engine.round(engine.session(session_id).current_round or "")
    older, newer = (engine.refine(base.id, f"Brighten {n}") for n in ("a", "b"))
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = workspace(app)
        screen.session_tree.select(newer.id)
        await settle(pilot)
        assert screen.compare_pair() == (older.id, newer.id)


async def test_last_reopens_the_session_last_opened_not_the_last_changed(
    engine: Engine, session_id: str, tmp_path: Path
) -> None:
    other = small_session(engine, tmp_path, rounds=1)
    last = engine.last_session()
    assert last is not None and last.id == other.id  # changed most recently
    async with RipenApp(session=session_id, engine=engine).run_test(size=SIZE) as pilot:
        await settle(pilot)
    app = RipenApp(last=True, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert workspace(app).session_id == session_id


async def test_a_locked_database_is_shown_and_the_app_goes_on(
    session_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from core import store

    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 100)
    engine = scripted_engine()  # its connections take the short timeout
    app = RipenApp(session=session_id, engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        holder = sqlite3.connect(engine.config.db_path)
        holder.execute("BEGIN EXCLUSIVE")  # another program holds the database
        try:
            await pilot.press("tab", "s")
            await settle(pilot)
        finally:
            holder.rollback()
            holder.close()
        assert app.is_running and isinstance(app.screen, WorkspaceScreen)
        assert any("cannot be written" in text for text in toasts(app))
        current = engine.session(session_id).current_round or ""
        assert not engine.round(current).starred
