"""The stop checklist: six questions that tell a user a branch is finished.

The guide's advice on when to stop is a short list of things that must all hold
before the final render. A user ticks each item on the round where it became true;
because later rounds build on earlier ones, a branch counts an item as done when any
round on its path ticked it. Ticks live in the ``checks`` table, one row per round
and item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import BadInput
from core.store import now_iso

if TYPE_CHECKING:
    from core.engine import Engine

ITEMS: dict[str, str] = {
    "composition-locked": "Composition locked: nothing needs moving",
    "lighting-right": "Lighting right: shadows and highlights look natural",
    "details-sharp": "Details sharp: the important parts are crisp",
    "style-consistent": "Style consistent: one artistic direction throughout",
    "mood-achieved": "Mood achieved: the feeling matches the intent",
    "no-technical-flaws": "No technical flaws: no artifacts, colour or contrast faults",
}


@dataclass(frozen=True)
class Item:
    """One checklist item on a branch, with the round that ticked it."""

    item: str
    label: str
    round: str | None = None
    number: int | None = None

    @property
    def done(self) -> bool:
        return self.round is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "label": self.label,
            "done": self.done,
            "round": self.round,
            "number": self.number,
        }


@dataclass(frozen=True)
class Checklist:
    """The checklist of the branch ending at ``round``."""

    round: str
    items: list[Item]

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.done)

    @property
    def complete(self) -> bool:
        return self.done == len(self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "done": self.done,
            "total": len(self.items),
            "complete": self.complete,
            "items": [item.to_json() for item in self.items],
        }

    def summary(self) -> str:
        lines = [f"{self.done} of {len(self.items)} done"]
        for item in self.items:
            mark = "[x]" if item.done else "[ ]"
            where = f"  (round {item.number})" if item.done else ""
            lines.append(f"{mark} {item.item}{where}")
        return "\n".join(lines)


def resolve_item(name: str) -> str:
    """The item a user meant: its full name, or a prefix only one item starts with."""
    wanted = name.strip().lower().replace("_", "-").replace(" ", "-")
    if wanted in ITEMS:
        return wanted
    matches = [item for item in ITEMS if item.startswith(wanted)] if wanted else []
    if len(matches) == 1:
        return matches[0]
    raise BadInput(f"No checklist item {name!r}; choose one of: {', '.join(ITEMS)}.")


def tick(engine: Engine, round_id: str, item: str, on: bool = True) -> Checklist:
    """Tick (or untick) an item on a round and return its branch's checklist.

    Unticking removes only this round's tick: a tick on an earlier round of the
    branch still counts, and the returned checklist says which round holds it.
    """
    name = resolve_item(item)
    current = engine.round(round_id)
    with engine.store.transaction() as db:
        if on:
            db.execute(
                "INSERT OR IGNORE INTO checks (round, item, created) VALUES (?, ?, ?)",
                [current.id, name, now_iso()],
            )
        else:
            db.execute(
                "DELETE FROM checks WHERE round = ? AND item = ?", [current.id, name]
            )
    return checklist(engine, current.id)


def checklist(engine: Engine, round_id: str) -> Checklist:
    """The union of the ticks on every round from the first one to ``round_id``."""
    branch = engine.path(round_id)
    ids = [r.id for r in branch]
    numbers = {r.id: r.number for r in branch}
    marks = ", ".join("?" for _ in ids)
    rows = engine.store.all(
        f"SELECT round, item FROM checks WHERE round IN ({marks})", ids
    )
    first: dict[str, str] = {}
    # The earliest round that ticked an item is where it became true on this branch.
    for row in sorted(rows, key=lambda row: numbers[row["round"]]):
        first.setdefault(row["item"], row["round"])
    items = [
        Item(
            item=name,
            label=label,
            round=first.get(name),
            number=numbers[first[name]] if name in first else None,
        )
        for name, label in ITEMS.items()
    ]
    return Checklist(round=branch[-1].id, items=items)
