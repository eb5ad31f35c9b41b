"""Small modal questions the workspace and the sessions list ask.

Each dialog is a ``ModalScreen`` that answers through ``dismiss``, so a caller either
passes a callback to ``push_screen`` or awaits ``push_screen_wait``. Escape always
answers ``None`` (or ``False`` for a yes/no question) and changes nothing. Each has
a footer of its own: without one, the footer of the screen underneath stays in view
and offers keys that do nothing while the dialog is open.

- ``RegionPicker()`` answers a region string: a cell of the 3x3 grid of thirds
  ("lower right third", "centre"), a named region ("background", "left half"), or
  ``""`` for the whole image (no region).
- ``NoteEditor(initial)`` answers the note's new text.
- ``ConfirmDialog(question)`` answers True or False.
- ``TextDialog(title, initial)`` answers a line of text (a session's new title).
- ``ABDialog()`` answers a pair of instructions for an A/B test.
- ``ExportDialog(out_dir)`` answers an :class:`ExportRequest`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option

from core.engine import MAX_TITLE
from core.export import FORMATS
from tui.errors import AnswersOnce
from tui.keys import after_earlier_keys, key
from tui.widgets.bounded import BoundedInput, BoundedTextArea

SCREENS_CSS = "../screens.tcss"

GRID_ROWS = ("upper", "middle", "lower")
GRID_COLUMNS = ("left", "centre", "right")

NAMED_REGIONS: tuple[tuple[str, str], ...] = (
    ("background", "behind the subject"),
    ("foreground", "in front of the subject"),
    ("subject", "the main subject"),
    ("highlights", "the brightest tones"),
    ("midtones", "the middle tones"),
    ("shadows", "the darkest tones"),
    ("edges", "a band around the frame"),
    ("centre", "the middle of the frame"),
    ("left half", ""),
    ("right half", ""),
    ("top half", ""),
    ("bottom half", ""),
)
WHOLE_IMAGE = ""

EXPORT_FORMATS = tuple(FORMATS)


def grid_region(row: int, column: int) -> str:
    """The name of one cell of the grid of thirds: ``grid_region(2, 2)`` is the
    lower right third; the middle cell is the centre."""
    if (row, column) == (1, 1):
        return "centre"
    if row == 1:
        return f"middle {GRID_COLUMNS[column]} third"
    if column == 1:
        return f"{GRID_ROWS[row]} centre third"
    return f"{GRID_ROWS[row]} {GRID_COLUMNS[column]} third"


class ThirdsGrid(Widget, can_focus=True):
    """A 3x3 grid of thirds with a cursor that the arrow keys move."""

    BINDING_GROUP_TITLE = "Grid of thirds"
    BINDINGS: ClassVar[list[BindingType]] = [
        key("up,k", "move(-1, 0)", "Up", "Cell above", id="region.up"),
        key("down,j", "move(1, 0)", "Down", "Cell below", id="region.down"),
        key("left,h", "move(0, -1)", "Left", "Cell to the left", id="region.left"),
        key("right,l", "move(0, 1)", "Right", "Cell to the right", id="region.right"),
        key(
            "enter",
            "pick",
            "Pick cell",
            "Limit the change to the highlighted third",
            id="region.pick_cell",
        ),
    ]

    cursor: reactive[tuple[int, int]] = reactive((1, 1))

    class Picked(Message):
        """The user chose the highlighted cell."""

        def __init__(self, region: str) -> None:
            super().__init__()
            self.region = region

    def compose(self) -> ComposeResult:
        with Grid():
            for row in range(3):
                for column in range(3):
                    yield Static(
                        grid_region(row, column),
                        id=f"cell-{row}-{column}",
                        classes="cell",
                    )

    def watch_cursor(self, old: tuple[int, int], new: tuple[int, int]) -> None:
        if not self.is_mounted:
            return
        self.query_one(f"#cell-{old[0]}-{old[1]}").remove_class("-cursor")
        self.query_one(f"#cell-{new[0]}-{new[1]}").add_class("-cursor")

    def on_mount(self) -> None:
        row, column = self.cursor
        self.query_one(f"#cell-{row}-{column}").add_class("-cursor")

    @property
    def cell(self) -> str:
        """The name of the cell under the cursor."""
        return grid_region(*self.cursor)

    def action_move(self, rows: int, columns: int) -> None:
        row, column = self.cursor
        self.cursor = (min(2, max(0, row + rows)), min(2, max(0, column + columns)))

    def action_pick(self) -> None:
        self.post_message(self.Picked(self.cell))


class RegionPicker(AnswersOnce, ModalScreen[str | None]):
    """Pick the part of the image a refinement may change."""

    CSS_PATH = SCREENS_CSS
    BINDING_GROUP_TITLE = "Region"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "escape",
            "dismiss(None)",
            "Cancel",
            "Close without changing the region",
            id="region.cancel",
        ),
        key(
            "w",
            "whole",
            "Whole image",
            "Clear the region: the change may touch the whole image",
            id="region.whole",
        ),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Limit the change to a region", classes="dialog-title")
            with Horizontal():
                with Vertical(id="grid-column"):
                    yield Label("Thirds: arrows move, Enter picks", classes="hint")
                    yield ThirdsGrid()
                with Vertical(id="named-column"):
                    yield Label("Named regions: Tab here, Enter", classes="hint")
                    yield OptionList(
                        *(
                            Option(f"{name}  [dim]{about}[/]", id=name)
                            for name, about in NAMED_REGIONS
                        ),
                        id="named",
                    )
            yield Label(
                "w: whole image (no region) · Esc: keep the region as it is",
                classes="hint",
            )
        yield Footer()

    @on(ThirdsGrid.Picked)
    def _grid_picked(self, event: ThirdsGrid.Picked) -> None:
        self.dismiss(event.region)

    @on(OptionList.OptionSelected, "#named")
    def _named_picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_whole(self) -> None:
        self.dismiss(WHOLE_IMAGE)


class ConfirmDialog(AnswersOnce, ModalScreen[bool]):
    """A yes/no question; the safe answer has focus, so Enter alone never destroys."""

    CSS_PATH = SCREENS_CSS
    BINDING_GROUP_TITLE = "Confirm"
    # A query, not on_mount: a dialog answered by a key before it was mounted
    # has no buttons left to focus.
    AUTO_FOCUS = "#no"
    BINDINGS: ClassVar[list[BindingType]] = [
        key("y", "answer(True)", "Yes", "Answer yes", id="confirm.yes"),
        key(
            "n,escape",
            "answer(False)",
            "No",
            "Answer no and change nothing",
            id="confirm.no",
            key_display="n/esc",
        ),
        key(
            "left,right",
            "app.focus_next",
            "Other button",
            "Move between the two answers",
            id="confirm.switch",
            show=False,
        ),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, classes="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error")
                yield Button(f"{self.no} (n)", id="no", variant="primary")
        yield Footer()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextDialog(AnswersOnce, ModalScreen[str | None]):
    """Ask for one line of text, such as a session's new title."""

    CSS_PATH = SCREENS_CSS
    BINDING_GROUP_TITLE = "Text"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "enter",
            "save",
            "Save",
            "Save the text and close",
            id="text.save",
            key_display="⏎",
            priority=True,
        ),
        key(
            "escape",
            "dismiss(None)",
            "Cancel",
            "Close without changing anything",
            id="text.cancel",
        ),
    ]

    def __init__(
        self,
        title: str,
        initial: str = "",
        placeholder: str = "",
        max_length: int = MAX_TITLE,
    ) -> None:
        super().__init__()
        self.heading = title
        self.initial = initial
        self.placeholder = placeholder
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.heading, classes="dialog-title", markup=False)
            yield BoundedInput(
                self.initial,
                placeholder=self.placeholder,
                max_length=self.max_length,
                id="text",
            )
            yield Label("Enter saves · Escape cancels", classes="hint")
        yield Footer()

    @after_earlier_keys
    def action_save(self) -> None:
        text = self.query_one("#text", Input).value.strip()
        if not text:
            self.notify("Type something first, or press Escape.", severity="warning")
            return
        self.dismiss(text)


