"""Every key binding of the app shell and the workspace, in one table per scope.

Each binding has an id, so a user can move it with a ``[keys]`` table in
``config.toml`` (``"tree.branch" = "B"``), and a tooltip, which the help screen and
the footer show. The help screen is generated from these tables, so a key documented
anywhere else would be a key that can drift; there is no such place.

Scopes follow focus: single letters live on the session tree, where typing them
cannot mean text; the prompt keeps every printable key for the instruction and uses
Enter, Alt+Enter and a few control keys; the workspace screen holds what must work
wherever the focus is (Escape, ``i`` and ``/`` back to the prompt).

``show`` picks what the footer offers, and the choice is about width: at 120
columns the tree's footer holds its ten most used keys with Help and Quit among
them, and the prompt's holds what works while typing plus Escape to reach the tree.
Everything else is one ``?`` (help) or Ctrl+P (commands) away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType


def key(
    keys: str,
    action: str,
    description: str,
    tooltip: str,
    *,
    id: str,  # noqa: A002 - the name Textual's Binding uses
    show: bool = True,
    priority: bool = False,
    key_display: str | None = None,
) -> Binding:
    """A Binding that cannot be written without an id and a tooltip."""
    return Binding(
        keys,
        action,
        description,
        show=show,
        priority=priority,
        key_display=key_display,
        tooltip=tooltip,
        id=id,
    )


APP_BINDINGS: list[BindingType] = [
    key(
        "ctrl+q",
        "quit",
        "Quit",
        "Quit ripen; a running generation is cancelled and kept as an attempt",
        id="app.quit",
        show=False,
        priority=True,
    ),
    key(
        "ctrl+p",
        "command_palette",
        "Commands",
        "Search every command by name",
        id="app.palette",
        show=False,
        priority=True,
    ),
    key(
        "f1",
        "help",
        "Help",
        "Every key of the current screen",
        id="app.help",
        show=False,
    ),
]

WORKSPACE_BINDINGS: list[BindingType] = [
    key(
        "escape",
        "escape",
        "Cancel",
        "Cancel the running generation, or leave the prompt for the tree",
        id="workspace.escape",
        show=False,
    ),
    key(
        "i,slash",
        "focus_prompt",
        "Prompt",
        "Back to the prompt from anywhere",
        id="workspace.prompt",
        show=False,
    ),
]

TREE_BINDINGS: list[BindingType] = [
    key("j", "cursor_down", "Down", "Next round", id="tree.down", show=False),
    key("k", "cursor_up", "Up", "Previous round", id="tree.up", show=False),
    key(
        "enter",
        "screen.make_current",
        "Current",
        "Make the selected round current (the next refinement starts there); "
        "on a failed attempt, show its full text",
        id="tree.current",
        show=False,
    ),
    key(
        "b",
        "screen.branch",
        "Branch",
        "Start a branch from the selected round",
        id="tree.branch",
    ),
    key(
        "a",
        "screen.ab",
        "A/B",
        "Run two alternative refinements of the selected round at once",
        id="tree.ab",
    ),
    key(
        "c",
        "screen.compare",
        "Compare",
        "Compare two rounds side by side",
        id="tree.compare",
    ),
    key(
        "w",
        "screen.winner",
        "Winner",
        "Mark the selected round the winner among its siblings",
        id="tree.winner",
    ),
    key(
        "s",
        "screen.star",
        "Star",
        "Star or unstar the round",
        id="tree.star",
        show=False,
    ),
    key(
        "u",
        "screen.tier",
        "Tier",
        "Toggle the next round between Common and Ultra",
        id="tree.tier",
    ),
    key(
        "r",
        "screen.region",
        "Region",
        "Limit the next change to a region of the image",
        id="tree.region",
    ),
    key(
        "K",
        "screen.keep",
        "Keep",
        "Append the keep clause to the prompt",
        id="tree.keep",
        show=False,
    ),
    key(
        "p",
        "screen.promote",
        "Promote",
        "Render the selected branch's final image on Ultra",
        id="tree.promote",
    ),
    key(
        "n",
        "screen.note",
        "Note",
        "Write a note on the selected round",
        id="tree.note",
    ),
    key(
        "e",
        "screen.export",
        "Export",
        "Export the round, its branch or the session",
        id="tree.export",
        show=False,
    ),
    key(
        "t",
        "screen.templates",
        "Templates",
        "Browse, apply or save templates",
        id="tree.templates",
        show=False,
    ),
    key(
        "R",
        "screen.retry",
        "Retry",
        "Run the selected failed attempt again",
        id="tree.retry",
        show=False,
    ),
    key(
        "o",
        "screen.sessions",
        "Sessions",
        "Every session: open, rename, delete",
        id="tree.sessions",
        show=False,
    ),
    key(
        "question_mark",
        "app.help",
        "Help",
        "Every key of this screen",
        id="tree.help",
        key_display="?",
    ),
    key("q", "app.quit", "Quit", "Quit ripen", id="tree.quit"),
]

PROMPT_BINDINGS: list[BindingType] = [
    key(
        "enter",
        "submit",
        "Refine",
        "Refine the current round with this instruction",
        id="prompt.refine",
        priority=True,
    ),
    key(
        "alt+enter,ctrl+j",
        "newline",
        "New line",
        "Add a line to the instruction",
        id="prompt.newline",
    ),
    key(
        "ctrl+f",
        "apply_suggestion",
        "Apply fix",
        "Apply the first warning's fix: append the keep clause, or split into rounds",
        id="prompt.fix",
    ),
    key(
        "ctrl+t",
        "screen.tier",
        "Tier",
        "Toggle the next round between Common and Ultra",
        id="prompt.tier",
    ),
    key(
        "ctrl+r",
        "screen.region",
        "Region",
        "Limit the next change to a region of the image",
        id="prompt.region",
    ),
    key(
        "escape",
        "screen.escape",
        "Tree",
        "Leave the prompt for the session tree and its keys; while a generation "
        "runs, cancel it",
        id="prompt.tree",
    ),
]


@dataclass(frozen=True)
class KeymapProblem:
    """One entry of the ``[keys]`` table that could not be used."""

    binding_id: str
    message: str


def binding_ids(tables: Iterable[Iterable[BindingType]]) -> set[str]:
    """The ids of every Binding in ``tables``."""
    return {
        binding.id
        for table in tables
        for binding in table
        if isinstance(binding, Binding) and binding.id
    }


def binding_by_id(binding_id: str) -> Binding:
    """One of this module's bindings, by id."""
    for table in (APP_BINDINGS, WORKSPACE_BINDINGS, TREE_BINDINGS, PROMPT_BINDINGS):
        for binding in table:
            if isinstance(binding, Binding) and binding.id == binding_id:
                return binding
    raise KeyError(binding_id)


def own_binding_ids() -> set[str]:
    """The ids this module defines."""
    return binding_ids(
        [APP_BINDINGS, WORKSPACE_BINDINGS, TREE_BINDINGS, PROMPT_BINDINGS]
    )


def load_keymap(
    table: Mapping[str, object], known: set[str]
) -> tuple[dict[str, str], list[KeymapProblem]]:
    """Turn a ``[keys]`` table into a Textual keymap, refusing what cannot work.

    Unknown ids and values that are not key names are reported, not raised: a typo
    in the config file should cost one binding, not the whole app.
    """
    keymap: dict[str, str] = {}
    problems: list[KeymapProblem] = []
    for binding_id, value in table.items():
        if binding_id not in known:
            problems.append(KeymapProblem(binding_id, "no binding has this id"))
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(
                KeymapProblem(binding_id, "the key must be a string such as 'ctrl+b'")
            )
            continue
        keymap[binding_id] = ",".join(part.strip() for part in value.split(","))
    return keymap, problems
