"""The session tree: every round and failed attempt of a session, drawn as branches.

A session is mostly one long line of refinements with the occasional fork, so the
tree does not nest a round under its parent when it is the only child: that would
indent a twenty-round session twenty levels deep. Rounds one after another are
lines at the same level, read top to bottom. Where a round has two or more children
(an A/B pair, a branch) each child's line goes under a branch heading of its own
(``branch A``, ``branch B``, in the order they were made, the winner marked),
nested under the round they grew from, so that what follows an alternative cannot
be read as one more alternative. Failed attempts sit dimmed under the round they
tried to refine. Nodes are built from the session's rows with nothing but string
work, so a session of thousands of rounds opens at once.

The tree does not pass Textual's ``NodeHighlighted`` on for every line the cursor
crosses: it posts :class:`SessionTree.Rested` once the cursor has stayed put for
``REST_DELAY``, so that a held key moves the cursor without the screen drawing every
round it passes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import BindingType
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from core.models import Attempt, Round
from core.models import Tree as SessionRounds
from tui.keys import TREE_BINDINGS
from tui.text import joined, line

Item = Round | Attempt

TIER_LABELS = {"common": "Common", "ultra": "Ultra"}
REST_DELAY = 0.015
"""Seconds the cursor must stay on a line before the tree reports it."""


def round_label(r: Round, current: bool) -> Text:
    """One round as a tree line: number, stage, tier, credits, star and winner."""
    marks = [("★", "bold yellow")] * r.starred + [("✓", "bold green")] * r.winner
    cost = (f"{TIER_LABELS.get(r.quality, r.quality)} {r.credits}cr", "dim")
    return line(
        ("● ", "bold dark_orange") if current else ("  ", ""),
        (f"#{r.number} ", "bold"),
        (f"{r.stage} ", ""),
        *joined([cost, *marks]),
    )


def attempt_label(a: Attempt) -> Text:
    """A failed attempt: dimmed, with its reason first."""
    reason = a.kind.replace("_", " ")
    first_line = a.instruction.splitlines()[0] if a.instruction else ""
    return Text(
        f"✗ {reason}: {first_line}",
        style="dim italic",
        no_wrap=True,
        overflow="ellipsis",
    )


def branch_label(index: int, head: Round, rounds: int) -> Text:
    """The heading of one line out of a fork: its letter, winner mark and length."""
    letter = chr(ord("A") + index) if index < 26 else str(index + 1)
    return line(
        (f"branch {letter}", "bold"),
        *([(" ✓", "bold green")] if head.winner else []),
        (f" · {rounds} round{'s' * (rounds != 1)}", "dim"),
    )


class SessionTree(Tree[Item]):
    """The rounds and attempts of one session."""

    BINDING_GROUP_TITLE = "Session tree"
    BINDINGS: ClassVar[list[BindingType]] = TREE_BINDINGS

    class Rested(Message):
        """The cursor has come to rest on a round, an attempt, or nothing."""

        def __init__(self, item: Item | None) -> None:
            super().__init__()
            self.item = item

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("session", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.nodes: dict[str, TreeNode[Item]] = {}
        self.current: str | None = None
        self._rest_timer: Timer | None = None

    def on_mount(self) -> None:
        # One paused timer, restarted by every move: cheaper than a new timer (and
        # its task) per line when a key is held down.
        self._rest_timer = self.set_interval(REST_DELAY, self._rested, pause=True)

    def _on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Item]) -> None:
        event.stop()
        self.settle()

    def settle(self) -> None:
        """Report the item under the cursor once it has rested for a moment."""
        if self._rest_timer is not None:
            self._rest_timer.reset()

    def _rested(self) -> None:
        if self._rest_timer is not None:
            self._rest_timer.pause()
        self.post_message(self.Rested(self.selected))

    def show(self, rounds: SessionRounds, cursor: str | None = None) -> None:
        """Rebuild from a session's rows and put the cursor on ``cursor`` (an id)."""
        self.clear()
        self.nodes = {}
        self.current = rounds.session.current_round
        children: dict[str | None, list[Round]] = defaultdict(list)
        for r in rounds.rounds:
            children[r.parent].append(r)
        attempts: dict[str | None, list[Attempt]] = defaultdict(list)
        for a in rounds.attempts:
            attempts[a.parent].append(a)

        def length(head: Round) -> int:
            """Rounds in the line that starts at ``head``, up to its end or fork."""
            count, kids = 1, children.get(head.id, [])
            while len(kids) == 1:
                count, kids = count + 1, children.get(kids[0].id, [])
            return count

        # Each entry is a line of rounds to lay out under a node. Lines are walked
        # with an explicit stack so that no branch depth can exhaust the recursion.
        lines: list[tuple[TreeNode[Item], Round]] = [
            (self.root, first) for first in reversed(children[None])
        ]
        while lines:
            where, step = lines.pop()
            while True:
                kids = children.get(step.id, [])
                failed = attempts.get(step.id, [])
                forks = len(kids) > 1
                label = round_label(step, step.id == self.current)
                node = self._append_node(
                    where, label, step, nested=forks or bool(failed)
                )
                for a in failed:
                    self._append_node(node, attempt_label(a), a)
                if len(kids) == 1:
                    step = kids[0]
                    continue
                # A heading per line out of the fork; its item is the line's first
                # round, so the keys and the preview act on that round there.
                headed = [
                    (self._heading(node, branch_label(n, kid, length(kid)), kid), kid)
                    for n, kid in enumerate(kids)
                ]
                lines.extend(reversed(headed))
                break
        for a in attempts.get(None, []):
            self._append_node(self.root, attempt_label(a), a)
        self._invalidate()
        self.select(cursor or self.current)

    def _heading(
        self, parent: TreeNode[Item], label: Text, head: Round
    ) -> TreeNode[Item]:
        """A branch heading: a node that holds a line, not a round of its own."""
        node = self._add_node(parent, label, head, expand=True)
        parent._children.append(node)
        return node

    def _append_node(
        self, parent: TreeNode[Item], label: Text, item: Item, nested: bool = False
    ) -> TreeNode[Item]:
        """Append a node without Tree.add's full refresh of the tree per node.

        ``TreeNode.add`` invalidates every cached line and schedules a layout each
        time it is called, which is most of the cost of building thousands of nodes;
        here the nodes are appended first and the tree is invalidated once.
        """
        node = self._add_node(parent, label, item, expand=nested)
        node._allow_expand = nested
        parent._children.append(node)
        self.nodes[item.id] = node
        return node

    # Textual's Tree lays out its lines again after every style change and resize,
    # though neither changes which lines there are; for a session of thousands of
    # rounds each layout costs tens of milliseconds, and opening the workspace brings
    # several. The drawn lines are still thrown away; the layout is kept.

    def notify_style_update(self) -> None:
        lines = self._tree_lines_cached
        super().notify_style_update()
        self._tree_lines_cached = lines

    def _on_resize(self, event: Resize) -> None:
        event.prevent_default()  # in place of Tree's handler, which does the same
        self._line_cache.grow(event.size.height)
        lines = self._tree_lines_cached
        self._invalidate()
        self._tree_lines_cached = lines

    def select(self, ident: str | None) -> None:
        """Move the cursor to a round or attempt by id (no-op if it is not here)."""
        node = self.nodes.get(ident or "")
        if node is None:
            return
        parent = node.parent
        while parent is not None and not parent.is_root:
            parent.expand()
            parent = parent.parent
        # A node's line is known only once the tree has laid out its lines again.
        self.call_after_refresh(self.move_cursor, node, animate=False)

    def process_label(self, label: str | Text) -> Text:
        # Labels made here are single-line Text already; Tree's default would split
        # every one of them into lines, which costs more than the rest of a node.
        return label if isinstance(label, Text) else Text(label.splitlines()[0])

    def get_label_width(self, node: TreeNode[Item]) -> int:
        # The width Tree would measure by rendering the label, without rendering it.
        icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        label = node.label
        width = label.cell_len if isinstance(label, Text) else cell_len(label)
        return width + (cell_len(icon) if node.allow_expand else 0)

    @property
    def selected(self) -> Item | None:
        """The round or attempt under the cursor."""
        node = self.cursor_node
        return node.data if node is not None else None

    def relabel(self, r: Round) -> None:
        """Redraw one round's line after its star or current mark changed."""
        node = self.nodes.get(r.id)
        if node is not None:
            node.data = r
            node.set_label(round_label(r, r.id == self.current))

    def set_current(self, r: Round) -> None:
        """Move the current-round mark without rebuilding the tree."""
        previous = self.nodes.get(self.current or "")
        self.current = r.id
        if previous is not None and isinstance(previous.data, Round):
            previous.set_label(round_label(previous.data, False))
        self.relabel(r)
