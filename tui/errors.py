"""The one place the interface turns a failure into something a user can read.

Engine errors (:class:`core.errors.RipenError`) carry their own title and message;
they become a notification, and their full text stays available in a modal whose
text can be selected and copied. Anything else that escapes a worker is a bug: it is
logged with its traceback and shown the same way, so the app keeps running. Error
text is never parsed as markup: a message quoting ``[b]`` or a file called
``[red].png`` must show as written.
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
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


class ErrorDetails(ModalScreen[None]):
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
