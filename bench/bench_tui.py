"""The interface's figures (issue 5): launch, a large session, the cursor, previews.

* Launch to the workspace's first frame: ``ripen --last --images halfcell`` is
  started in a pseudo-terminal of 120x40, and the clock stops when the screen it
  draws shows the workspace's prompt status ("Refine #2"). Target: under 0.8 s.
* Opening a session of 2,000 rounds in a running app: from ``open_workspace`` to
  the tree built and the screen painted. Target: under 0.5 s.
* A cursor move in the session tree against a bare Textual ``Tree`` with the same
  nodes and labels, at the same size, in the same run. Each move is the tree's
  ``action_cursor_down`` followed by processing every message it caused and a
  paint, without Pilot's per-key idle wait (about 50 ms). Target: at most 1.2x.
  Pilot's ``_wait_for_screen`` is not used for it either: it queues a callback on
  every widget of the screen and waits for them all, a cost that grows with the
  number of widgets (27 in the workspace, 3 beside a bare tree) whatever the move
  did. Instead each side waits until every message queue of its screen has been
  empty twice in a row, then paints.
* Switching the preview between two rounds of 2048x2048 images, from the cursor
  move to the other image painted. Target: under 50 ms. textual-image fed the full
  2K files (what the preview cache avoids) is timed the same way, for comparison.

Everything in-process runs under ``App.run_test`` at 120x40 with the half-cell
renderer, as the interface tests do. The app is driven through private Pilot,
Screen and MessagePump members (``_wait_for_screen``, ``_on_timer_update``,
``_message_queue``) so that each step is measured without Pilot's fixed sleeps.

The launch is timed on an installed app: the project's modules are compiled to
bytecode first, as ``pip install`` does, so that no launch pays for compiling them
(``PYTHONDONTWRITEBYTECODE`` would otherwise make every launch compile them again).
A local session and a gemini session are launched in turn; opening the latter must
not import the Gemini SDK (about half a second).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.bench_store import grow_session
from bench.harness import (
    Figure,
    Section,
    median,
    ms,
    repeat,
    scratch_home,
    table,
)
from core.config import load_config
from core.engine import Engine
from core.models import Round
from tests.paid_backend import PaidBackend

ROOT = Path(__file__).resolve().parent.parent
SIZE = (120, 40)
ROUNDS = 2000
SIDE = 2048
LAUNCH_TARGET_S = 0.8
OPEN_TARGET_MS = 500.0
MOVE_TARGET_RATIO = 1.2
SWITCH_TARGET_MS = 50.0
MOVES_PER_BLOCK = 5
_LAUNCH_IMPORTS = "import core.cli, core.engine, tui.app, textual.app, textual_image"
_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|\x1b[P^_].*?\x1b\\"  # DCS, PM, APC (Kitty graphics)
    rb"|\x1b[@-Z\\-_]",
    re.S,
)


def run(quick: bool = False) -> Section:
    """Every interface figure of issue 5, with its target."""
    runs = 3 if quick else 7
    blocks = 12 if quick else 40
    with scratch_home() as home:
        engine = Engine(load_config(), backends={"tiny": PaidBackend("tiny")})
        big, _ = grow_session(engine, ROUNDS)
        first, second = _two_2k_rounds(engine, home)
        homes = {
            "local": (home, f"Refine #{second.number}"),
            "gemini": _gemini_home(home),
        }
        launch, startup = _launch(runs, homes)
        imports = _import_times()
        reads = _session_reads(engine, big.session, runs)
        inside = asyncio.run(
            _inside(engine, big.session, (first, second), runs, blocks)
        )
    return _section(launch, startup, imports, reads, inside, runs, blocks)


def _session_reads(engine: Engine, session_id: str, runs: int) -> dict[str, float]:
    """Seconds the engine's reads take that the workspace makes when it opens."""
    from core.meter import meter

    return {
        "`engine.tree` (the workspace's reload)": median(
            repeat(lambda: engine.tree(session_id), runs)
        ),
        "`meter` reading the session itself (the workspace passes its tree)": median(
            repeat(lambda: meter(engine, session_id), runs)
        ),
    }


