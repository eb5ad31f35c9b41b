"""Exports: the files, their names, the text inside them and the contact sheet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import export as export_module
from core.checklist import tick
from core.engine import Engine
from core.errors import BadInput
from core.export import (
    GAP,
    HEADER_HEIGHT,
    TILE_HEIGHT,
    TILE_WIDTH,
    export,
    safe_name,
)
from core.models import Round
from tests.paid_backend import PaidBackend, charging_engine

FAKE_KEY = "AIzaFakeKeyForExportTests0123456789"


@pytest.fixture
def paid() -> tuple[Engine, PaidBackend]:
    return charging_engine()


def build_branch(engine: Engine, coffee_path: Path, title: str) -> list[Round]:
    """A photo, three refinements on the branch and two alternatives beside it."""
    base = engine.new_session("", [coffee_path], backend="paid", title=title)
    r2 = engine.refine(base.id, "crop in slightly, subject in the lower right third")
    engine.refine(base.id, "rotate by 5 degrees")  # alternative to round 2
    r4 = engine.refine(r2.id, "add a subtle warm cast to the highlights")
    engine.refine(r2.id, "add a cool cast to the shadows")  # alternative to round 4
    r6 = engine.refine(r4.id, "sharpen the cup rim | its handle", quality="ultra")
    return [base, r2, r4, r6]


def all_text(folder: Path) -> str:
    """Every byte the export wrote, decoded leniently, plus the PNG text chunks."""
    parts = []
    for path in folder.iterdir():
        parts.append(path.read_bytes().decode("utf-8", "replace"))
        if path.suffix == ".png":
            with Image.open(path) as image:
                parts.append(json.dumps(getattr(image, "text", {})))
    return "\n".join(parts)


def test_export_writes_four_named_files(
    paid: tuple[Engine, PaidBackend], coffee_path: Path, tmp_path: Path
) -> None:
    engine, _ = paid
    branch = build_branch(engine, coffee_path, "Coffee ad")
    out = tmp_path / "out"

    result = export(engine, branch[-1].id, out)

    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "Coffee-ad-round-6-sheet.png",
        "Coffee-ad-round-6.json",
        "Coffee-ad-round-6.md",
        "Coffee-ad-round-6.png",
    ]
    assert sorted(p.name for p in result.paths) == names
    with Image.open(result.image) as image:
        assert image.format == "PNG"
        assert image.size == (branch[-1].width, branch[-1].height)


def test_png_carries_the_instruction_chain_and_models(
    paid: tuple[Engine, PaidBackend], coffee_path: Path, tmp_path: Path
) -> None:
    engine, _ = paid
    branch = build_branch(engine, coffee_path, "Coffee ad")

    result = export(engine, branch[-1].id, tmp_path / "out")

    with Image.open(result.image) as image:
        text = dict(image.text)  # type: ignore[attr-defined]
    chain = json.loads(text["ripen:instructions"])
    assert [c["number"] for c in chain] == [r.number for r in branch]
    assert [c["instruction"] for c in chain] == [r.instruction for r in branch]
    assert [c["quality"] for c in chain] == ["common", "common", "common", "ultra"]
    assert json.loads(text["ripen:models"]) == ["paid-common", "paid-ultra"]
    assert text["Title"] == "Coffee ad"
    assert "6. sharpen the cup rim | its handle" in text["Description"]


def test_nothing_exported_names_the_key_or_a_local_folder(
    paid: tuple[Engine, PaidBackend],
    coffee_path: Path,
    tmp_path: Path,
    ripen_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, _ = paid
    monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
    branch = build_branch(engine, coffee_path, "Coffee ad")
    engine.note(branch[1].id, f"tried key {FAKE_KEY} from {ripen_home}/images")
    out = tmp_path / "out"

    export(engine, branch[-1].id, out)

    written = all_text(out)
    assert FAKE_KEY not in written
    assert str(tmp_path) not in written
    assert str(coffee_path) not in written
    assert "tried key [key hidden] from ~/images" in written


def test_contact_sheet_has_a_tile_per_round_and_dims_alternatives(
    paid: tuple[Engine, PaidBackend], coffee_path: Path, tmp_path: Path
) -> None:
    engine, _ = paid
    branch = build_branch(engine, coffee_path, "Coffee ad")

    result = export(engine, branch[-1].id, tmp_path / "out")

    # Four rows (the branch), two of them with one alternative beside the path.
    assert len(result.tiles) == 6
    assert [(t.number, t.row, t.column, t.dimmed) for t in result.tiles] == [
        (1, 0, 0, False),
        (2, 1, 0, False),
        (3, 1, 1, True),
        (4, 2, 0, False),
        (5, 2, 1, True),
        (6, 3, 0, False),
    ]
    with Image.open(result.sheet) as sheet:
        assert sheet.size == (
            GAP + 2 * (TILE_WIDTH + GAP),
            HEADER_HEIGHT + 4 * (TILE_HEIGHT + GAP) + GAP,
        )
        pixels = np.asarray(sheet.convert("L"), dtype=float)
    background = pixels[-2, -2]

    def strength(number: int) -> float:
        tile = next(t for t in result.tiles if t.number == number)
        left, top, right, bottom = tile.box
        return float(np.abs(pixels[top:bottom, left:right] - background).mean())

    # Alternatives are drawn at well under half the contrast of the path's tiles.
    assert strength(3) < 0.5 * strength(2)
    assert strength(5) < 0.5 * strength(4)
    assert strength(6) > 10


def test_report_and_json_hold_rounds_costs_notes_and_checklist(
    paid: tuple[Engine, PaidBackend], coffee_path: Path, tmp_path: Path
) -> None:
    engine, backend = paid
    backend.prices = [0.039, 0.039, 0.039, None, 0.039, 0.134]
    branch = build_branch(engine, coffee_path, "Coffee ad")
    engine.note(branch[2].id, "warm highlights sold it")
    tick(engine, branch[1].id, "composition-locked")
    tick(engine, branch[3].id, "details-sharp")

    result = export(engine, branch[-1].id, tmp_path / "out")

    data = json.loads(result.data.read_text())
    assert [r["number"] for r in data["rounds"]] == [1, 2, 4, 6]
    assert data["credits"] == 20 * 3 + 40
    assert data["usd"] is None  # round 4's price is unknown
    assert data["usd_unknown_rounds"] == 1
    assert data["usd_known"] == pytest.approx(0.039 * 2 + 0.134)
    assert data["alternatives"] == 2
    assert data["checklist"]["done"] == 2
    assert data["rounds"][2]["note"] == "warm highlights sold it"
    assert data["files"]["sheet"] == "Coffee-ad-round-6-sheet.png"

    report = result.report.read_text()
    assert report.startswith("# Coffee ad\n")
    assert "| 6 | " in report and "| ultra | paid-ultra | 40 | $0.134 |" in report
    assert "| 4 | " in report and "| 20 | unknown |" in report
    assert "sharpen the cup rim \\| its handle" in report  # a pipe cannot break a row
    assert "$0.212 + unknown (1 round)" in report
    assert "- Round 4: warm highlights sold it" in report
    assert "- [x] Composition locked" in report and "(round 2)" in report
    assert "- [ ] Lighting right" in report
    assert "## Checklist (2 of 6)" in report


def test_lint_warnings_reach_the_report(
    paid: tuple[Engine, PaidBackend], tmp_path: Path
) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid", title="Watch")
    vague = engine.refine(base.id, "make it better")
    codes = [w["code"] for w in vague.warnings]

    result = export(engine, vague.id, tmp_path / "out")

    assert "vague" in codes
    assert "- Round 2: vague (warning):" in result.report.read_text()


def test_existing_files_are_never_overwritten_without_force(
    paid: tuple[Engine, PaidBackend], coffee_path: Path, tmp_path: Path
) -> None:
    engine, _ = paid
    branch = build_branch(engine, coffee_path, "Coffee ad")
    out = tmp_path / "out"
    out.mkdir()
    (out / "Coffee-ad-round-6.md").write_text("my own notes")

    with pytest.raises(BadInput, match="Coffee-ad-round-6.md"):
        export(engine, branch[-1].id, out)

    assert [p.name for p in out.iterdir()] == ["Coffee-ad-round-6.md"]
    assert (out / "Coffee-ad-round-6.md").read_text() == "my own notes"
    export(engine, branch[-1].id, out, force=True)
    assert (out / "Coffee-ad-round-6.md").read_text().startswith("# Coffee ad")


@pytest.mark.parametrize(
    ("fmt", "suffix", "kind"), [("jpeg", ".jpg", "JPEG"), ("webp", ".webp", "WEBP")]
)
def test_other_image_formats(
    paid: tuple[Engine, PaidBackend],
    coffee_path: Path,
    tmp_path: Path,
    fmt: str,
    suffix: str,
    kind: str,
) -> None:
    engine, _ = paid
    branch = build_branch(engine, coffee_path, "Coffee ad")

    result = export(engine, branch[-1].id, tmp_path / "out", fmt=fmt)

    assert result.image.name == f"Coffee-ad-round-6{suffix}"
    with Image.open(result.image) as image:
        assert image.format == kind
        assert image.size == (branch[-1].width, branch[-1].height)
    with pytest.raises(BadInput, match="tiff"):
        export(engine, branch[-1].id, tmp_path / "other", fmt="tiff")


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("../../etc", "etc"),
        (".hidden", "hidden"),
        ("a/b\\c:d", "a-b-c-d"),
        ("  spaced   out  ", "spaced-out"),
        ("\x1b[31mred\x00", "31mred"),
        ("CON", "ripen-CON"),
        ("...", "ripen"),
        ("", "ripen"),
        ("Café crème", "Café-crème"),
        ("日本の写真", "日本の写真"),
    ],
)
def test_safe_names(title: str, stem: str) -> None:
    assert safe_name(title) == stem


def test_long_titles_are_bounded_in_bytes() -> None:
    assert safe_name("a" * 300) == "a" * 80
    accented = safe_name("é" * 300)
    assert accented == "é" * 40 and len(accented.encode()) == 80


@pytest.mark.parametrize(
    ("title", "expected"),
    [("../../etc", "etc"), (".hidden", "hidden"), ("x" * 300, "x" * 80)],
)
def test_odd_titles_stay_inside_the_export_folder(
    paid: tuple[Engine, PaidBackend],
    tmp_path: Path,
    title: str,
    expected: str,
) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid", title=title)
    out = tmp_path / "deep" / "out"

    result = export(engine, base.id, out)

    assert {p.parent for p in result.paths} == {out}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{expected}-round-1{end}" for end in ("-sheet.png", ".json", ".md", ".png")
    )
    assert not any(p.name.startswith(".") for p in out.iterdir())
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["out"]


@pytest.mark.parametrize(
    "folder", ["a\x00b", "x" * 300, "/proc/no-such-process/out"], ids=str.__len__
)
def test_a_folder_no_export_can_go_into_is_refused_by_name(
    paid: tuple[Engine, PaidBackend], folder: str
) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid")
    with pytest.raises(BadInput, match="export into|write into"):
        export(engine, base.id, Path(folder))


def test_a_folder_in_the_way_of_one_file_refuses_the_export_before_writing(
    paid: tuple[Engine, PaidBackend], tmp_path: Path
) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid")
    out = tmp_path / "out"
    first = export(engine, base.id, out)
    first.data.unlink()
    first.data.mkdir()  # a folder where the export writes its .json
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(BadInput, match=rf"{first.data.name} in .* is a folder"):
        export(engine, base.id, out, force=True)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_an_export_that_fails_half_way_leaves_none_of_its_files(
    paid: tuple[Engine, PaidBackend], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = paid
    base = engine.new_session("a watch", backend="paid")
    real = export_module.write_atomic
    calls: list[Path] = []

    def disk_full_at_the_third(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(export_module, "write_atomic", disk_full_at_the_third)
    out = tmp_path / "out"
    with pytest.raises(BadInput, match="No space left on device"):
        export(engine, base.id, out)
    assert list(out.iterdir()) == []
