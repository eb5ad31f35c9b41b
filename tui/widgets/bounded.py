"""A text box that refuses a paste longer than what it is for can hold.

An instruction or a note holds at most ``MAX_INSTRUCTION`` characters, which the
engine enforces when it is sent. A paste of a whole file into the box would
otherwise be taken in first: the text area and the linter then redo their work on
half a megabyte at every key, and the app stops answering for seconds at a time.
"""

from __future__ import annotations

from textual import events
from textual.widgets import TextArea

from core.engine import MAX_INSTRUCTION


class BoundedTextArea(TextArea):
    """A TextArea whose pastes cannot take it past ``limit`` characters."""

    limit = MAX_INSTRUCTION

    async def _on_paste(self, event: events.Paste) -> None:
        start, end = sorted(self.selection)
        replaced = len(self.get_text_range(start, end))
        room = self.limit - (len(self.text) - replaced)
        if len(event.text) <= room:
            return  # TextArea's own handler inserts it
        event.prevent_default()
        event.stop()
        self.notify(
            f"The paste is {len(event.text):,} characters and this box holds at "
            f"most {self.limit:,}, so nothing was added. Paste a shorter text.",
            title="Paste too long",
            severity="warning",
            markup=False,
        )