def _two_2k_rounds(engine: Engine, home: Path) -> tuple[Round, Round]:
    """A session of two adjacent rounds with 2048x2048 images (the local backend)."""
    from PIL import Image

    from tests.conftest import sample

    path = home.parent / "astronaut-2k.png"
    photo = sample("astronaut").resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    photo.save(path, compress_level=1)
    first = engine.new_session("", [path], backend="local", title="Two 2K rounds")
    second = engine.refine(first.id, "make it warmer")
    return first, second


# --- launch, in a real pseudo-terminal ---------------------------------------------


def _gemini_home(home: Path) -> tuple[Path, str]:
    """A second ``RIPEN_HOME`` holding a two-round gemini session (made through the
    loopback server), and the prompt status its workspace shows."""
    from bench.harness import distinct_pngs, loopback_gemini
    from tests.gemini_server import success

    other = home.parent / "gemini-home"
    other.mkdir()
    saved = os.environ["RIPEN_HOME"]
    os.environ["RIPEN_HOME"] = str(other)
    try:
        with loopback_gemini() as server:
            engine = Engine()
            pngs = distinct_pngs(1024, 1024, 2)
            server.push(success(png=pngs[0]))
            first = engine.new_session("a cup of coffee on a table", backend="gemini")
            server.push(success(png=pngs[1]))
            second = engine.refine(first.id, "warm the light slightly")
            engine.store.close()
    finally:
        os.environ["RIPEN_HOME"] = saved
    return other, f"Refine #{second.number}"


def _launch(
    runs: int, homes: dict[str, tuple[Path, str]]
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Seconds from starting ``ripen --last`` in each home until its workspace's
    marker is on the screen, and the medians of a bare interpreter and of one that
    only imports the interface.

    All of them alternate, so the machine's load falls on all of them alike.
    """
    # What pip does on install: no launch below pays for compiling the project.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "core", "tui"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    command = [sys.executable, "-m", "core.cli", "--last", "--images", "halfcell"]
    steps = {
        "Python starting and exiting": "pass",
        "... and importing the CLI, engine and interface": _LAUNCH_IMPORTS,
    }
    launches: dict[str, list[float]] = {name: [] for name in homes}
    found: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(runs):
        for name, (home, marker) in homes.items():
            env = {"RIPEN_HOME": str(home)}
            launches[name].append(_first_frame(command, marker.encode(), env=env))
        for name, code in steps.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
            found[name].append(time.perf_counter() - start)
    return launches, {name: median(samples) for name, samples in found.items()}


def _first_frame(
    command: list[str],
    marker: bytes,
    timeout: float = 20.0,
    env: dict[str, str] | None = None,
) -> float:
    master, slave = pty.openpty()
    rows, columns = SIZE[1], SIZE[0]
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", **(env or {}))
    env.pop("TMUX", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    screen = b""
    seen: float | None = None
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.02)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                screen += os.read(master, 1 << 16)
            except OSError:
                break
            if marker in _ESCAPES.sub(b"", screen):
                seen = time.perf_counter() - started
                break
    finally:
        # Ctrl+Q quits from anywhere; the process is ours to stop if it does not.
        try:
            os.write(master, b"\x11")
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        os.close(master)
    if seen is None:
        text = _ESCAPES.sub(b"", screen).decode("utf-8", "replace")[-600:]
        raise RuntimeError(
            f"the workspace never showed {marker!r}; last output:\n{text}"
        )
    return seen


def _import_times() -> list[tuple[str, float]]:
    """Cumulative import seconds of the heaviest packages on the launch path.

    One run of ``python -X importtime``; a module imported by an earlier one is
    counted there, so the rows overlap (numpy under sqlite-utils, for instance).
    """
    watched = (
        "core.cli",
        "core.engine",
        "sqlite_utils",
        "numpy",
        "PIL.Image",
        "tui.app",
        "textual.app",
        "textual_image",
        "rich",
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _LAUNCH_IMPORTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].strip()
        if name in watched and name not in found:
            found[name] = int(parts[1]) / 1e6
    return sorted(found.items(), key=lambda item: -item[1])


# --- inside a running app -------------------------------------------------------------


async def _inside(
    engine: Engine,
    big_session: str,
    pair: tuple[Round, Round],
    runs: int,
    blocks: int,
) -> dict[str, Any]:
    from tui.app import RipenApp

    app = RipenApp(session=pair[0].session, engine=engine, images="halfcell")
    found: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        found.update(await _previews(pilot, pair, runs))
        found["open"] = await _opens(pilot, big_session, runs)
        found.update(await _moves(pilot, blocks))
    return found


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def _painted(pilot: Any) -> None:
    """Process every message the last step caused, then paint the screen."""
    await pilot._wait_for_screen()
    pilot.app.screen._on_timer_update()


async def _handled(pilot: Any, pumps: list[Any]) -> None:
    """Let the app and the widgets in ``pumps`` handle every message the last step
    caused (their queues empty twice in a row), then paint the screen.

    Unlike Pilot's wait this posts nothing, so it costs the same however many
    widgets the screen has.
    """
    quiet = 0
    while quiet < 2:
        await asyncio.sleep(0)
        empty = all(pump._message_queue.empty() for pump in pumps)
        quiet = quiet + 1 if empty else 0
    pilot.app.screen._on_timer_update()


def _pumps(pilot: Any) -> list[Any]:
    """The app and every widget on its screen: where a step's messages can wait."""
    return [pilot.app, *pilot.app.screen.walk_children(with_self=True)]


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"gave up waiting for {condition}")
        await asyncio.sleep(0.001)


