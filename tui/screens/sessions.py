"""The sessions list: where ``ripen`` opens, and where a user finds old work.

``SessionsScreen(engine)`` shows every session with a thumbnail of its current
round, its title, its rounds, the credits spent of its budget and when it last
changed. Typing after ``/`` narrows the list. From here a user opens, starts, renames
or deletes a session (deleting asks first, and keeps the images another session
still uses).

The screen answers through ``dismiss``: the id of the session to open, or ``None``
when the user went back without choosing. Starting a new session pushes
``NewSessionScreen`` and, once its first round exists, answers that session's id.

Thumbnails are small copies kept by :class:`~tui.preview_cache.PreviewCache`, made
one after another on a single worker thread, so a list of 4K rounds never decodes a
4K file while drawing, and a long list never starts a thread per row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from PIL import Image
from textual import events, on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ListItem, ListView, Static
from textual.worker import Worker

from core.engine import Engine
from core.models import Round, Session
from core.text import clean_text
from tui.errors import (
    WRITE_FAILURES,
    AnswersOnce,
    handle_worker_state,
    show_failure,
)
from tui.keys import key
from tui.preview_cache import PreviewCache, PreviewUnavailable
from tui.screens.dialogs import ConfirmDialog, TextDialog
from tui.widgets.lists import KeyedListView

if TYPE_CHECKING:
    from tui.app import RipenApp

THUMBNAIL_SIDE = 96


def ago(stamp: str, now: datetime | None = None) -> str:
    """How long ago an ISO timestamp was, in the words a person would use."""
    try:
        then = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - then).total_seconds()
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            if unit == "day" and count > 30:
                return then.strftime("on %d %b %Y")
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def matches(session: Session, query: str) -> bool:
    """True when every word of the filter appears in the session's title or id."""
    haystack = f"{session.title} {session.id} {session.template or ''}".casefold()
    return all(word in haystack for word in query.casefold().split())


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class SessionRow(ListItem):
    """One session in the list: thumbnail on the left, figures on the right."""

    def __init__(self, session: Session, image_class: type[Any]) -> None:
        super().__init__(id=f"session-{session.id}")
        self.session = session
        self.image_class = image_class

    @property
    def sha(self) -> str | None:
        """The content hash of the current round's image (its stored file name)."""
        return self.session.thumbnail.stem if self.session.thumbnail else None

    def compose(self) -> ComposeResult:
        session = self.session
        spent = f"{session.credits} of {session.budget} credits"
        over = " over-budget" if session.credits > session.budget else ""
        with Horizontal():
            with Vertical(classes="thumb"):
                yield self.image_class(None, classes="thumbnail")
                yield Static(
                    "no image" if self.sha is None else "…", classes="placeholder"
                )
            with Vertical(classes="facts"):
                yield Label(session.title, classes="title", markup=False)
                yield Label(
                    f"{plural(session.rounds, 'round')} · {spent} · "
                    f"changed {ago(session.updated)}",
                    classes=f"figures{over}",
                )
                extra = [session.backend, f"id {session.id}"]
                if session.template:
                    extra.append(f"template {session.template}")
                yield Label(" · ".join(extra), classes="extra", markup=False)

    def on_mount(self) -> None:
        self.query_one(".thumbnail").display = False

    def show_thumbnail(self, image: Image.Image | None, problem: str = "") -> None:
        """Put the thumbnail in place, or say in three words why there is none."""
        picture = self.query_one(".thumbnail")
        placeholder = self.query_one(".placeholder", Static)
        if image is None:
            placeholder.update("missing" if problem else "no image")
            placeholder.tooltip = problem or None
            return
        picture.image = image  # type: ignore[attr-defined]
        picture.display = True
        placeholder.display = False


