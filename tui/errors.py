"""The one place the interface turns a failure into something a user can read.

Engine errors (:class:`core.errors.RipenError`) carry their own title and message;
they become a notification, and their full text stays available in a modal whose
text can be selected and copied. Anything else that escapes a worker is a bug: it is
logged with its traceback and shown the same way, so the app keeps running. Error
text is never parsed as markup: a message quoting ``[b]`` or a file called
``[red].png`` must show as written.

It also holds the guards against failures that fast keys cause in Textual itself:
:class:`AnswersOnce`, which every screen that answers through ``dismiss`` stands on,
so that keys typed faster than a screen closes never close the screen underneath;
and :class:`SteadyCommandPalette`, a command palette whose page keys wait for its
list to be drawn.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import BindingType
from textual.command import CommandList, CommandPalette
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, TextArea
from textual.worker import Worker, WorkerState

from core.errors import BudgetExceeded, Cancelled, RipenError
from core.models import Attempt
from tui.keys import key

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.notifications import SeverityLevel

log = logging.getLogger("ripen.tui")

NOTIFY_SECONDS = 8.0


def severity_of(error: RipenError) -> SeverityLevel:
    """Cancelling is the user's own doing; a budget stop is advice; the rest fail."""
    if isinstance(error, Cancelled):
        return "information"
    if isinstance(error, BudgetExceeded):
        return "warning"
    return "error"


def error_text(error: RipenError) -> str:
    """The full, copyable account of an engine error."""
    lines = [error.title, "", error.message, "", f"kind: {error.kind}"]
    if error.attempt:
        lines.append(f"attempt: {error.attempt}")
    return "\n".join(lines)


def when(stamp: str) -> str:
    """An ISO timestamp as a person reads it, in UTC."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%d %b %Y %H:%M UTC")


def attempt_text(attempt: Attempt) -> str:
    """The full, copyable account of a stored failed attempt."""
    lines = [
        f"{attempt.kind.replace('_', ' ')}, {when(attempt.created)}",
        "",
        attempt.message,
        "",
        f"instruction: {attempt.instruction}",
        f"tier: {attempt.quality}   backend: {attempt.backend}   "
        f"model: {attempt.model or '-'}",
    ]
    if attempt.region:
        lines.append(f"region: {attempt.region}")
    return "\n".join(lines)


def show_error(node: DOMNode, error: RipenError) -> None:
    """Show an engine error as a notification, from any widget, screen or the app."""
    node.app.notify(
        error.message,
        title=error.title,
        severity=severity_of(error),
        timeout=NOTIFY_SECONDS,
        markup=False,
    )


# What changing a session can raise: an engine error, or a storage failure the
# engine let through (a database another ripen holds locked, or one made
# read-only, a full disk).
WRITE_FAILURES = (RipenError, sqlite3.Error, OSError)


def show_failure(node: DOMNode, error: Exception, doing: str) -> None:
    """An engine error as a notification; a storage failure the engine let through
    logged and shown in full, so that the app keeps running."""
    if isinstance(error, RipenError):
        show_error(node, error)
    else:
        report_unexpected(node.app, error, doing)


def report_unexpected(app: App[Any], exc: BaseException, doing: str) -> None:
    """Log a bug with its traceback and show the full text in a modal."""
    log.error("unexpected failure while %s", doing, exc_info=exc)
    text = "".join(traceback.format_exception(exc))
    app.notify(
        f"Unexpected failure while {doing}; the full text is in ripen.log.",
        title="Something went wrong",
        severity="error",
        timeout=NOTIFY_SECONDS,
        markup=False,
    )
    app.push_screen(ErrorDetails("Something went wrong", text))


def handle_worker_state(app: App[Any], worker: Worker[Any]) -> None:
    """The worker-state hook: errors a worker did not turn into a message."""
    if worker.state is not WorkerState.ERROR or worker.error is None:
        return
    if isinstance(worker.error, RipenError):
        show_error(app, worker.error)
    else:
        report_unexpected(app, worker.error, worker.description or worker.name)


class AnswersOnce(Screen[Any]):
    """A screen that answers its caller once, however many keys arrive.

    Keys typed faster than a screen closes are still delivered to it after it has
    answered. Textual's ``dismiss`` always pops the top screen, so a second Escape
    would close the workspace underneath (leaving a blank terminal) and fail on the
    answer already given. An answer that comes while another screen lies on top
    (a first round finishing while help is open) closes those screens first, so
    it never closes the wrong one.
    """

    _answered = False

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if self._answered or self not in self.app.screen_stack:
            return AwaitComplete.nothing()
        self._answered = True
        if self.is_active:
            return super().dismiss(result)
        return AwaitComplete(self._dismiss_from_below(result))

    async def _dismiss_from_below(self, result: Any) -> None:
        while len(self.app.screen_stack) > 1 and self.app.screen is not self:
            await self.app.pop_screen()
        super().dismiss(result)


class SteadyCommandPalette(CommandPalette):
    """Textual's command palette, safe from page keys pressed before its list is
    drawn.

    The list indexes its lines only once it has a size; Page Up or Page Down in
    the moment between the first results arriving and the list being laid out
    fails on the empty index and takes the app down. Until then there is no page
    to move by, so the key does nothing; nor does any list key while the palette
    is still being built or already taken down, and a search that finishes after
    the palette closed has no list left to show or hide.
    """

    PAGE_ACTIONS = ("page_up", "page_down")

    def _action_command_list(self, action: str) -> None:
        lists = self.query(CommandList)
        if not lists:
            return  # a key that arrived while the palette was opening or closing
        if action in self.PAGE_ACTIONS and not lists.first().scrollable_content_region:
            return
        super()._action_command_list(action)

    def _watch__list_visible(self) -> None:
        # The search worker may finish after Escape has taken the list down.
        if self.query(CommandList):
            super()._watch__list_visible()


class ErrorDetails(AnswersOnce, ModalScreen[None]):
    """The full text of a failure, selectable and copyable."""

    BINDING_GROUP_TITLE = "Error details"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "escape,enter",
            "dismiss",
            "Close",
            "Back to where you were",
            id="error.close",
        ),
        key(
            "c",
            "copy",
            "Copy",
            "Copy the full text to the clipboard",
            id="error.copy",
        ),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Label(self.title_text, id="error-title", markup=False)
            area = TextArea(self.text, read_only=True, soft_wrap=True, id="error-text")
            area.cursor_blink = False
            yield area
        yield Footer()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.app.notify("Copied to the clipboard.", timeout=3)
