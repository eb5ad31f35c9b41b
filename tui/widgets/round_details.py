"""What a round is: its id, instruction, cost, timing, what was applied, the note.

The id comes first after the round's number because it is what every command of
the command line takes (``ripen show``, ``ripen export``), and nothing else in the
interface shows it.

Formatting is a pure function of the round (:func:`round_text`), so the compare
screen and the tests can use it without a widget.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.models import Attempt, Round
from tui.text import Piece, joined, line

TIERS = {"common": "Common", "ultra": "Ultra"}


def money(usd: float | None, cost: int) -> str:
    """Dollars as known: a free round is $0, an unknown price says so."""
    if usd is not None:
        return f"${usd:.3f}"
    return "$0" if cost == 0 else "$ unknown"


def id_piece(round_id: str) -> Piece:
    """A round's id as the command line takes it (``ripen show k3m9qa``)."""
    return (f"id {round_id} ", "bold cyan")


def round_text(r: Round) -> Text:
    """A round's details as a few lines of text."""
    facts = [
        TIERS.get(r.quality, r.quality),
        r.model or r.backend,
        f"{r.credits} credits",
        money(r.usd, r.credits),
    ]
    if r.latency is not None:
        facts.append(f"{r.latency:.1f} s")
    if r.region:
        facts.append(f"region: {r.region}")
    if r.width and r.height:
        facts.append(f"{r.width}×{r.height}")
    marks = [("★ starred", "bold")] * r.starred + [("✓ winner", "bold")] * r.winner
    heading = (f"#{r.number} {r.stage} ", "bold")
    text = line(
        *joined([heading, id_piece(r.id), (" · ".join(facts), "dim"), *marks]),
        wrap=True,
    )
    text.append("\n")
    text.append(r.instruction or "(no instruction)")
    for label, style, value in (
        ("applied: ", "green", "; ".join(r.applied)),
        ("skipped: ", "yellow", "; ".join(r.skipped)),
        ("model: ", "dim", r.text.strip()),
        ("note: ", "bold cyan", r.note),
    ):
        if value:
            text.append("\n")
            text.append(label, style=style)
            text.append(value)
    return text


def attempt_text(a: Attempt) -> Text:
    """A failed attempt's details: why it failed and what was asked."""
    text = line(
        (f"✗ {a.kind.replace('_', ' ')}  ", "bold red"),
        id_piece(a.id),
        (f"{TIERS.get(a.quality, a.quality)} · {a.model or a.backend} · ", ""),
        ("no credits charged", "dim"),
        wrap=True,
    )
    text.append("\n")
    text.append(a.instruction or "(no instruction)")
    text.append("\n")
    text.append(a.message, style="italic")
    return text


class RoundDetails(Static):
    """The selected round's or attempt's details under its image.

    The stylesheet gives it a fixed height, so the image above keeps its size from
    round to round and showing another round needs no new layout.
    """

    def show(self, item: Round | Attempt | None) -> None:
        if item is None:
            text = Text()
        elif isinstance(item, Round):
            text = round_text(item)
        else:
            text = attempt_text(item)
        self.update(text, layout=False)
