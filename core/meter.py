"""The credit meter: what a session has spent, what is left and what the plan costs.

Credits are the unit the guide budgets in (Common 20, Ultra 40, about 140 for a
finished image), so the meter speaks credits first. Dollars come from the service's
usage figures when it reports them; a round whose price is unknown stays unknown, and
a dollar total is only claimed as complete when every round's price is known.

The meter also answers the question the guide uses to argue for refinement: what the
same result would have cost as fresh regenerations. The model behind that figure is
written out on :func:`regeneration_estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from core.backends import credits_for
from core.errors import NotFound
from core.library import get_template, steps_done

if TYPE_CHECKING:
    from core.backends.base import Quality
    from core.engine import Engine
    from core.models import Round, Session, Tree

Level = Literal["ok", "amber", "red"]

AMBER_AT = 0.8
RED_AT = 1.0
DEFAULT_BUDGET = 140


@dataclass(frozen=True)
class Projection:
    """The active template's steps not yet done, priced at their tiers."""

    template: str
    steps_done: int
    steps_total: int
    credits: int

    @property
    def steps_left(self) -> int:
        return self.steps_total - self.steps_done

    def to_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "steps_done": self.steps_done,
            "steps_left": self.steps_left,
            "steps_total": self.steps_total,
            "credits": self.credits,
        }


@dataclass(frozen=True)
class Regeneration:
    """What the current branch would have cost as fresh regenerations."""

    branch_rounds: int
    regenerations: int
    credits: int
    branch_credits: int

    def to_json(self) -> dict[str, Any]:
        return {
            "branch_rounds": self.branch_rounds,
            "regenerations": self.regenerations,
            "credits": self.credits,
            "branch_credits": self.branch_credits,
        }


@dataclass(frozen=True)
class Meter:
    """A session's spending against its budget."""

    session: str
    budget: int
    hard_budget: bool
    spent: int
    rounds: int
    common_rounds: int
    ultra_rounds: int
    usd_known: float
    usd_unknown_rounds: int
    projection: Projection | None
    regeneration: Regeneration

    @property
    def remaining(self) -> int:
        """Credits left; negative once the budget is overrun."""
        return self.budget - self.spent

    @property
    def fraction(self) -> float:
        return self.spent / self.budget if self.budget > 0 else 0.0

    @property
    def level(self) -> Level:
        """``ok``, ``amber`` from 80% of the budget, ``red`` from 100%."""
        if self.fraction >= RED_AT:
            return "red"
        if self.fraction >= AMBER_AT:
            return "amber"
        return "ok"

    @property
    def usd(self) -> float | None:
        """The dollar total, or None while any round's price is unknown."""
        return None if self.usd_unknown_rounds else self.usd_known

    @property
    def projected_total(self) -> int:
        """Spent plus what the rest of the active template would cost."""
        return self.spent + (self.projection.credits if self.projection else 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "budget": self.budget,
            "hard_budget": self.hard_budget,
            "spent": self.spent,
            "remaining": self.remaining,
            "fraction": round(self.fraction, 4),
            "level": self.level,
            "rounds": self.rounds,
            "common_rounds": self.common_rounds,
            "ultra_rounds": self.ultra_rounds,
            "usd": None if self.usd is None else round(self.usd, 6),
            "usd_known": round(self.usd_known, 6),
            "usd_unknown_rounds": self.usd_unknown_rounds,
            "projection": self.projection.to_json() if self.projection else None,
            "projected_total": self.projected_total,
            "regeneration": self.regeneration.to_json(),
        }

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [
            f"{self.spent} of {self.budget} credits spent, {self.remaining} left "
            f"({self.level})",
            f"{self.rounds} rounds: {self.common_rounds} Common, "
            f"{self.ultra_rounds} Ultra",
            f"dollars: {format_usd(self.usd_known, self.usd_unknown_rounds)}",
        ]
        if self.projection is not None:
            p = self.projection
            lines.append(
                f"template {p.template}: {p.steps_left} of {p.steps_total} steps "
                f"left, {p.credits} credits more ({self.projected_total} in all)"
            )
        r = self.regeneration
        if r.branch_rounds:
            lines.append(
                f"as fresh regenerations this branch would take about "
                f"{r.regenerations} generations, {r.credits} credits "
                f"(refined: {r.branch_credits})"
            )
        return "\n".join(lines)


