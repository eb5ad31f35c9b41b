"""Every key of the screen the user came from, generated from its bindings.

Nothing here is written by hand: the help lists the bindings of the app, of the
screen below and of every widget on it, with the keys the user's ``[keys]`` table
gives them, so it cannot disagree with what the keys do. Only bindings with an id
are listed; Textual's own editing and scrolling keys are left to Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, Static

from tui.errors import AnswersOnce
from tui.keys import key


@dataclass(frozen=True)
class KeyRow:
    """One line of the help: keys, name and what the binding does."""

    keys: str
    description: str
    tooltip: str
    binding_id: str


def key_rows(app: App[Any], screen: Screen[Any]) -> list[tuple[str, list[KeyRow]]]:
    """The help's groups, in order: the screen's widgets, the screen, the app."""
    nodes: list[DOMNode] = [*screen.query("*"), screen, app]
    groups: dict[str, list[KeyRow]] = {}
    seen: set[str] = set()
    for node in nodes:
        bindings = node._bindings.copy()
        if app._keymap:
            bindings.apply_keymap(app._keymap)
        title = getattr(node, "BINDING_GROUP_TITLE", None) or type(node).__name__
        by_id: dict[str, list[Binding]] = {}
        for _key, binding in bindings:
            if binding.id and binding.id not in seen:
                by_id.setdefault(binding.id, []).append(binding)
        for binding_id, same in by_id.items():
            seen.add(binding_id)
            shown = ", ".join(app.get_key_display(b) for b in same)
            groups.setdefault(title, []).append(
                KeyRow(shown, same[0].description, same[0].tooltip, binding_id)
            )
    return [(title, rows) for title, rows in groups.items() if rows]


def key_table(title: str, rows: list[KeyRow]) -> Table:
    """One group as a three-column table."""
    table = Table(
        title=Text(title, style="bold"),
        title_justify="left",
        show_header=False,
        box=None,
        padding=(0, 2, 0, 0),
        expand=True,
    )
    table.add_column("keys", style="bold", no_wrap=True, min_width=14)
    table.add_column("name", no_wrap=True, min_width=12)
    table.add_column("what", style="dim", ratio=1)
    for row in rows:
        table.add_row(row.keys, row.description, row.tooltip)
    return table


def ids_text() -> Text:
    """Where the command line meets the interface: the round ids."""
    text = Text()
    text.append("Command line\n", style="bold")
    text.append("The details under the image start with the round's id (")
    text.append("id k3m9qa", style="bold cyan")
    text.append(
        "). Every command takes it, or any unique prefix of 3 or more "
        "characters: ripen show ID, ripen export ID --out DIR, "
        'ripen refine ID "…", ripen promote ID.'
    )
    return text


class HelpScreen(AnswersOnce, ModalScreen[None]):
    """The keys of the screen below, grouped as the bindings are."""

    BINDING_GROUP_TITLE = "Help"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "escape,q,question_mark,f1",
            "dismiss",
            "Close",
            "Back to where you were",
            id="help.close",
        ),
    ]

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.target = screen

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Label("Keys", id="help-title")
            with VerticalScroll(id="help-keys"):
                for title, rows in key_rows(self.app, self.target):
                    yield Static(key_table(title, rows), classes="help-group")
                yield Static(ids_text(), id="help-ids", classes="help-group")
        yield Footer()
