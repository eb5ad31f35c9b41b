"""The credit meter: spent, remaining, thresholds, dollars and projections."""

from __future__ import annotations

import pytest

from core.engine import Engine
from core.meter import format_usd, meter, regeneration_estimate
from tests.paid_backend import PaidBackend, charging_engine


@pytest.fixture
def paid() -> tuple[Engine, PaidBackend]:
    return charging_engine()


def test_spent_remaining_and_tier_counts(paid: tuple[Engine, PaidBackend]) -> None:
    engine, _ = paid
    base = engine.new_session("a luxury watch on dark wood", backend="paid")
    r2 = engine.refine(base.id, "move the watch higher and more centred")
    r3 = engine.refine(r2.id, "soften the shadows slightly")
    engine.promote(r3.id)

    m = meter(engine, base.session)

    assert (m.spent, m.budget, m.remaining) == (20 * 3 + 40, 140, 40)
    assert (m.rounds, m.common_rounds, m.ultra_rounds) == (4, 3, 1)
    assert m.level == "ok"  # 100 of 140 is 71%
    assert m.usd == pytest.approx(4 * 0.039)
    data = m.to_json()
    assert data["spent"] == 100 and data["remaining"] == 40
    assert data["usd"] == pytest.approx(0.156) and data["usd_unknown_rounds"] == 0


def test_thresholds_amber_at_80_and_red_at_100_percent(
    paid: tuple[Engine, PaidBackend],
) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid", budget=100)
    levels = [meter(engine, base.session).level]  # 20 of 100
    current = base.id
    for text in ("crop tighter", "warmer light", "sharpen the face", "more contrast"):
        current = engine.refine(current, text, over_budget=True).id
        levels.append(meter(engine, base.session).level)

    # 20, 40, 60, 80, 100 credits of 100
    assert levels == ["ok", "ok", "ok", "amber", "red"]
    engine.refine(current, "slightly cooler", over_budget=True)
    over = meter(engine, base.session)
    assert over.remaining == -20 and over.level == "red"


def test_unknown_dollars_are_never_counted_as_zero(
    paid: tuple[Engine, PaidBackend],
) -> None:
    engine, backend = paid
    backend.prices = [0.039, None, 0.134]
    base = engine.new_session("a watch", backend="paid")
    r2 = engine.refine(base.id, "crop tighter")
    engine.refine(r2.id, "final polish", quality="ultra")

    m = meter(engine, base.session)

    assert m.usd is None  # not complete, so no total is claimed
    assert m.usd_known == pytest.approx(0.173)
    assert m.usd_unknown_rounds == 1
    data = m.to_json()
    assert data["usd"] is None and data["usd_known"] == pytest.approx(0.173)
    assert "unknown (1 round)" in m.summary()
    assert format_usd(0.0, 2) == "unknown (2 rounds)"
    assert format_usd(0.173, 0) == "$0.173"


def test_free_local_style_rounds_cost_known_zero_dollars(
    paid: tuple[Engine, PaidBackend],
) -> None:
    engine, _ = paid
    free = engine.new_session("a watch", backend="paid", budget=140)
    # A round with no credits and no reported price is free, not unknown.
    engine.store.db.execute("UPDATE rounds SET credits = 0, usd = NULL")

    m = meter(engine, free.session)

    assert (m.spent, m.usd, m.usd_unknown_rounds) == (0, 0.0, 0)


def test_session_budget_is_configurable(paid: tuple[Engine, PaidBackend]) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid", budget=400)

    m = meter(engine, base.session)

    assert (m.budget, m.remaining, m.level) == (400, 380, "ok")


def test_regeneration_comparison_follows_the_guide() -> None:
    # One try plus one retry per change held: k + 1 generations for round k.
    assert [regeneration_estimate(n) for n in range(6)] == [0, 2, 5, 9, 14, 20]


def test_regeneration_comparison_prices_the_current_branch(
    paid: tuple[Engine, PaidBackend],
) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid")
    current = base.id
    for text in ("crop tighter", "warmer light", "sharpen the face"):
        current = engine.refine(current, text).id
    engine.refine(base.id, "an abandoned branch")  # not on the current branch
    engine.restore(current)
    final = engine.promote(current)

    r = meter(engine, base.session).regeneration

    assert r.branch_rounds == 5 and r.regenerations == 20
    assert r.credits == 400  # the guide's "400+ credits"
    assert r.branch_credits == 20 * 4 + 40 == final.credits + 80


def test_projection_prices_the_rest_of_the_active_template(
    paid: tuple[Engine, PaidBackend],
) -> None:
    from core import library

    engine, _ = paid
    base = engine.new_session("a watch", backend="paid")
    r2 = engine.refine(base.id, "move the watch higher")
    template = library.get_template(engine, "product")
    library.apply(engine, base.session, "product")

    m = meter(engine, base.session)

    assert m.projection is not None
    assert m.projection.steps_done == 1
    left = template.steps[1:]
    expected = sum(40 if s.tier == "ultra" else 20 for s in left)
    assert m.projection.credits == expected
    assert m.projected_total == m.spent + expected
    engine.refine(r2.id, "soften the shadows")
    later = meter(engine, base.session)
    assert later.projection is not None
    assert later.projection.steps_done == 2
    assert later.projection.credits == expected - (
        40 if template.steps[1].tier == "ultra" else 20
    )


def test_no_template_means_no_projection(paid: tuple[Engine, PaidBackend]) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid")

    m = meter(engine, base.session)

    assert m.projection is None and m.projected_total == m.spent
    assert m.to_json()["projection"] is None