class InstructionArea(BoundedTextArea):
    """A multi-line text field where Enter submits and Alt+Enter adds a line.

    Pasted text arrives whole, new lines included, which a one-line ``Input`` would
    cut at the first line break.
    """

    DEFAULT_CSS = """
    InstructionArea {
        height: auto;
        min-height: 3;
        max-height: 8;
    }
    """

    class Submitted(Message):
        """Enter was pressed; ``text`` is what the field holds."""

        def __init__(self, area: InstructionArea, text: str) -> None:
            super().__init__()
            self.area = area
            self.text = text

        @property
        def control(self) -> InstructionArea:
            return self.area

    def __init__(
        self,
        text: str = "",
        *,
        placeholder: str = "",
        id: str,  # noqa: A002 - the name Textual widgets use
    ) -> None:
        super().__init__(
            text,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            highlight_cursor_line=False,
            placeholder=placeholder,
            id=id,
        )

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
        elif event.key in ("alt+enter", "shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            self.insert("\n")


class NoteEditor(AnswersOnce, ModalScreen[str | None]):
    """Edit a round's note; an empty note removes it."""

    CSS_PATH = SCREENS_CSS
    BINDING_GROUP_TITLE = "Note"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "ctrl+s",
            "save",
            "Save",
            "Save the note and close",
            id="note.save",
            priority=True,
        ),
        key(
            "escape",
            "dismiss(None)",
            "Cancel",
            "Close without changing the note",
            id="note.cancel",
        ),
    ]

    def __init__(self, initial: str = "", *, title: str = "Note") -> None:
        super().__init__()
        self.initial = initial
        self.heading = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.heading, classes="dialog-title", markup=False)
            yield BoundedTextArea(
                self.initial,
                soft_wrap=True,
                show_line_numbers=False,
                tab_behavior="focus",
                id="note",
            )
            yield Label(
                "Ctrl+S saves · Escape cancels · an empty note is removed",
                classes="hint",
            )
        yield Footer()

    def on_mount(self) -> None:
        area = self.query_one("#note", TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @after_earlier_keys
    def action_save(self) -> None:
        self.dismiss(self.query_one("#note", TextArea).text.strip())


class ABDialog(AnswersOnce, ModalScreen[tuple[str, str] | None]):
    """Ask for the two alternative instructions of an A/B test."""

    CSS_PATH = SCREENS_CSS
    BINDING_GROUP_TITLE = "A/B test"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "ctrl+s",
            "run",
            "Run both",
            "Run the two alternatives at the same time",
            id="ab.run",
            priority=True,
        ),
        # Answered when the key arrives, so that keys typed after Enter in one
        # burst (a slow SSH link) go to B, not to A before its focus has moved.
        key(
            "enter",
            "next",
            "Next",
            "From A go on to B; from B run both",
            id="ab.next",
            key_display="⏎",
            priority=True,
        ),
        key(
            "escape",
            "dismiss(None)",
            "Cancel",
            "Close without running anything",
            id="ab.cancel",
        ),
    ]

    def __init__(self, first: str = "", second: str = "") -> None:
        super().__init__()
        self.first = first
        self.second = second

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                "A/B test: two alternatives, run together", classes="dialog-title"
            )
            yield Label("A", classes="field-label")
            yield InstructionArea(
                self.first, placeholder="e.g. make the light warmer", id="a"
            )
            yield Label("B", classes="field-label")
            yield InstructionArea(
                self.second, placeholder="e.g. make the light cooler", id="b"
            )
            yield Label(
                "Enter goes on · Alt+Enter adds a line · Ctrl+S runs both",
                classes="hint",
            )
        yield Footer()

    def on_mount(self) -> None:
        first = self.query_one("#a", InstructionArea)
        first.focus()
        first.move_cursor(first.document.end)

    def action_next(self) -> None:
        second = self.query_one("#b", InstructionArea)
        if self.focused is self.query_one("#a", InstructionArea):
            self.set_focus(second)
        else:
            self.action_run()

    @after_earlier_keys
    def action_run(self) -> None:
        a = self.query_one("#a", InstructionArea).text.strip()
        b = self.query_one("#b", InstructionArea).text.strip()
        if not a or not b:
            self.notify("Both alternatives need an instruction.", severity="warning")
            self.query_one("#b" if a else "#a", InstructionArea).focus()
            return
        self.dismiss((a, b))


