"""The workflow commands' command-line contract: one JSON object, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import cli
from core.config import load_config
from core.engine import Engine
from core.templates import builtin_templates
from tests.paid_backend import PaidBackend


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = cli.main(list(argv))
    out, _ = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must hold one JSON object, got: {out!r}"
    return code, json.loads(lines[0])


@pytest.fixture
def charging(monkeypatch: pytest.MonkeyPatch) -> PaidBackend:
    """Every CLI command runs on an engine that also knows a charging backend."""
    backend = PaidBackend()
    monkeypatch.setattr(
        cli, "_engine", lambda: Engine(load_config(), backends={"paid": backend})
    )
    return backend


def paid_engine(backend: PaidBackend) -> Engine:
    return Engine(load_config(), backends={"paid": backend})


# -- hard budget ----------------------------------------------------------------


def test_hard_budget_refusal_is_a_budget_error(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend
) -> None:
    engine = paid_engine(charging)
    base = engine.new_session("a watch", backend="paid", budget=40, hard_budget=True)

    code, fits = run(capsys, "refine", base.id, "crop tighter", "--json")
    assert code == 0 and fits["session_credits"] == 40

    code, refused = run(capsys, "refine", fits["round"], "warmer light", "--json")
    assert code == 1
    assert refused["error"]["kind"] == "budget"
    assert "--over-budget" in refused["error"]["message"]
    tree = engine.tree(base.session)
    assert len(tree.rounds) == 2 and tree.attempts == []  # nothing ran, no charge

    code, forced = run(
        capsys, "refine", fits["round"], "warmer light", "--over-budget", "--json"
    )
    assert code == 0 and forced["session_credits"] == 60
    code, meter = run(capsys, "meter", base.session, "--json")
    assert (meter["spent"], meter["remaining"], meter["level"]) == (60, -20, "red")
    assert meter["hard_budget"] is True


def test_soft_budget_only_warns(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend
) -> None:
    base = paid_engine(charging).new_session("a watch", backend="paid", budget=20)

    code, refined = run(capsys, "refine", base.id, "crop tighter", "--json")

    assert code == 0 and refined["session_credits"] == 40


def test_new_with_hard_budget_is_shown_by_the_meter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, base = run(
        capsys,
        "new",
        "a watch on dark wood",
        "--hard-budget",
        "--budget",
        "60",
        "--json",
    )
    assert code == 0

    code, meter = run(capsys, "meter", base["session"], "--json")

    assert code == 0
    assert meter["hard_budget"] is True and meter["budget"] == 60
    assert meter["spent"] == 0 and meter["usd"] == 0.0 and meter["level"] == "ok"


# -- meter ----------------------------------------------------------------------


def test_meter_json_contract(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend
) -> None:
    charging.prices = [0.039, None]
    engine = paid_engine(charging)
    base = engine.new_session("a watch", backend="paid")
    engine.refine(base.id, "crop tighter", quality="ultra")

    code, meter = run(capsys, "meter", base.session, "--json")

    assert code == 0
    assert meter["spent"] == 60 and meter["remaining"] == 80
    assert (meter["common_rounds"], meter["ultra_rounds"]) == (1, 1)
    assert meter["usd"] is None and meter["usd_unknown_rounds"] == 1
    assert meter["usd_known"] == pytest.approx(0.039)
    assert meter["regeneration"]["regenerations"] == 5

    code, missing = run(capsys, "meter", "nosuchsession", "--json")
    assert code == 2 and missing["error"]["kind"] == "not_found"


# -- lint -----------------------------------------------------------------------


def test_lint_prints_the_report(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend
) -> None:
    engine = paid_engine(charging)
    base = engine.new_session("a watch", backend="paid", budget=30)

    code, report = run(capsys, "lint", "make it better", "--parent", base.id, "--json")

    assert code == 0
    assert set(report) == {"changes", "stage", "warnings"}
    codes = {w["code"] for w in report["warnings"]}
    assert "vague" in codes
    assert "over-budget" in codes  # 20 spent + 20 for this round > 30
    code, plain = run(capsys, "lint", "sharpen the watch face", "--json")
    assert code == 0 and plain["warnings"] == [] and plain["changes"] == 1


# -- templates ------------------------------------------------------------------


def test_templates_round_trip_through_toml(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend, tmp_path: Path
) -> None:
    engine = paid_engine(charging)
    base = engine.new_session("a watch", backend="paid")
    r2 = engine.refine(base.id, "move the watch higher and more centred")
    r3 = engine.refine(r2.id, "soften the shadows slightly", quality="ultra")

    code, saved = run(capsys, "template", "save", r3.id, "watch", "--json")
    assert code == 0
    assert [s["skeleton"] for s in saved["steps"]] == [r2.instruction, r3.instruction]
    assert [s["tier"] for s in saved["steps"]] == ["common", "ultra"]

    file = tmp_path / "watch.toml"
    code, written = run(capsys, "template", "export", "watch", str(file), "--json")
    assert code == 0 and Path(written["file"]) == file and file.exists()
    code, refused = run(capsys, "template", "export", "watch", str(file), "--json")
    assert code == 2 and "watch.toml" in refused["error"]["message"]
    code, _ = run(capsys, "template", "export", "watch", str(file), "--force", "--json")
    assert code == 0

    code, deleted = run(capsys, "template", "delete", "watch", "--json")
    assert code == 0 and deleted == {"deleted": "watch"}
    code, imported = run(capsys, "template", "import", str(file), "--json")
    assert code == 0 and imported == saved
    code, clash = run(capsys, "template", "import", str(file), "--json")
    assert code == 2 and clash["error"]["kind"] == "bad_input"
    code, shown = run(capsys, "template", "show", "watch", "--json")
    assert shown == saved

    code, listed = run(capsys, "template", "list", "--json")
    names = [t["name"] for t in listed["templates"]]
    assert names == [*(t.name for t in builtin_templates()), "watch"]
    code, listed_again = run(capsys, "template", "--json", "list")
    assert listed_again == listed


def test_built_in_templates_cannot_be_deleted_from_the_cli(
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = builtin_templates()[0].name

    code, refused = run(capsys, "template", "delete", name, "--json")

    assert code == 2
    assert refused["error"]["kind"] == "bad_input"
    assert "cannot be deleted" in refused["error"]["message"]


def test_apply_then_run_a_template_on_a_photo(
    capsys: pytest.CaptureFixture[str], coffee_path: Path
) -> None:
    code, base = run(capsys, "new", "", "--image", str(coffee_path), "--json")
    texts = ["crop in slightly", "increase the contrast"]
    current = base["round"]
    for text in texts:
        code, r = run(capsys, "refine", current, text, "--json")
        current = r["round"]
    code, _ = run(capsys, "template", "save", current, "coffee", "--json")
    code, other = run(capsys, "new", "", "--image", str(coffee_path), "--json")

    code, applied = run(
        capsys, "template", "apply", "coffee", other["session"], "--json"
    )
    assert code == 0
    assert applied["next"]["step"] == 1
    assert applied["next"]["instruction"] == texts[0]

    code, ran = run(
        capsys,
        "template",
        "run",
        "coffee",
        other["round"],
        "--backend",
        "local",
        "--json",
    )
    assert code == 0 and ran["template"] == "coffee"
    assert [r["instruction"] for r in ran["rounds"]] == texts
    assert ran["rounds"][-1]["image"] == r["image"]  # the same pixels, one file

    code, done = run(capsys, "template", "apply", "coffee", other["session"], "--json")
    assert done["finished"] is True and done["next"] is None


def test_template_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, missing = run(capsys, "template", "show", "no such thing", "--json")
    assert code == 2 and missing["error"]["kind"] == "not_found"
    code, usage = run(capsys, "template", "--json")
    assert code == 2 and usage["error"]["kind"] == "bad_input"


# -- checklist, search, export -------------------------------------------------


def test_check_and_checklist(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend
) -> None:
    engine = paid_engine(charging)
    base = engine.new_session("a watch", backend="paid")
    r2 = engine.refine(base.id, "crop tighter")

    code, ticked = run(capsys, "check", base.id, "composition-locked", "--json")
    assert code == 0 and ticked["done"] == 1
    code, branch = run(capsys, "checklist", r2.id, "--json")
    assert [i["item"] for i in branch["items"] if i["done"]] == ["composition-locked"]
    code, off = run(capsys, "check", base.id, "composition", "--off", "--json")
    assert off["done"] == 0
    code, bad = run(capsys, "check", base.id, "perfect", "--json")
    assert code == 2 and "mood-achieved" in bad["error"]["message"]


def test_search_across_sessions_with_hostile_text(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend
) -> None:
    engine = paid_engine(charging)
    base = engine.new_session("a watch", backend="paid", title="Watch ad")
    r2 = engine.refine(base.id, "enhance the rim lighting")

    code, found = run(capsys, "search", "rim", "--json")
    assert code == 0
    assert [(h["title"], h["round"], h["number"]) for h in found["results"]] == [
        ("Watch ad", r2.id, 2)
    ]
    for text in ('"', "AND(", 'rim" OR "'):
        code, odd = run(capsys, "search", text, "--json")
        assert code == 0 and isinstance(odd["results"], list)


def test_export_writes_files_and_refuses_to_overwrite(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend, tmp_path: Path
) -> None:
    engine = paid_engine(charging)
    base = engine.new_session("a watch", backend="paid", title="../../etc")
    out = tmp_path / "out"

    code, written = run(capsys, "export", base.id, "--out", str(out), "--json")
    assert code == 0
    assert Path(written["image"]) == out / "etc-round-1.png"
    assert Path(written["sheet"]).exists() and written["tiles"] == 1

    code, refused = run(capsys, "export", base.id, "--out", str(out), "--json")
    assert code == 2 and refused["error"]["kind"] == "bad_input"
    assert "etc-round-1.png" in refused["error"]["message"]

    code, jpeg = run(
        capsys,
        "export",
        base.id,
        "--out",
        str(out),
        "--format",
        "jpeg",
        "--force",
        "--json",
    )
    assert code == 0 and jpeg["image"].endswith("etc-round-1.jpg")


def test_human_output_is_text(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend
) -> None:
    base = paid_engine(charging).new_session("a watch", backend="paid")

    assert cli.main(["meter", base.session]) == 0
    out = capsys.readouterr().out
    assert out.startswith("20 of 140 credits spent, 120 left (ok)")
    assert cli.main(["template", "list"]) == 0
    assert builtin_templates()[0].name in capsys.readouterr().out


def test_slots_fill_the_skeletons(
    capsys: pytest.CaptureFixture[str], charging: PaidBackend
) -> None:
    base = paid_engine(charging).new_session("a watch", backend="paid")

    code, applied = run(
        capsys,
        "template",
        "apply",
        "product",
        base.session,
        "--slot",
        "product=the watch",
        "--json",
    )

    assert code == 0
    assert applied["next"]["skeleton"].startswith("Move {product} slightly")
    assert applied["next"]["instruction"].startswith("Move the watch slightly")
    code, bad = run(
        capsys,
        "template",
        "apply",
        "product",
        base.session,
        "--slot",
        "watch",
        "--json",
    )
    assert code == 2 and "NAME=VALUE" in bad["error"]["message"]