async def _opens(pilot: Any, session_id: str, runs: int) -> list[float]:
    """Seconds to open a session in the workspace: tree built, screen painted."""
    from tui.screens.workspace import WorkspaceScreen
    from tui.widgets.session_tree import SessionTree

    app = pilot.app
    samples = []
    for _ in range(runs):
        before = app.screen
        start = time.perf_counter()
        app.open_workspace(session_id)

        def ready(before: Any = before) -> bool:
            screen = app.screen
            return (
                screen is not before
                and isinstance(screen, WorkspaceScreen)
                and screen.is_mounted
                and len(screen.query_one(SessionTree).nodes) >= ROUNDS
            )

        await _until(ready)
        await _painted(pilot)
        samples.append(time.perf_counter() - start)
        await _settle(pilot)
    return samples


async def _previews(pilot: Any, pair: tuple[Round, Round], runs: int) -> dict[str, Any]:
    """Switching between two 2K rounds: by the cursor, by the panel, and raw."""
    from tui.widgets.preview import ImagePanel
    from tui.widgets.session_tree import SessionTree

    app = pilot.app
    screen = app.screen
    tree = screen.query_one(SessionTree)
    panel = screen.query_one(ImagePanel)
    widget: Any = panel.query_one(".image")
    first, second = pair

    # A first view: the preview made from the 2K file on a worker.
    app.previews._memory.clear()
    for cached in app.previews.folder.glob("*.png"):
        cached.unlink()
    start = time.perf_counter()
    panel.show(first.image_sha, first.image)
    await _until(lambda: panel.sha == first.image_sha and widget.image is not None)
    await _painted(pilot)
    first_view = time.perf_counter() - start
    panel.show(second.image_sha, second.image)
    await _until(lambda: widget.image is not None)
    await _settle(pilot)

    tree.move_cursor(tree.nodes[second.id], animate=False)
    await _settle(pilot)
    by_cursor = []
    for index in range(2 * runs):
        target = first if index % 2 == 0 else second
        start = time.perf_counter()
        if target is first:
            tree.action_cursor_up()
        else:
            tree.action_cursor_down()
        await _until(partial(_showing, panel, target.image_sha))
        await _painted(pilot)
        by_cursor.append(time.perf_counter() - start)
        await _settle(pilot)

    by_panel = []
    for index in range(2 * runs):
        target = first if index % 2 == 0 else second
        start = time.perf_counter()
        panel.show(target.image_sha, target.image)
        await _painted(pilot)
        by_panel.append(time.perf_counter() - start)
    await _settle(pilot)
    previews = [app.previews.cached(r.image_sha) for r in pair]
    plain = await _plain_textual_image(
        widget.size, [r.image for r in pair], previews, runs
    )
    return {
        "first view": first_view,
        "by cursor": by_cursor,
        "by panel": by_panel,
        "raw": plain["full"],
        "plain previews": plain["previews"],
        "debounce": _debounce(),
        "preview size": app.previews.size,
        "widget": type(widget).__mro__[1].__module__,
    }


