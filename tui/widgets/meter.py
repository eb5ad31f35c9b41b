"""The credit meter on top of the workspace: what was spent and what is coming.

It shows :class:`core.meter.Meter` as one line: a bar, credits spent of the budget,
the Common and Ultra round counts, dollars, and what the active template's remaining
steps would add. The bar turns amber at 80% of the budget and red at 100%; the
widget also carries the level as a CSS class so the stylesheet can mark the border.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.meter import Meter, format_usd
from tui.text import Piece, joined, line

BAR_CELLS = 20
LEVEL_STYLES = {"ok": "green", "amber": "#ffb000", "red": "bold red"}


def meter_bar(fraction: float, cells: int = BAR_CELLS) -> str:
    """A bar of ``cells`` characters, full at 100% and never longer."""
    filled = max(0, min(cells, round(fraction * cells)))
    return "█" * filled + "░" * (cells - filled)


def meter_text(m: Meter, title: str = "", bar: int = BAR_CELLS) -> Text:
    """The meter as one line of text, its bar ``bar`` cells long."""
    style = LEVEL_STYLES[m.level]
    spent = f"{m.spent}/{m.budget} credits"
    if m.remaining < 0:
        spent += f" ({-m.remaining} over)"
    counts = f"{m.common_rounds} Common · {m.ultra_rounds} Ultra"
    parts: list[Piece] = [
        (f"{meter_bar(m.fraction, bar)} {spent}", style),
        (counts, ""),
        (format_usd(m.usd_known, m.usd_unknown_rounds), ""),
    ]
    if m.projection is not None:
        p = m.projection
        plan = f"plan: {p.steps_left} steps, +{p.credits} → {m.projected_total}"
        if p.steps_left == 0:
            plan = f"plan: {p.template} done"
        parts.append((plan, "dim"))
    title_piece: Piece = (f"{title}  ", "bold") if title else ("", "")
    return line(title_piece, *joined(parts, " · "))


def fitted_title(title: str, room: int) -> str:
    """``title`` cut with an ellipsis to ``room`` cells; none if room is too small."""
    if room < 8:
        return ""
    text = Text(title)
    text.truncate(room, overflow="ellipsis")
    return text.plain


class CreditMeter(Static):
    """One session's spending against its budget, after the session's title.

    The title gives way to the figures: a long one is cut so that the dollars and
    the plan stay on the line.
    """

    shown: tuple[Meter, str] | None = None

    def show(self, m: Meter, title: str = "") -> None:
        self.shown = (m, title)
        self._draw()
        for level in ("ok", "amber", "red"):
            self.set_class(m.level == level, f"-{level}")

    def on_resize(self) -> None:
        if self.shown is not None:
            self._draw()

    def _draw(self) -> None:
        assert self.shown is not None
        m, title = self.shown
        width = self.content_size.width
        bar = BAR_CELLS
        if title and width:
            room = width - meter_text(m).cell_len - 2
            if room < min(len(title), 24):  # a narrow terminal: a shorter bar
                bar = BAR_CELLS // 2
                room += BAR_CELLS - bar
            title = fitted_title(title, room)
        self.update(meter_text(m, title, bar))
