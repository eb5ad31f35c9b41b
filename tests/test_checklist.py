"""The stop checklist: ticks on rounds, unioned along a branch."""

from __future__ import annotations

import pytest

from core.checklist import ITEMS, checklist, resolve_item, tick
from core.engine import Engine
from core.errors import BadInput
from tests.test_meter import charging_engine


@pytest.fixture
def engine() -> Engine:
    return charging_engine()[0]


def test_the_six_items_of_the_guide() -> None:
    assert list(ITEMS) == [
        "composition-locked",
        "lighting-right",
        "details-sharp",
        "style-consistent",
        "mood-achieved",
        "no-technical-flaws",
    ]


def test_a_branch_counts_ticks_on_every_round_of_its_path(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid")
    r2 = engine.refine(base.id, "move the watch higher")
    r3 = engine.refine(r2.id, "soften the shadows")
    sibling = engine.refine(r2.id, "harder shadows")

    tick(engine, r2.id, "composition-locked")
    result = tick(engine, r3.id, "lighting-right")

    assert result.done == 2 and not result.complete
    done = {i.item: i.number for i in result.items if i.done}
    assert done == {"composition-locked": r2.number, "lighting-right": r3.number}
    # The sibling shares round 2 but not round 3's tick.
    other = checklist(engine, sibling.id)
    assert [i.item for i in other.items if i.done] == ["composition-locked"]
    # The first round knows nothing of later ticks.
    assert checklist(engine, base.id).done == 0


def test_untick_removes_only_that_rounds_tick(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid")
    r2 = engine.refine(base.id, "move the watch higher")
    r3 = engine.refine(r2.id, "soften the shadows")
    tick(engine, r2.id, "composition-locked")
    tick(engine, r3.id, "composition-locked")
    tick(engine, r3.id, "details-sharp")

    after = tick(engine, r3.id, "details-sharp", on=False)
    assert not next(i for i in after.items if i.item == "details-sharp").done
    # Still ticked on round 2, which the branch passes through.
    kept = tick(engine, r3.id, "composition-locked", on=False)
    locked = next(i for i in kept.items if i.item == "composition-locked")
    assert locked.done and locked.number == r2.number


def test_ticking_twice_is_harmless_and_all_six_complete(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid")
    for item in ITEMS:
        tick(engine, base.id, item)
    again = tick(engine, base.id, "mood-achieved")

    assert again.complete and again.done == 6
    assert again.to_json()["complete"] is True
    assert "6 of 6 done" in again.summary()


def test_items_by_unique_prefix_and_refusals() -> None:
    assert resolve_item("lighting") == "lighting-right"
    assert resolve_item("No Technical Flaws") == "no-technical-flaws"
    with pytest.raises(BadInput, match="composition-locked"):
        resolve_item("sharpness")
    with pytest.raises(BadInput):
        resolve_item("")