async def _plain_textual_image(
    size: Any, files: list[Path], previews: list[Any], runs: int
) -> dict[str, list[float]]:
    """textual-image's own half-cell widget, the size of the preview, alternately
    fed the two full 2K files and the two cached previews (no line cache)."""
    from textual.app import App, ComposeResult
    from textual_image.widget import HalfcellImage

    class PlainImageApp(App[None]):
        def compose(self) -> ComposeResult:
            image = HalfcellImage(None)
            image.styles.width = size.width
            image.styles.height = size.height
            yield image

    app = PlainImageApp()
    found: dict[str, list[float]] = {"full": [], "previews": []}
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        widget = app.query_one(HalfcellImage)
        for index in range(2 * runs):
            for name, sources in (("full", files), ("previews", previews)):
                start = time.perf_counter()
                widget.image = sources[index % 2]
                await _painted(pilot)
                found[name].append(time.perf_counter() - start)
    return found


def _showing(panel: Any, sha: str) -> bool:
    """Whether the preview panel shows the image with content hash ``sha``."""
    return bool(panel.sha == sha and panel.query_one(".image").image is not None)


def _debounce() -> float:
    from tui.widgets import session_tree

    return float(session_tree.REST_DELAY)


async def _moves(pilot: Any, blocks: int) -> dict[str, Any]:
    """Per-move seconds in the session tree and in a bare Tree, block by block."""
    from textual.app import App, ComposeResult
    from textual.widgets import Tree

    from tui.widgets.session_tree import SessionTree

    app = pilot.app
    ours = app.screen.query_one(SessionTree)
    width, height = ours.size.width, ours.size.height

    class BareTreeApp(App[None]):
        """A Textual Tree and nothing else, the size of the workspace's tree."""

        def compose(self) -> ComposeResult:
            tree: Tree[None] = Tree("session", id="bare")
            tree.show_root = False
            tree.guide_depth = ours.guide_depth
            tree.styles.width = width
            tree.styles.height = height
            _copy_nodes(ours, tree)
            yield tree

    bare_app = BareTreeApp()
    async with bare_app.run_test(size=SIZE) as bare_pilot:
        await _settle(bare_pilot)
        bare = bare_app.query_one(Tree)
        lines = (ours.last_line + 1, bare.last_line + 1)
        sides = {"ours": (pilot, ours), "bare": (bare_pilot, bare)}
        for side_pilot, tree in sides.values():
            # Textual finds "the app" through a context variable: each side's steps
            # run with its own app active.
            with side_pilot.app._context():
                tree.focus()
                tree.cursor_line = 0
                tree.scroll_home(animate=False)
                await _settle(side_pilot)
        # Within the visible lines: down four blocks, up four, and so on, so the
        # cursor never leaves the first screen and nothing scrolls.
        within = await _move_blocks(sides, blocks, lambda block: (block // 4) % 2 == 0)
        # Then from below the first screen, every move down scrolls by a line.
        for side_pilot, tree in sides.values():
            with side_pilot.app._context():
                tree.move_cursor(tree.get_node_at_line(height + 2), animate=False)
                await _settle(side_pilot)
        scrolling = await _move_blocks(sides, blocks, lambda block: True)
        positions = (ours.cursor_line, bare.cursor_line)
        renders = {}
        for name, (side_pilot, tree) in sides.items():
            with side_pilot.app._context():
                renders[name] = await _renders_per_move(side_pilot, tree)
    return {
        "within": within,
        "scrolling": scrolling,
        "lines": lines,
        "positions": positions,
        "renders": renders,
    }


async def _renders_per_move(pilot: Any, tree: Any, moves: int = 10) -> dict[str, float]:
    """Which widgets Textual renders lines of, per cursor move (counted untimed)."""
    from textual.widget import Widget

    counts: dict[str, int] = {}
    original = Widget.render_lines
    screen = tree.screen

    pumps = _pumps(pilot)

    def counted(widget: Widget, crop: Any) -> Any:
        # Both apps share the event loop; count only this one's screen.
        if widget is screen or widget.screen is screen:
            name = type(widget).__name__
            counts[name] = counts.get(name, 0) + 1
        return original(widget, crop)

    Widget.render_lines = counted  # type: ignore[method-assign,assignment]
    try:
        for _ in range(moves):
            tree.action_cursor_down()
            await _handled(pilot, pumps)
    finally:
        Widget.render_lines = original  # type: ignore[method-assign]
    return {name: count / moves for name, count in counts.items()}


async def _move_blocks(
    sides: dict[str, tuple[Any, Any]], blocks: int, down: Callable[[int], bool]
) -> dict[str, list[float]]:
    """Seconds per cursor move on each side, in alternating blocks of moves."""
    per_move: dict[str, list[float]] = {name: [] for name in sides}
    for block in range(blocks):
        order = list(sides) if block % 2 == 0 else list(reversed(sides))
        for name in order:
            side_pilot, tree = sides[name]
            move = tree.action_cursor_down if down(block) else tree.action_cursor_up
            pumps = _pumps(side_pilot)
            with side_pilot.app._context():
                for _ in range(MOVES_PER_BLOCK):
                    start = time.perf_counter()
                    move()
                    await _handled(side_pilot, pumps)
                    per_move[name].append(time.perf_counter() - start)
                # The workspace shows the round under the cursor once it rests;
                # that happens here, untimed, not during the other tree's block.
                await asyncio.sleep(2 * _debounce())
                await _settle(side_pilot)
    return per_move


def _copy_nodes(source: Any, target: Any) -> None:
    """Give ``target`` the same nodes, labels and expansion as ``source``."""
    stack = [(source.root, target.root)]
    while stack:
        mine, theirs = stack.pop()
        for child in mine.children:
            if child.children:
                copy = theirs.add(child.label, expand=child.is_expanded)
                stack.append((child, copy))
            else:
                theirs.add_leaf(child.label)


# --- the section ---------------------------------------------------------------------


def _section(
    launches: dict[str, list[float]],
    startup: dict[str, float],
    imports: list[tuple[str, float]],
    reads: dict[str, float],
    inside: dict[str, Any],
    runs: int,
    blocks: int,
) -> Section:
    section = Section("Interface (issue 5)")
    launch = [seconds for samples in launches.values() for seconds in samples]
    launch_s = max(median(samples) for samples in launches.values())
    open_ms = ms(median(inside["open"]))
    moves = {
        name: inside["within"][name] + inside["scrolling"][name]
        for name in ("ours", "bare")
    }
    ours = ms(median(moves["ours"]))
    bare = ms(median(moves["bare"]))
    within = {k: ms(median(v)) for k, v in inside["within"].items()}
    scrolling = {k: ms(median(v)) for k, v in inside["scrolling"].items()}
    cursor_ms = ms(median(inside["by cursor"]))
    panel_ms = ms(median(inside["by panel"]))
    raw_ms = ms(median(inside["raw"]))
    plain_ms = ms(median(inside["plain previews"]))
    section.figures = [
        Figure(
            f"Launch to the workspace's first frame (`ripen --last`, pty 120x40; "
            f"the slower of a {' and a '.join(launches)} session)",
            launch_s,
            "s",
            target=f"< {LAUNCH_TARGET_S:g} s",
            met=launch_s < LAUNCH_TARGET_S,
            digits=2,
        ),
        *[
            Figure(f"... a {name} session", median(samples), "s", digits=2)
            for name, samples in launches.items()
        ],
        Figure(
            f"Opening a {ROUNDS:,}-round session in the workspace",
            open_ms,
            target=f"< {OPEN_TARGET_MS:g} ms",
            met=open_ms < OPEN_TARGET_MS,
        ),
        Figure("Cursor move, session tree", ours, digits=2),
        Figure("Cursor move, bare Textual `Tree`", bare, digits=2),
        Figure(
            "Cursor move, session tree / bare `Tree`",
            ours / bare,
            "x",
            target=f"<= {MOVE_TARGET_RATIO:g}x",
            met=ours / bare <= MOVE_TARGET_RATIO,
            digits=2,
        ),
        Figure(
            f"... moves within the first screen ({within['ours']:.1f} vs "
            f"{within['bare']:.1f} ms)",
            within["ours"] / within["bare"],
            "x",
            digits=2,
        ),
        Figure(
            f"... moves that scroll the tree ({scrolling['ours']:.1f} vs "
            f"{scrolling['bare']:.1f} ms)",
            scrolling["ours"] / scrolling["bare"],
            "x",
            digits=2,
        ),
        Figure(
            "Preview switch between two 2K rounds (cursor move to image painted)",
            cursor_ms,
            target=f"< {SWITCH_TARGET_MS:g} ms",
            met=cursor_ms < SWITCH_TARGET_MS,
        ),
        Figure("... the panel's own switch (cached preview, painted)", panel_ms),
        Figure("textual-image's own widget fed the full 2K files", raw_ms),
        Figure(
            "textual-image's own widget fed the cached previews (no line cache)",
            plain_ms,
        ),
    ]
    rows = [[name, f"{seconds:.2f} s"] for name, seconds in startup.items()]
    rows.append(["the same plus the app up to its first frame", f"{launch_s:.2f} s"])
    section.tables.append(table(["Launch, median of " + str(runs), "time"], rows))
    section.tables.append(
        table(
            ["Import on the launch path (`-X importtime`, one run)", "cumulative"],
            [[f"`{name}`", f"{seconds * 1000:.0f} ms"] for name, seconds in imports],
        )
    )
    open_rows = [[name, f"{ms(seconds):.0f} ms"] for name, seconds in reads.items()]
    open_rows.append(["opening the workspace, all told", f"{open_ms:.0f} ms"])
    section.tables.append(
        table([f"Opening {ROUNDS:,} rounds: the engine's part", "median"], open_rows)
    )
    renders = inside["renders"]
    section.tables.append(
        table(
            ["Widgets rendered per cursor move", "session tree", "bare `Tree`"],
            [
                [
                    name,
                    f"{renders['ours'].get(name, 0):.1f}",
                    f"{renders['bare'].get(name, 0):.1f}",
                ]
                for name in sorted(set(renders["ours"]) | set(renders["bare"]))
            ],
        )
    )
    debounce = 1000 * inside["debounce"]
    lines, positions = inside["lines"], inside["positions"]
    opens = [ms(seconds) for seconds in inside["open"]]
    section.notes.append(
        f"Launch: {runs} launches in a pseudo-terminal, the clock stopping when the "
        "workspace's prompt status appears in the output (escape sequences "
        "stripped); it includes starting Python and every import. Launches took "
        f"{min(launch):.2f}-{max(launch):.2f} s; the {runs} opens of the "
        f"{ROUNDS:,}-round session {min(opens):.0f}-{max(opens):.0f} ms (the "
        "machine's load moves these more than any change does)."
    )
    section.notes.append(
        f"Cursor: medians of single moves, {2 * blocks} blocks of "
        f"{MOVES_PER_BLOCK} moves on each tree, the trees alternating: half within "
        "the first screen (down and up, nothing scrolls), half moving down from "
        "below it (every move scrolls a line). The trees have "
        f"{lines[0]:,} and {lines[1]:,} lines; the cursors ended on lines "
        f"{positions[0]:,} and {positions[1]:,}. A move in the workspace also "
        "restarts its preview timer; the preview itself is measured below."
    )
    section.notes.append(
        f"Preview: {2 * runs} switches each way, between two adjacent rounds whose "
        f"images are {SIDE}x{SIDE}. The cursor figure is the whole path a user "
        f"sees: the tree's own move (about {ours:.0f} ms, above), the workspace's "
        f"{debounce:.0f} ms debounce before it shows the round under the cursor "
        "(tui/widgets/session_tree.py `REST_DELAY`), then the details and the "
        f"image panel ({panel_ms:.0f} ms for the panel alone, its drawn lines "
        "kept per image). textual-image's own widget, fed the same files or "
        "previews, is timed in a bare app at the panel's size. The first view of "
        f"a round (its {inside['preview size']}-pixel preview made from the 2K "
        f"file on a worker) took {ms(inside['first view']):.0f} ms."
    )
    return section
