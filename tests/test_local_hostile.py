"""Regressions from hostile testing: numbers read whole, no clause lost, tiny masks."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from core.backends.local import parse_instruction
from core.backends.local.parser import Clause
from tests.test_local_operations import luminance, pixels, refine


def only(text: str) -> Clause:
    parsed = parse_instruction(text)
    assert parsed.not_understood == []
    assert len(parsed.changes) == 1, parsed.clauses
    return parsed.changes[0]


def refused(text: str) -> str:
    parsed = parse_instruction(text)
    assert parsed.changes == [], parsed.clauses
    assert len(parsed.not_understood) == 1
    return parsed.not_understood[0]


@pytest.mark.parametrize(
    ("text", "factor"), [("crop to 90%", 1 / 0.9), ("crop to 10%", 10.0)]
)
def test_crop_to_a_percentage_keeps_that_share_of_the_frame(
    text: str, factor: float
) -> None:
    clause = only(text)
    assert clause.op == "zoom"
    assert 1 + clause.amount == pytest.approx(factor, rel=1e-3)


def test_zoom_below_one_zooms_out_and_huge_zoom_is_held_to_the_limit(
    tmp_path: Path,
) -> None:
    clause = only("zoom 0.5x")
    assert clause.amount == pytest.approx(-1.0)  # zoom out: half the frame size
    result = refine(Image.new("RGB", (64, 48), (200, 90, 40)), "zoom 0.5x", tmp_path)
    assert result.applied == ["zoom out 2.00× (blurred fill around the frame)"]
    held = refine(Image.new("RGB", (64, 48), (200, 90, 40)), "zoom 20x", tmp_path)
    assert held.applied[0].startswith("zoom in 10.00×")
    assert "asked for 20×" in held.applied[0]


def test_angles_are_read_whole_and_normalised() -> None:
    assert only("rotate 400 degrees").params["degrees"] == 40.0
    assert only("rotate 1,000 degrees").params["degrees"] == 280.0
    assert only("rotate by 30").params["degrees"] == 30.0


@pytest.mark.parametrize(
    "text",
    [
        "rotate 1e308 degrees",
        "rotate nan degrees",
        "rotate by 1e308",
        "brighten by 1e2%",
        "rotate 1,5 degrees",
        "brighten by 12345678%",
    ],
)
def test_numbers_that_cannot_be_read_whole_are_refused_with_a_reason(
    text: str,
) -> None:
    reason = refused(text)
    assert reason.startswith(text)
    assert "number" in reason


def test_opposite_changes_in_one_instruction_both_apply_in_order(
    tmp_path: Path,
) -> None:
    parsed = parse_instruction("make it 10% brighter and 10% darker")
    assert [(c.op, round(c.amount, 3)) for c in parsed.changes] == [
        ("brightness", 0.1),
        ("brightness", -0.1),
    ]
    assert parsed.not_understood == []
    result = refine(
        Image.new("RGB", (32, 32), (120, 120, 120)),
        "make it 10% brighter and 10% darker",
        tmp_path,
    )
    assert result.applied == ["brightness +10%", "brightness -10%"]


def test_a_clamped_amount_says_what_was_asked(tmp_path: Path) -> None:
    result = refine(
        Image.new("RGB", (32, 32), (60, 60, 60)), "brighten by 500%", tmp_path
    )
    assert result.applied == ["brightness +300% (asked for 500%, held to the limit)"]


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (7, 1000), (20000, 1)])
@pytest.mark.parametrize(
    "region", ["center", "upper-left", "lower-right", "left-half", "top-half"]
)
def test_regions_work_on_tiny_and_thin_images(
    tmp_path: Path, size: tuple[int, int], region: str
) -> None:
    start = Image.new("RGB", size, (100, 100, 100))
    result = refine(start, "brighten by 20%", tmp_path, region=region)
    assert isinstance(result.image, Image.Image)
    assert result.image.size == size
    assert luminance(pixels(result)).max() > 100.5


def test_text_shown_to_the_user_carries_no_terminal_controls(tmp_path: Path) -> None:
    dirty = "brighten by 20%, \x1b]52;c;ZXZpbA==\x07sparkle\x9b2J \u202eplease\x07"
    result = refine(Image.new("RGB", (16, 16), (90, 90, 90)), dirty, tmp_path)
    shown = [result.text, *result.applied, *result.skipped, *result.warnings]
    assert result.applied == ["brightness +20%"]
    assert any(line.endswith("sparkle2J please") for line in result.skipped)
    for line in shown:
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in line), line
        assert "\u202e" not in line
