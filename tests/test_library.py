"""The template library: built-ins, saved branches, TOML files, apply and run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import library
from core.engine import Engine
from core.errors import BadInput, NotFound
from core.lint import classify_stage
from core.templates import builtin_templates, fill
from tests.conftest import sample
from tests.test_meter import charging_engine

BRANCH = [
    "crop in slightly",
    "increase the contrast and add a subtle warm cast",
    "sharpen the details slightly",
]


@pytest.fixture
def paid() -> Engine:
    return charging_engine()[0]


@pytest.fixture
def local() -> Engine:
    return Engine()


def small_photo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.jpg"
    sample(name, size=200).save(path, quality=92)
    return path


def refine_all(engine: Engine, start: str, texts: list[str]) -> list[str]:
    ids = []
    for text in texts:
        start = engine.refine(start, text).id
        ids.append(start)
    return ids


def test_built_ins_are_listed_first_then_saved_ones(paid: Engine) -> None:
    base = paid.new_session("a watch", backend="paid")
    last = refine_all(paid, base.id, BRANCH)[-1]
    library.save_branch(paid, last, "my watch")

    names = [t.name for t in library.list_templates(paid)]

    builtin = [t.name for t in builtin_templates()]
    assert names == [*builtin, "my watch"]
    assert len(builtin) >= 6
    assert all(library.is_builtin(name) for name in builtin)


def test_a_saved_branch_keeps_instructions_stages_and_tiers(paid: Engine) -> None:
    base = paid.new_session("a watch", backend="paid")
    r2, r3, r4 = refine_all(paid, base.id, BRANCH)
    r5 = paid.refine(r4, "final polish: slightly more saturation", quality="ultra")
    paid.refine(r2, "an alternative that is not on the branch")
    paid.promote(r5.id)  # a promote carries no instruction to replay

    saved = library.save_branch(paid, r5.id, "watch recipe")

    assert [s.skeleton for s in saved.steps] == [
        *BRANCH,
        "final polish: slightly more saturation",
    ]
    assert [s.tier for s in saved.steps] == ["common", "common", "common", "ultra"]
    assert [s.stage for s in saved.steps] == [
        classify_stage(s.skeleton) for s in saved.steps
    ]
    again = library.get_template(paid, "watch recipe")
    assert again == saved


def test_saving_refuses_clashes_unless_forced(paid: Engine) -> None:
    base = paid.new_session("a watch", backend="paid")
    r2, r3, _ = refine_all(paid, base.id, BRANCH)
    library.save_branch(paid, r2, "recipe")

    with pytest.raises(BadInput, match="--force"):
        library.save_branch(paid, r3, "recipe")
    replaced = library.save_branch(paid, r3, "recipe", force=True)
    assert len(replaced.steps) == 2
    builtin = builtin_templates()[0].name
    with pytest.raises(BadInput, match="built-in"):
        library.save_branch(paid, r3, builtin, force=True)
    with pytest.raises(BadInput, match="no refinement rounds"):
        library.save_branch(paid, base.id, "empty")
    with pytest.raises(BadInput, match="name"):
        library.save_branch(paid, r3, "   ")


def test_built_ins_cannot_be_deleted_but_saved_ones_can(paid: Engine) -> None:
    base = paid.new_session("a watch", backend="paid")
    last = refine_all(paid, base.id, BRANCH)[-1]
    library.save_branch(paid, last, "recipe")
    library.apply(paid, base.session, "recipe")
    builtin = builtin_templates()[0].name

    with pytest.raises(BadInput, match="built-in template and cannot be deleted"):
        library.delete_template(paid, builtin)
    library.delete_template(paid, "recipe")

    with pytest.raises(NotFound, match="recipe"):
        library.get_template(paid, "recipe")
    with pytest.raises(NotFound):
        library.delete_template(paid, "recipe")
    assert paid.session(base.session).template is None


def test_toml_round_trip_through_files(paid: Engine, tmp_path: Path) -> None:
    base = paid.new_session("a watch", backend="paid")
    last = refine_all(paid, base.id, BRANCH)[-1]
    saved = library.save_branch(paid, last, "recipe", description="Watch, 3 rounds")
    path = tmp_path / "recipe.toml"

    library.export_template(paid, "recipe", path)
    with pytest.raises(BadInput, match="recipe.toml exists"):
        library.export_template(paid, "recipe", path)
    with pytest.raises(BadInput, match="--force"):
        library.import_template(paid, path)
    copy = library.import_template(paid, path, name="recipe copy")

    assert copy.steps == saved.steps
    assert copy.description == "Watch, 3 rounds"
    library.delete_template(paid, "recipe")
    back = library.import_template(paid, path)
    assert back == saved


def test_every_built_in_survives_toml(paid: Engine, tmp_path: Path) -> None:
    for template in builtin_templates():
        path = tmp_path / f"{template.name}.toml"
        library.export_template(paid, template.name, path)
        copy = library.import_template(paid, path, name=f"copy of {template.name}")
        assert copy.steps == template.steps


def test_importing_a_missing_or_broken_file_is_refused(
    paid: Engine, tmp_path: Path
) -> None:
    with pytest.raises(NotFound, match="nothing.toml"):
        library.import_template(paid, tmp_path / "nothing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed")
    with pytest.raises(BadInput):
        library.import_template(paid, broken)


def test_apply_gives_the_next_step_for_the_branch(paid: Engine) -> None:
    template = builtin_templates()[0]
    base = paid.new_session("a watch", backend="paid")

    first = library.apply(paid, base.session, template.name)

    assert first is not None and first.next is not None
    assert paid.session(base.session).template == template.name
    assert (first.steps_done, first.next.number) == (0, 1)
    assert first.next.stage == template.steps[0].stage
    assert "{" not in first.next.instruction  # slots are filled
    refine_all(paid, base.id, ["crop in slightly", "warmer light"])
    later = library.progress(paid, base.session)
    assert later is not None and later.next is not None
    assert later.next.number == 3
    assert later.next.skeleton == template.steps[2].skeleton
    assert later.to_json()["next"]["stage"] == template.steps[2].stage

    assert library.apply(paid, base.session, None) is None
    assert paid.session(base.session).template is None


def test_apply_reports_a_finished_template(paid: Engine) -> None:
    base = paid.new_session("a watch", backend="paid")
    last = refine_all(paid, base.id, BRANCH)[-1]
    library.save_branch(paid, last, "recipe")

    done = library.apply(paid, base.session, "recipe")

    assert done is not None and done.next is None and done.steps_done == 3
    assert done.to_json()["finished"] is True


def test_a_branch_replayed_on_its_photo_gives_the_same_pixels(
    local: Engine, tmp_path: Path
) -> None:
    photo = small_photo(tmp_path, "coffee")
    base = local.new_session("", [photo], backend="local")
    last = refine_all(local, base.id, BRANCH)[-1]
    original = local.round(last)
    library.save_branch(local, last, "coffee look")

    again = local.new_session("", [photo], backend="local")
    result = library.run(local, "coffee look", again.id)

    assert result.error is None
    assert [r.instruction for r in result.rounds] == BRANCH
    assert [r.parent for r in result.rounds] == [
        again.id,
        *[r.id for r in result.rounds[:-1]],
    ]
    assert result.rounds[-1].image_sha == original.image_sha
    assert local.session(again.session).template == "coffee look"


def test_a_saved_look_runs_on_another_photo(local: Engine, tmp_path: Path) -> None:
    coffee = local.new_session("", [small_photo(tmp_path, "coffee")], backend="local")
    last = refine_all(local, coffee.id, BRANCH)[-1]
    library.save_branch(local, last, "coffee look")
    astronaut = local.new_session(
        "", [small_photo(tmp_path, "astronaut")], backend="local"
    )

    result = library.run(local, "coffee look", astronaut.id)

    assert result.error is None and len(result.rounds) == 3
    assert all(r.applied and not r.skipped for r in result.rounds)
    before = np.asarray(Image.open(astronaut.image).convert("RGB"), dtype=float)
    after = np.asarray(Image.open(result.rounds[-1].image).convert("RGB"), dtype=float)
    assert after.shape == before.shape
    # The look carried over: more contrast, and warmer (red gains on blue).
    assert after.mean(axis=2).std() > before.mean(axis=2).std() * 1.05
    warmth = (after[..., 0] - after[..., 2]).mean() - (
        before[..., 0] - before[..., 2]
    ).mean()
    assert warmth > 10


def test_a_refused_step_stops_the_run_and_keeps_earlier_rounds(
    paid: Engine,
) -> None:
    base = paid.new_session("a watch", backend="paid", budget=60, hard_budget=True)

    result = library.run(paid, "product", base.id, backend="paid")

    # 20 for the start and 20 for each of two steps reach the budget of 60; the
    # third step is refused before anything runs.
    assert len(result.rounds) == 2
    assert result.error is not None and result.error.kind == "budget"
    assert paid.session(base.session).credits == 60
    forced = library.run(paid, "product", base.id, backend="paid", over_budget=True)
    assert forced.error is None and len(forced.rounds) == 4


def test_a_built_in_plan_runs_on_a_real_photo(local: Engine, tmp_path: Path) -> None:
    base = local.new_session("", [small_photo(tmp_path, "coffee")], backend="local")
    product = next(t for t in builtin_templates() if t.name == "product")

    result = library.run(local, "product", base.id)

    assert result.error is None
    assert [r.instruction for r in result.rounds] == [
        fill(step.skeleton) for step in product.steps
    ]
    assert [r.quality for r in result.rounds] == [s.tier for s in product.steps]
    assert all(r.applied for r in result.rounds)
    done = library.progress(local, base.session)
    assert done is not None and done.next is None and done.steps_done == 4


def test_an_ab_step_runs_its_alternatives_as_siblings(
    local: Engine, tmp_path: Path
) -> None:
    base = local.new_session("", [small_photo(tmp_path, "coffee")], backend="local")
    ab = next(t for t in builtin_templates() if t.name == "ab-lighting")
    warm, cool = (fill(a) for a in ab.steps[1].alternatives)

    result = library.run(local, "ab-lighting", base.id)

    assert result.error is None and len(result.rounds) == 5
    framed, *pair, detail, polish = result.rounds
    assert {r.instruction for r in pair} == {warm, cool}
    assert {r.parent for r in pair} == {framed.id}
    # The run goes on from the first alternative; the other waits for a verdict.
    chosen = next(r for r in pair if r.instruction == warm)
    assert detail.parent == chosen.id and polish.parent == detail.id


def test_a_template_file_that_cannot_be_written_is_refused_by_name(
    paid: Engine, tmp_path: Path
) -> None:
    (tmp_path / "ok.png").write_bytes(b"not a folder")
    for target, reason in (
        (tmp_path / "ok.png" / "recipe.toml", "Not a directory|File exists"),
        (tmp_path / ("x" * 300 + ".toml"), "too long"),
    ):
        with pytest.raises(BadInput, match=f"Cannot write .*({reason})"):
            library.export_template(paid, "product", target)


def test_a_template_name_with_terminal_escapes_is_refused(paid: Engine) -> None:
    base = paid.new_session("a watch", backend="paid")
    with pytest.raises(BadInput, match=r"'blue\\\\x1b\]0;owned\\\\x07x' holds control"):
        library.save_branch(paid, base.id, "blue\x1b]0;owned\x07x")
