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

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.keys import Keys, _character_to_key


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

# Tab and Shift+Tab move the focus as the key arrives: Textual's own bindings wait
# behind the keys before them, so letters typed right after Tab in one burst (a
# slow SSH link) went to the field Tab was leaving (in the tree, as commands).
FOCUS_BINDINGS: list[BindingType] = [
    key(
        "tab",
        "app.focus_next",
        "Next",
        "Move to the next field",
        id="focus.next",
        show=False,
        priority=True,
    ),
    key(
        "shift+tab",
        "app.focus_previous",
        "Previous",
        "Move to the previous field",
        id="focus.previous",
        show=False,
        priority=True,
    ),
]

WORKSPACE_BINDINGS: list[BindingType] = [
    *FOCUS_BINDINGS,
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
        priority=True,  # see WorkspaceScreen.action_focus_prompt
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
        "Export the round's image with its branch's contact sheet and report",
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

# The lists of sessions and templates move with j and k as the tree does.
LIST_BINDINGS: list[BindingType] = [
    key("j", "cursor_down", "Down", "Next in the list", id="list.down", show=False),
    key("k", "cursor_up", "Up", "Previous in the list", id="list.up", show=False),
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
        priority=True,
    ),
    key(
        "ctrl+f",
        "apply_suggestion",
        "Apply fix",
        "Apply the first warning's fix: append the keep clause, or split into rounds",
        id="prompt.fix",
        priority=True,
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
        [
            APP_BINDINGS,
            WORKSPACE_BINDINGS,
            TREE_BINDINGS,
            PROMPT_BINDINGS,
            LIST_BINDINGS,
        ]
    )


def binding_groups(screen_tables: Iterable[list[BindingType]]) -> list[list[Binding]]:
    """The bindings that answer keys at the same time, one list per situation:
    the tree, the prompt, and each other screen (with the app's keys and the list
    keys in every one). A key can mean one thing per group."""

    def bindings(*tables: list[BindingType]) -> list[Binding]:
        return [b for table in tables for b in table if isinstance(b, Binding)]

    return [
        bindings(APP_BINDINGS, WORKSPACE_BINDINGS, TREE_BINDINGS),
        bindings(APP_BINDINGS, WORKSPACE_BINDINGS, PROMPT_BINDINGS),
        *(bindings(APP_BINDINGS, LIST_BINDINGS, table) for table in screen_tables),
    ]


_MODIFIERS = frozenset({"ctrl", "alt", "shift", "super", "meta", "hyper"})
# Modifiers that keep a key from being typed as text.
_COMMAND_MODIFIERS = _MODIFIERS - {"shift"}
# The names Textual gives printable characters ("slash", "question_mark", "space").
_CHARACTER_NAMES = frozenset(_character_to_key(chr(code)) for code in range(32, 127))
_KEY_NAMES = (
    frozenset(key.value for key in Keys)
    | _CHARACTER_NAMES
    | {"enter", "tab", "space", "backspace", "delete", "insert", "escape"}
)


# Keys a terminal sends as other keys: Ctrl+M is Enter, Ctrl+I is Tab, Ctrl+[ is Esc.
_SENT_AS = {"ctrl+m": "enter", "ctrl+i": "tab", "ctrl+left_square_bracket": "escape"}

# Priority bindings whose action lets the key through when the focus is where it
# would be typed (the prompt, the filter): printable keys are fine for them.
PASSES_WHILE_TYPING = frozenset({"workspace.prompt", "sessions.filter"})


def _key_problem(key_name: str, typing: bool) -> str | None:
    """Why ``key_name`` cannot be used (for a binding that works while typing, if
    ``typing``), or None."""
    *modifiers, base = key_name.split("+")
    if not key_name:
        return "a key is missing between the commas"
    unknown = [m for m in modifiers if m not in _MODIFIERS]
    if unknown or not base:
        return f"{key_name!r} is not a key name (modifiers are ctrl, alt, shift)"
    if len(base) != 1 and base not in _KEY_NAMES:
        return f"{key_name!r} is not a key name such as 'b', 'ctrl+b' or 'f5'"
    if key_name in _SENT_AS:
        return f"terminals send {key_name!r} as {_SENT_AS[key_name]!r}"
    if len(base) == 1 and base.isalpha() and "shift" in modifiers:
        return f"a shifted letter is written as itself: {base.upper()!r}"
    if len(base) == 1 and base.isupper() and modifiers:
        return f"write {key_name.lower()!r}: with ctrl or alt, a letter has one case"
    printable = len(base) == 1 or base in _CHARACTER_NAMES
    if typing and printable and not _COMMAND_MODIFIERS.intersection(modifiers):
        return (
            f"{key_name!r} is typed as text while this key works; choose one with "
            "ctrl or alt"
        )
    return None


def load_keymap(
    table: Mapping[str, object], groups: list[list[Binding]]
) -> tuple[dict[str, str], list[KeymapProblem]]:
    """Turn a ``[keys]`` table into a Textual keymap, refusing what cannot work.

    Unknown ids, values that are not key names, a printable key for a binding that
    works while the user types, and a key another binding of the same screen
    already answers to are reported, not raised: a mistake in the config file
    should cost one binding, not the whole app (or the letter j).
    """
    by_id = {b.id: b for group in groups for b in group if b.id}
    keymap: dict[str, str] = {}
    problems: list[KeymapProblem] = []
    for binding_id, value in table.items():
        binding = by_id.get(binding_id)
        if binding is None:
            problems.append(KeymapProblem(binding_id, "no binding has this id"))
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(
                KeymapProblem(binding_id, "the key must be a string such as 'ctrl+b'")
            )
            continue
        keys = [part.strip() for part in value.split(",")]
        typing = binding_id not in PASSES_WHILE_TYPING and (
            binding.priority or binding in PROMPT_BINDINGS
        )
        problem = next(
            (found for k in keys if (found := _key_problem(k, typing)) is not None),
            None,
        )
        if problem is not None:
            problems.append(KeymapProblem(binding_id, problem))
            continue
        keymap[binding_id] = ",".join(keys)
    # Dropping one remap gives its binding back its own key, which may be one an
    # earlier remap took: check again until nothing changes.
    clashed = True
    while clashed:
        clashed = False
        for binding_id in list(keymap):
            clash = _clash(binding_id, keymap, groups)
            if clash is not None:
                del keymap[binding_id]
                problems.append(KeymapProblem(binding_id, clash))
                clashed = True
    return keymap, problems


def _clash(
    binding_id: str, keymap: Mapping[str, str], groups: list[list[Binding]]
) -> str | None:
    """Why the remapped ``binding_id`` would take a key from another binding."""
    mine = set(keymap[binding_id].split(","))
    for group in groups:
        if not any(b.id == binding_id for b in group):
            continue
        for other in group:
            if other.id == binding_id:
                continue
            theirs = set((keymap.get(other.id or "") or other.key).split(","))
            shared = sorted(mine & theirs)
            if shared:
                named = f"{other.description!r}" if other.description else "a key"
                if other.id:
                    named += f" ({other.id})"
                return f"{shared[0]!r} already means {named} on the same screen"
    return None


def after_earlier_keys(action: Callable[..., Any]) -> Callable[..., None]:
    """Run a priority binding's action once the keys typed before it are handled.

    A priority binding runs as soon as its key reaches the app, while the keys
    before it may still wait in the focused widget's queue: text typed fast, or
    arriving in one burst over a slow SSH link, followed by Enter would be read
    without its last letters. Queuing the action behind those keys keeps the order
    in which they were typed.
    """

    @functools.wraps(action)
    def queued(self: DOMNode, *args: Any) -> None:
        target = self.app.focused or self
        target.call_later(action, self, *args)

    return queued