def format_usd(known: float, unknown_rounds: int) -> str:
    """Dollars as a person reads them: unknown prices are said, never zeroed."""
    if not unknown_rounds:
        return f"${known:.3f}"
    noun = "round" if unknown_rounds == 1 else "rounds"
    if known:
        return f"${known:.3f} + unknown ({unknown_rounds} {noun})"
    return f"unknown ({unknown_rounds} {noun})"


def round_usd(r: Round) -> float | None:
    """A round's dollars: as reported, 0 for a free round, None when unknown."""
    if r.usd is not None:
        return r.usd
    return 0.0 if r.credits == 0 else None


def regeneration_estimate(branch_rounds: int) -> int:
    """Fresh generations needed to reach a branch's result without refinement.

    The model: each round of a refined branch is replayed as an independent
    regeneration whose prompt must restate every change made so far. A fresh
    generation keeps nothing from the last one, so the k-th result has to land all k
    changes at once and any of them can be lost; we count one try plus one retry per
    change it must hold, k + 1 generations for the k-th round. A five-round branch
    thus needs 2 + 3 + 4 + 5 + 6 = 20 generations, the guide's own "20+
    regenerations" for a result refinement reaches in five rounds. Each generation
    is priced at Common, the tier one would explore with.
    """
    return sum(k + 1 for k in range(1, branch_rounds + 1))


def meter(engine: Engine, session_id: str, tree: Tree | None = None) -> Meter:
    """The credit meter of one session.

    ``tree`` is the session as the caller has just read it, which saves reading a
    large session twice.
    """
    if tree is None:
        tree = engine.tree(session_id)
    session = tree.session
    rounds = tree.rounds
    usd_known = 0.0
    unknown = 0
    for r in rounds:
        usd = round_usd(r)
        if usd is None:
            unknown += 1
        else:
            usd_known += usd
    branch = tree.branch(session.current_round)
    common_price = engine.config.credits_common
    regenerations = regeneration_estimate(len(branch))
    return Meter(
        session=session.id,
        budget=session.budget or DEFAULT_BUDGET,
        hard_budget=session.hard_budget,
        spent=sum(r.credits for r in rounds),
        rounds=len(rounds),
        common_rounds=sum(1 for r in rounds if r.quality == "common"),
        ultra_rounds=sum(1 for r in rounds if r.quality == "ultra"),
        usd_known=usd_known,
        usd_unknown_rounds=unknown,
        projection=_projection(engine, session, branch),
        regeneration=Regeneration(
            branch_rounds=len(branch),
            regenerations=regenerations,
            credits=regenerations * common_price,
            branch_credits=sum(r.credits for r in branch),
        ),
    )


def tier_credits(engine: Engine, backend: str, tier: str) -> int:
    """Credits one round at ``tier`` costs on a session's backend."""
    quality: Quality = "ultra" if tier == "ultra" else "common"
    built = engine.loaded_backend(backend)
    if built is not None:
        return int(built.credits_for(quality))
    return credits_for(backend, engine.config, quality)


def _projection(
    engine: Engine, session: Session, branch: list[Round]
) -> Projection | None:
    if not session.template:
        return None
    try:
        template = get_template(engine, session.template)
    except NotFound:
        return None
    done = min(steps_done(branch), len(template.steps))
    cost = sum(
        tier_credits(engine, session.backend, step.tier)
        for step in template.steps[done:]
    )
    return Projection(
        template=template.name,
        steps_done=done,
        steps_total=len(template.steps),
        credits=cost,
    )
