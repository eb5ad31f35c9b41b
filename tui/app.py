"""The app shell: which screen opens, how keys are mapped, how the app quits.

Everything else lives in screens and widgets. ``run_app`` is what ``ripen``,
``ripen --last`` and ``ripen demo`` call; it decides how previews are drawn before
Textual takes the terminal (see :mod:`tui.renderer`), which is why screens are
imported only once the app runs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.message import Message
from textual.worker import Worker

from core.engine import Engine
from core.errors import NotFound, RipenError
from core.models import Round
from tui.commands import RipenCommands
from tui.errors import SteadyCommandPalette, handle_worker_state, show_error
from tui.keys import APP_BINDINGS, binding_groups, load_keymap
from tui.preview_cache import PREVIEW_SIZES, PreviewCache
from tui.renderer import Renderer, choose_renderer, image_widget_class

if TYPE_CHECKING:
    from tui.screens.workspace import Job

log = logging.getLogger("ripen.tui")

QUIT_WAIT_SECONDS = 1.5


class RipenApp(App[None]):
    """ripen's interface over one engine (one data folder)."""

    TITLE = "ripen"
    BINDING_GROUP_TITLE = "Anywhere"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS
    COMMANDS = App.COMMANDS | {RipenCommands}

    def __init__(
        self,
        *,
        session: str | None = None,
        last: bool = False,
        engine: Engine | None = None,
        images: str | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        """Open ``session``, the last session, or the sessions list.

        ``renderer`` is the outcome of :func:`~tui.renderer.choose_renderer`; without
        it the app draws with ``images`` if that names a renderer, else half-cells,
        and never queries the terminal (tests build the app this way).
        """
        super().__init__()
        self.engine = engine or Engine()
        if renderer is None:
            name = images if images and images != "auto" else "halfcell"
            renderer = Renderer(name)
        self.renderer = renderer
        self._image_class: type[Any] | None = None
        self.previews = PreviewCache(
            self.engine.config.cache_dir / "previews",
            PREVIEW_SIZES.get(renderer.name, PREVIEW_SIZES["halfcell"]),
        )
        # The other screens read the renderer from the config they share.
        self.engine.config.images = renderer.name
        self.start_session = session
        self.start_last = last
        self.jobs: dict[int, Job] = {}

    @property
    def image_class(self) -> type[Any]:
        """The widget class that draws images for the chosen renderer.

        textual-image (and NumPy, which it imports) is loaded when the first image
        is drawn rather than at launch: about 80 ms the first frame need not wait for.
        """
        if self._image_class is None:
            self._image_class = image_widget_class(self.renderer)
        return self._image_class

    def on_mount(self) -> None:
        # What is loaded by now (Textual, the engine, their modules and classes)
        # lives as long as the app. Frozen, it is no longer walked by every full
        # garbage collection, which otherwise costs 80-240 ms when a large session
        # opens and its rounds are allocated.
        gc.collect()
        gc.freeze()
        self.apply_keymap()
        if self.renderer.hint:
            self.notify(self.renderer.hint, timeout=6, markup=False)
        self.open_first_screen()

    def apply_keymap(self) -> None:
        """Move keys as the config file's ``[keys]`` table says."""
        table = self.engine.config.keys
        if not table:
            return  # checking ids imports every screen: not worth it for nothing
        keymap, problems = load_keymap(table, known_binding_groups())
        self.set_keymap(keymap)
        for problem in problems:
            self.notify(
                f"config.toml [keys] {problem.binding_id!r}: {problem.message}.",
                title="Key not remapped",
                severity="warning",
                markup=False,
            )

    def open_first_screen(self) -> None:
        session = self.start_session
        if session is None and self.start_last:
            last = self.engine.last_session()
            if last is None:
                self.notify("There is no session yet; start one here.", timeout=4)
            session = last.id if last else None
        if session is None:
            self.open_sessions()
            return
        try:
            self.engine.session(session)
        except NotFound as error:
            show_error(self, error)
            self.open_sessions()
            return
        self.open_workspace(session)

    def open_workspace(self, session_id: str) -> None:
        """Show a session's workspace, replacing the workspace already open."""
        from tui.screens.workspace import WorkspaceScreen

        screen = WorkspaceScreen(session_id)
        if isinstance(self.screen, WorkspaceScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def open_sessions(self) -> None:
        """The sessions list; Escape goes back from it only to a workspace under it,
        so that no stray Escape quits (q and Ctrl+Q do)."""
        from tui.screens.sessions import SessionsScreen
        from tui.screens.workspace import WorkspaceScreen

        def chosen(session_id: str | None) -> None:
            if session_id:
                self.open_workspace(session_id)

        under = isinstance(self.screen, WorkspaceScreen)
        self.push_screen(SessionsScreen(self.engine, can_go_back=under), chosen)

    def action_sessions(self) -> None:
        self.open_sessions()

    def action_command_palette(self) -> None:
        """Textual's palette, guarded against keys that outrun its list."""
        if not isinstance(self.screen, CommandPalette):
            self.push_screen(SteadyCommandPalette(id="--command-palette"))

    def action_new_session(self) -> None:
        """The new-session form; the workspace of the session it starts opens."""
        from tui.screens.new_session import NewSessionScreen

        def started(first: Round | None) -> None:
            if first is not None:
                self.open_workspace(first.session)

        self.push_screen(NewSessionScreen(self.engine), started)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    async def action_quit(self) -> None:
        """Quit; a running generation is cancelled first and given a moment to be
        recorded as a cancelled attempt."""
        running = list(self.jobs.values())
        for job in running:
            job.cancel.cancel()
        deadline = time.monotonic() + QUIT_WAIT_SECONDS
        while any(not job.done.is_set() for job in running):
            if time.monotonic() >= deadline:
                log.warning(
                    "quitting with %d generation(s) still running", len(running)
                )
                break
            await asyncio.sleep(0.02)
        self.exit()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        handle_worker_state(self, event.worker)

    @property
    def unfinished_jobs(self) -> int:
        return sum(1 for job in self.jobs.values() if not job.done.is_set())


def known_binding_groups() -> list[list[Binding]]:
    """Every binding a ``[keys]`` table may remap, grouped by the screen that
    answers to it."""
    try:
        from tui.screens import compare, dialogs, new_session, sessions, templates
    except ImportError:
        return binding_groups([])
    tables = []
    for module in (compare, dialogs, new_session, sessions, templates):
        for value in vars(module).values():
            bindings = getattr(value, "BINDINGS", None)
            if isinstance(value, type) and isinstance(bindings, list):
                tables.append(bindings)
    return binding_groups(tables)


def _tolerate_stray_bytes() -> None:
    """Let a byte that is not UTF-8 from the terminal (a mistyped Alt key, a
    terminal set to Latin-1) become U+FFFD instead of ending the app.

    Textual reads keys through a strict UTF-8 decoder, and one bad byte raises out
    of its input thread.
    """
    import codecs

    from textual.drivers import linux_driver

    def lenient(encoding: str) -> Any:
        decoder = codecs.getincrementaldecoder(encoding)

        def make(errors: str = "strict") -> codecs.IncrementalDecoder:
            return decoder(errors="replace")

        return make

    linux_driver.getincrementaldecoder = lenient  # type: ignore[assignment]


def read_alt_with_named_keys() -> None:
    """Read Alt+Enter from a terminal that sends it as ESC then CR (tmux, and most
    terminals without the kitty keyboard protocol) as ``alt+enter``.

    Textual 8.2 keeps the Alt of a letter sent that way but drops it from a named
    key (Textualize/textual#6663), so Alt+Enter arrived as Enter and sent a
    half-written instruction instead of adding a line; two in one read even came
    out as "^" and Enter. Within a read, ESC CR is rewritten as the kitty
    protocol's Alt+Enter, which the parser reads whole; an ESC that ends one read
    and a CR that starts the next are mended where the parser turns them into keys.
    """
    from textual import _xterm_parser

    parser = _xterm_parser.XTermParser
    original = parser._sequence_to_key_events
    if getattr(original, "reads_alt_enter", False):
        return
    original_feed = parser.feed

    def feeding(self: _xterm_parser.XTermParser, data: str) -> Iterable[Message]:
        return original_feed(self, data.replace("\x1b\r", "\x1b[13;3u"))

    def reading(
        self: _xterm_parser.XTermParser, sequence: str, alt: bool = False
    ) -> Iterator[events.Key]:
        for event in original(self, sequence, alt):
            if alt and event.key == "enter":
                yield events.Key("alt+enter", None)
            else:
                yield event

    reading.reads_alt_enter = True  # type: ignore[attr-defined]
    parser._sequence_to_key_events = reading  # type: ignore[method-assign]
    parser.feed = feeding  # type: ignore[method-assign]


def run_app(
    session: str | None = None, last: bool = False, images: str | None = None
) -> None:
    """Run the interface in this terminal: ``ripen``, ``--last``, ``ripen demo``."""
    try:
        engine = Engine()
    except RipenError as error:
        raise SystemExit(f"ripen: {error.message}") from None
    renderer = choose_renderer(images or engine.config.images)
    app = RipenApp(session=session, last=last, engine=engine, renderer=renderer)
    _tolerate_stray_bytes()
    read_alt_with_named_keys()
    app.run()
    if app.unfinished_jobs:
        # A backend that ignores cancelling would hold the process open in Python's
        # exit handlers; the promise is to be gone within two seconds.
        logging.shutdown()
        os._exit(app.return_code or 0)
