"""Two rounds side by side, to pick the better one.

``CompareScreen(engine, left_round_id, right_round_id)`` shows each round's image as
large as its half of the terminal allows, with its instruction, tier, model, credits,
dollars and time. The left or right arrow (or 1 or 2) marks that round the winner
among its siblings through ``engine.mark_winner``; ``s`` swaps the sides; Escape goes
back without marking anything.

The round that opens on the left is A and the other B (for an A/B pair, the
workspace passes them in the A/B dialog's order), and they keep those names when
the sides swap: a letter names a round, the keys name a side, and each side's
border says which round its keys pick.

The screen answers through ``dismiss``: the winning round's id, or ``None``.
Images are drawn by :class:`~tui.widgets.preview.ImagePanel` from the app's preview
cache, so a 4K round is decoded once, on a worker thread, not on every redraw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from core.engine import Engine
from core.models import Round
from tui.errors import WRITE_FAILURES, AnswersOnce, show_failure
from tui.keys import key
from tui.widgets.preview import ImagePanel

if TYPE_CHECKING:
    from tui.app import RipenApp


def cost_line(r: Round) -> str:
    """Tier, model, credits, dollars and time of a round, on one line."""
    dollars = "$ unknown" if r.usd is None else f"${r.usd:.3f}"
    parts = [r.quality.capitalize(), r.model or r.backend, f"{r.credits} credits"]
    parts.append(dollars)
    if r.latency is not None:
        parts.append(f"{r.latency:.1f} s")
    return " · ".join(parts)


def pane_title(r: Round, letter: str) -> str:
    """The border title of a round's side: its letter, number, stage and marks."""
    marks = "  ✓ winner so far" if r.winner else ""
    marks += "  ★" if r.starred else ""
    return f"{letter} · #{r.number} · {r.stage}{marks}"


class RoundPane(Vertical):
    """One side of the comparison: image, instruction and cost."""

    def __init__(self, side: str) -> None:
        super().__init__(id=f"compare-{side}", classes="pane")
        self.side = side
        self.round: Round | None = None

    def compose(self) -> ComposeResult:
        app = cast("RipenApp", self.app)
        yield ImagePanel(app.image_class, app.previews, classes="compare-image")
        yield Static("", classes="instruction", markup=False)
        yield Label("", classes="cost", markup=False)

    def show(self, r: Round, letter: str) -> None:
        """Show ``r`` on this side under its letter, A or B."""
        self.round = r
        keys = "← or 1" if self.side == "left" else "→ or 2"
        self.border_title = pane_title(r, letter)
        self.border_subtitle = f"{keys} picks {letter}"
        self.set_class(r.winner, "-winner")
        self.query_one(ImagePanel).show(
            r.image_sha, r.image, f"Round {r.number} has no image."
        )
        note = f"\nnote: {r.note}" if r.note else ""
        self.query_one(".instruction", Static).update(
            (r.instruction or "(no instruction)") + note
        )
        self.query_one(".cost", Label).update(cost_line(r))


class CompareScreen(AnswersOnce, Screen[str | None]):
    """Pick the winner of two rounds shown side by side."""

    CSS_PATH = "../screens.tcss"
    BINDING_GROUP_TITLE = "Compare"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "left,1",
            "pick('left')",
            "Left wins",
            "Mark the left round the winner and continue from it",
            id="compare.pick_left",
            key_display="← 1",
        ),
        key(
            "right,2",
            "pick('right')",
            "Right wins",
            "Mark the right round the winner and continue from it",
            id="compare.pick_right",
            key_display="→ 2",
        ),
        key(
            "s",
            "swap",
            "Swap sides",
            "Swap the two sides; A and B keep their names, the keys follow the sides",
            id="compare.swap",
        ),
        key(
            "escape,q",
            "back",
            "Back",
            "Go back without picking a winner",
            id="compare.back",
        ),
    ]

    def __init__(self, engine: Engine, left_round_id: str, right_round_id: str) -> None:
        super().__init__()
        self.engine = engine
        self.left = engine.round(left_round_id)
        self.right = engine.round(right_round_id)
        # Letters name rounds, not sides, so they stay put when the sides swap.
        self.letters = {self.left.id: "A", self.right.id: "B"}

    def compose(self) -> ComposeResult:
        yield Label(
            self._heading(), id="compare-heading", classes="heading", markup=False
        )
        with Horizontal(id="compare-panes"):
            yield RoundPane("left")
            yield RoundPane("right")
        yield Footer()

    def _heading(self) -> str:
        title = self.engine.session(self.left.session).title
        if self.left.parent and self.left.parent == self.right.parent:
            parent = self.engine.round(self.left.parent)
            relation = f"A and B, two refinements of #{parent.number}"
        else:
            relation = f"A #{self.left.number} and B #{self.right.number}"
        return f"Compare · {title} · {relation}"

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        for side, r in (("left", self.left), ("right", self.right)):
            pane = self.query_one(f"#compare-{side}", RoundPane)
            pane.show(r, self.letters[r.id])

    def action_pick(self, side: str) -> None:
        chosen = self.left if side == "left" else self.right
        try:
            self.engine.mark_winner(chosen.id)
        except WRITE_FAILURES as error:
            show_failure(self, error, "marking the winner")
            return
        self.dismiss(chosen.id)

    def action_swap(self) -> None:
        self.left, self.right = self.right, self.left
        self._show()

    def action_back(self) -> None:
        self.dismiss(None)