@dataclass(frozen=True)
class ExportRequest:
    """Where and how to export a round: the folder, the image format, overwrite."""

    out_dir: Path
    format: str = "png"
    force: bool = False


def export_folder(text: str) -> Path:
    """The folder a user typed, or ValueError saying why no file can go there.

    Checked while the dialog is still open, so the user can correct the field: a
    home folder that does not exist (``~nobody``), a name too long for the file
    system, and characters no folder name should hold (a NUL, a terminal escape,
    a bidirectional override) would otherwise fail after the dialog has closed.
    """
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise ValueError(
            "The folder name holds control or invisible characters; type it again."
        )
    try:
        folder = Path(text).expanduser()
    except RuntimeError:
        user = text.split("/", 1)[0]
        raise ValueError(f"There is no home folder for {user}.") from None
    try:
        folder.exists()
    except OSError as error:
        shown = text if len(text) <= 60 else text[:60] + "…"
        raise ValueError(f"{error.strerror or error}: {shown}") from None
    return folder


class ExportDialog(AnswersOnce, ModalScreen[ExportRequest | None]):
    """Ask where to export a round, in which format, and whether to overwrite."""

    CSS_PATH = SCREENS_CSS
    BINDING_GROUP_TITLE = "Export"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "ctrl+s",
            "export",
            "Export",
            "Write the image, contact sheet and report",
            id="export.run",
            priority=True,
        ),
        key(
            "escape",
            "dismiss(None)",
            "Cancel",
            "Close without exporting",
            id="export.cancel",
        ),
    ]

    def __init__(self, out_dir: Path | None = None, fmt: str = "png") -> None:
        super().__init__()
        self.out_dir = out_dir or Path.cwd()
        self.fmt = fmt if fmt in EXPORT_FORMATS else "png"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Export this round", classes="dialog-title")
            yield Label("Folder", classes="field-label")
            yield Input(str(self.out_dir), id="out")
            yield Label("Image format", classes="field-label")
            with RadioSet(id="format"):
                for name in EXPORT_FORMATS:
                    yield RadioButton(name.upper(), value=name == self.fmt, name=name)
            yield Checkbox("Overwrite files that exist", id="force")
            yield Label(
                "Tab moves · Enter in the folder field or Ctrl+S exports",
                classes="hint",
            )
        yield Footer()

    @on(Input.Submitted, "#out")
    def _submitted(self) -> None:
        self.action_export()

    @after_earlier_keys
    def action_export(self) -> None:
        folder = self.query_one("#out", Input).value.strip()
        if not folder:
            self.notify("Name a folder to export to.", severity="warning")
            return
        try:
            out = export_folder(folder)
        except ValueError as problem:
            self.notify(str(problem), title="Cannot export there", markup=False)
            return
        pressed = self.query_one("#format", RadioSet).pressed_button
        fmt = pressed.name if pressed is not None and pressed.name else "png"
        force = self.query_one("#force", Checkbox).value
        self.dismiss(ExportRequest(out, fmt, force))
