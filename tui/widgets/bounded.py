"""Text boxes that refuse a paste longer than what they are for can hold.

An instruction or a note holds at most ``MAX_INSTRUCTION`` characters, which the
engine enforces when it is sent. A paste of a whole file into the box would
otherwise be taken in first: the text area and the linter then redo their work on
half a megabyte at every key, and the app stops answering for seconds at a time.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Input, TextArea

from core.engine import MAX_INSTRUCTION


def refuse_paste(widget: Widget, event: events.Paste, pasted: int, limit: int) -> None:
    """Stop a paste of ``pasted`` characters and say why."""
    event.prevent_default()
    event.stop()
    widget.notify(
        f"The paste is {pasted:,} characters and this box holds at most "
        f"{limit:,}, so nothing was added. Paste a shorter text.",
        title="Paste too long",
        severity="warning",
        markup=False,
    )


class BoundedTextArea(TextArea):
    """A TextArea whose pastes cannot take it past ``limit`` characters."""

    limit = MAX_INSTRUCTION

    async def _on_paste(self, event: events.Paste) -> None:
        start, end = sorted(self.selection)
        replaced = len(self.get_text_range(start, end))
        room = self.limit - (len(self.text) - replaced)
        if len(event.text) > room:
            refuse_paste(self, event, len(event.text), self.limit)
        # otherwise TextArea's own handler inserts it


class BoundedInput(Input):
    """An Input that says why a paste past its ``max_length`` adds nothing."""

    def _on_paste(self, event: events.Paste) -> None:
        if not self.max_length or not event.text:
            return
        line = event.text.splitlines()[0] if event.text.strip("\r\n") else ""
        start, end = sorted(self.selection)
        room = self.max_length - (len(self.value) - (end - start))
        if len(line) > room:
            refuse_paste(self, event, len(line), self.max_length)
        # otherwise Input's own handler inserts it