class SessionsScreen(AnswersOnce, Screen[str | None]):
    """Every session, filtered as the user types; open, new, rename, delete."""

    CSS_PATH = "../screens.tcss"
    BINDING_GROUP_TITLE = "Sessions"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "enter",
            "open",
            "Open",
            "Open the highlighted session in the workspace",
            id="sessions.open",
            key_display="⏎",
            priority=True,
        ),
        key(
            "n",
            "new",
            "New",
            "Start a session from a prompt, a photo or references",
            id="sessions.new",
        ),
        key(
            "r",
            "rename",
            "Rename",
            "Give the highlighted session a new title",
            id="sessions.rename",
        ),
        key(
            "d,delete",
            "delete",
            "Delete",
            "Delete the highlighted session, after asking",
            id="sessions.delete",
        ),
        key(
            "slash",
            "filter",
            "Filter",
            "Type to narrow the list by title",
            id="sessions.filter",
            key_display="/",
            priority=True,
        ),
        key(
            "escape",
            "clear",
            "Clear filter",
            "Clear the filter and go back to the list",
            id="sessions.clear",
        ),
        key(
            "escape",
            "back",
            "Back",
            "Back to the workspace without opening another session",
            id="sessions.back",
        ),
        key("q", "app.quit", "Quit", "Quit ripen", id="sessions.quit"),
    ]

    class ThumbnailReady(Message):
        """A session's thumbnail was decoded on the worker thread (or failed)."""

        def __init__(self, sha: str, image: Image.Image | None, problem: str) -> None:
            super().__init__()
            self.sha = sha
            self.image = image
            self.problem = problem

    def __init__(self, engine: Engine, *, can_go_back: bool = False) -> None:
        """``can_go_back`` says a screen of the user's lies under this one, so
        Escape may leave; on the first screen Escape only clears the filter and
        never quits (q and Ctrl+Q do)."""
        super().__init__()
        self.engine = engine
        self.can_go_back = can_go_back
        self.all_sessions: list[Session] = []
        self.thumbnails = PreviewCache(
            engine.config.cache_dir / "previews", THUMBNAIL_SIDE
        )
        self.problems: dict[str, str] = {}

    @property
    def ripen(self) -> RipenApp:
        return cast("RipenApp", self.app)

    def compose(self) -> ComposeResult:
        yield Label("Sessions", id="sessions-heading", classes="heading", markup=False)
        yield Input(placeholder="/ filters by title", id="sessions-filter")
        yield KeyedListView(id="sessions-list")
        yield Static("", id="sessions-empty")
        yield Footer()

    async def on_mount(self) -> None:
        await self.reload()
        self.list_view.focus()

    # -- reading -----------------------------------------------------------------

    @property
    def list_view(self) -> ListView:
        return self.query_one("#sessions-list", ListView)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#sessions-filter", Input)

    @property
    def highlighted(self) -> Session | None:
        """The session under the cursor, if any."""
        row = self.list_view.highlighted_child
        return row.session if isinstance(row, SessionRow) else None

    @property
    def shown(self) -> list[Session]:
        """The sessions the list shows now, in order."""
        return [row.session for row in self.list_view.query(SessionRow)]

    async def reload(self, keep: str | None = None) -> None:
        """Read the sessions again and redraw the list, keeping the cursor's session."""
        self.all_sessions = self.engine.sessions()
        await self._redraw(keep)
        wanted = {
            (row.sha, row.session.thumbnail)
            for row in self.list_view.query(SessionRow)
            if row.sha is not None and row.session.thumbnail is not None
        }
        if wanted:
            self._load_thumbnails(sorted(wanted))

    async def _redraw(self, keep: str | None = None) -> None:
        keep = keep or (self.highlighted.id if self.highlighted else None)
        shown = [s for s in self.all_sessions if matches(s, self.filter_box.value)]
        view = self.list_view
        await view.clear()
        rows = [SessionRow(session, self.ripen.image_class) for session in shown]
        await view.extend(rows)
        for row in rows:
            if row.sha is not None:
                cached = self.thumbnails.cached(row.sha)
                if cached is not None or row.sha in self.problems:
                    row.show_thumbnail(cached, self.problems.get(row.sha, ""))
        ids = [s.id for s in shown]
        view.index = ids.index(keep) if keep in ids else (0 if ids else None)
        self._show_counts(len(shown))

    def _show_counts(self, shown: int) -> None:
        total = len(self.all_sessions)
        heading = f"Sessions · {total}"
        if shown != total:
            query = clean_text(self.filter_box.value, single_line=True)[:60]
            heading = f"Sessions · {shown} of {total} match “{query}”"
        self.query_one("#sessions-heading", Label).update(heading)
        empty = self.query_one("#sessions-empty", Static)
        if total == 0:
            empty.update("No sessions yet. Press n to start one.")
        elif shown == 0:
            empty.update("No session matches the filter. Escape clears it.")
        empty.display = shown == 0
        self.list_view.display = shown > 0

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="thumbnails",
        description="Making session thumbnails",
    )
    def _load_thumbnails(self, wanted: list[tuple[str, Any]]) -> None:
        for sha, path in wanted:
            try:
                image, problem = self.thumbnails.load(sha, path), ""
            except PreviewUnavailable as exc:
                image, problem = None, str(exc)
            self.post_message(self.ThumbnailReady(sha, image, problem))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker states reach only this screen, never the app's handler.
        handle_worker_state(self.app, event.worker)

    @on(ThumbnailReady)
    def _thumbnail_ready(self, event: ThumbnailReady) -> None:
        if event.image is None:
            self.problems[event.sha] = event.problem
        for row in self.list_view.query(SessionRow):
            if row.sha == event.sha:
                row.show_thumbnail(event.image, event.problem)

    # -- filtering ---------------------------------------------------------------

    @on(Input.Changed, "#sessions-filter")
    async def _filter_changed(self) -> None:
        await self._redraw()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool:
        # Escape has two meanings; the footer shows the one it has right now.
        if action not in ("clear", "back"):
            return True
        box = self.filter_box
        filtering = bool(box.value) or self.focused is box
        return filtering if action == "clear" else self.can_go_back and not filtering

    def on_key(self, event: events.Key) -> None:
        # Down from the filter goes to the list, so the arrows never feel trapped.
        if event.key == "down" and self.focused is self.filter_box:
            event.stop()
            self.list_view.focus()

    def action_filter(self) -> None:
        # A priority binding, so that letters typed right after it reach the filter
        # rather than the list's keys (d deletes); in the filter "/" is text.
        if self.focused is self.filter_box:
            raise SkipAction()
        self.set_focus(self.filter_box)

    async def action_clear(self) -> None:
        box = self.filter_box
        if box.value:
            with box.prevent(Input.Changed):
                box.value = ""
            await self._redraw()
        self.list_view.focus()
        self.refresh_bindings()

    def action_back(self) -> None:
        self.dismiss(None)

    # -- acting ------------------------------------------------------------------

    @on(ListView.Selected, "#sessions-list")
    def _row_clicked(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        session = self.highlighted
        if session is not None:
            self.dismiss(session.id)

    def action_new(self) -> None:
        from tui.screens.new_session import NewSessionScreen

        def started(first: Round | None) -> None:
            if first is not None:
                self.dismiss(first.session)

        self.app.push_screen(NewSessionScreen(self.engine), started)

    def action_rename(self) -> None:
        session = self.highlighted
        if session is None:
            return

        async def renamed(title: str | None) -> None:
            if not title:
                return
            try:
                self.engine.rename_session(session.id, title)
            except WRITE_FAILURES as error:
                show_failure(self, error, "renaming the session")
                return
            await self.reload(keep=session.id)

        dialog = TextDialog("Rename the session", session.title, "A short title")
        self.app.push_screen(dialog, renamed)

    def action_delete(self) -> None:
        session = self.highlighted
        if session is None:
            return

        async def answered(sure: bool | None) -> None:
            if not sure:
                return
            try:
                removed = self.engine.delete_session(session.id)
            except WRITE_FAILURES as error:
                show_failure(self, error, "deleting the session")
                return
            self.notify(
                f"Deleted “{session.title}” and {plural(removed, 'image file')} "
                "no other session uses.",
                title="Session deleted",
                markup=False,
            )
            await self.reload()

        question = (
            f"Delete “{session.title}”, its {plural(session.rounds, 'round')} and "
            "their notes?\nImages another session still uses are kept."
        )
        self.app.push_screen(ConfirmDialog(question, yes="Delete"), answered)
