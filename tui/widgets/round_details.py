"""What a round is: its instruction, cost, timing, what was applied, the note.

Formatting is a pure function of the round (:func:`round_text`), so the compare
screen and the tests can use it without a widget.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.models import Attempt, Round

TIERS = {"common": "Common", "ultra": "Ultra"}


def money(usd: float | None, cost: int) -> str:
    """Dollars as known: a free round is $0, an unknown price says so."""
    if usd is not None:
        return f"${usd:.3f}"
    return "$0" if cost == 0 else "$ unknown"


def round_text(r: Round) -> Text:
    """A round's details as a few lines of text."""
    text = Text()
    text.append(f"#{r.number} {r.stage}", style="bold")
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
    text.append("  " + " · ".join(facts), style="dim")
    marks = (" ★ starred" if r.starred else "") + (" ✓ winner" if r.winner else "")
    if marks:
        text.append(marks, style="bold")
    text.append("\n")
    text.append(r.instruction or "(no instruction)")
    if r.applied:
        text.append("\napplied: ", style="green")
        text.append("; ".join(r.applied))
    if r.skipped:
        text.append("\nskipped: ", style="yellow")
        text.append("; ".join(r.skipped))
    if r.text:
        text.append("\nmodel: ", style="dim")
        text.append(r.text.strip())
    if r.note:
        text.append("\nnote: ", style="bold cyan")
        text.append(r.note)
    return text


def attempt_text(a: Attempt) -> Text:
    """A failed attempt's details: why it failed and what was asked."""
    text = Text()
    text.append(f"✗ {a.kind.replace('_', ' ')}", style="bold red")
    text.append(f"  {TIERS.get(a.quality, a.quality)} · {a.model or a.backend}")
    text.append(" · no credits charged", style="dim")
    text.append("\n")
    text.append(a.instruction or "(no instruction)")
    text.append("\n")
    text.append(a.message, style="italic")
    return text


class RoundDetails(Static):
    """The selected round's or attempt's details under its image."""

    def show(self, item: Round | Attempt | None) -> None:
        if item is None:
            self.update("")
        elif isinstance(item, Round):
            self.update(round_text(item))
        else:
            self.update(attempt_text(item))
