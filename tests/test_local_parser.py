"""The local backend's reading of instructions and region names (no pixels here)."""

from __future__ import annotations

import pytest

from core.backends.local import REGION_NAMES, parse_instruction, validate_region
from core.backends.local.parser import Clause
from core.errors import BadInput


def ops(text: str) -> list[tuple[str, str | None]]:
    return [(c.op, c.region) for c in parse_instruction(text).clauses]


def only(text: str) -> Clause:
    parsed = parse_instruction(text)
    assert len(parsed.changes) == 1, (parsed.clauses, parsed.not_understood)
    return parsed.changes[0]


def test_the_guides_lighting_round_splits_into_clauses_with_regions() -> None:
    parsed = parse_instruction(
        "Enhance the rim lighting, soften the shadows slightly, add subtle warm "
        "color cast to the highlights, increase overall contrast"
    )
    assert [(c.op, c.region) for c in parsed.clauses] == [
        ("shadows", None),
        ("cast", "highlights"),
        ("contrast", "whole"),
    ]
    shadows, cast, contrast = parsed.clauses
    assert shadows.amount > 0  # softened shadows are lifted, not deepened
    assert cast.params["colour"] == "warm"
    assert contrast.amount == pytest.approx(0.20)
    assert parsed.not_understood == ["Enhance the rim lighting"]
    # Each clause carries the exact words it came from.
    assert cast.text == "add subtle warm color cast to the highlights"


def test_numbered_and_bulleted_lists() -> None:
    assert ops("1. brighten\n2. more contrast") == [
        ("brightness", None),
        ("contrast", None),
    ]
    assert ops("- warmer\n- add a vignette\n* sharpen") == [
        ("warmth", None),
        ("vignette", None),
        ("sharpen", None),
    ]


def test_the_guides_composition_and_polish_rounds() -> None:
    assert ops(
        "Adjust the watch position slightly higher and more centered, increase the "
        "bokeh blur in the background, make the wooden surface grain more prominent"
    ) == [
        ("shift", None),
        ("centre", None),
        ("blur", "background"),
        ("clarity", None),
    ]
    assert ops(
        "Very subtle increase in overall saturation, slight color correction to make "
        "metallics cooler, minimal sharpening across the entire image"
    ) == [("saturation", "whole"), ("warmth", None), ("sharpen", "whole")]


def test_a_region_before_a_colon_and_a_kept_region_limit_the_changes() -> None:
    parsed = parse_instruction(
        "Focus only on the foreground subject: increase detail and sharpness. "
        "Leave the background unchanged."
    )
    assert [(c.op, c.region) for c in parsed.clauses] == [
        ("sharpen", "subject"),
        ("keep", "background"),
    ]
    assert parsed.keep and not parsed.not_understood
    assert ops("brighten the image but keep the background unchanged") == [
        ("brightness", "subject"),
        ("keep", "background"),
    ]


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("blur the background", "background"),
        ("brighten the lower right third", "lower-right"),
        ("more contrast in the upper left third", "upper-left"),
        ("darken the top centre", "upper-centre"),
        ("sharpen the subject", "subject"),
        ("increase saturation in the shadows", "shadows"),
        ("add a teal tint to the shadows", "shadows"),
        ("brighten the midtones", "midtones"),
        ("warm up the left half", "left-half"),
        ("cool the right side", "right-half"),
        ("increase contrast", None),
    ],
)
def test_regions_named_in_the_text(text: str, region: str | None) -> None:
    assert only(text).region == region


def test_intensity_words_order_the_amounts() -> None:
    wordings = [
        "very subtle contrast increase",
        "slightly increase contrast",
        "increase contrast",
        "more contrast",
        "strongly increase contrast",
        "dramatic contrast increase",
    ]
    amounts = [only(text).amount for text in wordings]
    assert amounts == sorted(amounts)
    assert len(set(amounts)) == len(amounts)
    assert all(amount > 0 for amount in amounts)


def test_percentages_are_exact_and_directions_are_signed() -> None:
    assert only("increase contrast by 20%").amount == pytest.approx(0.20)
    assert only("decrease contrast by 15%").amount == pytest.approx(-0.15)
    assert only("darken by 30%").amount == pytest.approx(-0.30)
    assert only("brighten by 20%").exact
    assert only("make it warmer").amount > 0
    assert only("make it cooler").amount < 0
    assert only("less saturation").amount < 0
    assert only("desaturate slightly").amount < 0
    assert only("reduce the vignette").amount < 0
    assert only("deepen the shadows").amount < 0
    assert only("lift the shadows").amount > 0
    assert only("recover the highlights").amount < 0
    assert only("boost the highlights").amount > 0
    stops = only("increase exposure by one stop")
    assert stops.op == "brightness" and stops.amount == pytest.approx(1.0)


GEOMETRY_AND_RESTORE: list[tuple[str, str, dict[str, object]]] = [
    ("rotate 90 degrees", "rotate", {"degrees": 90.0, "clockwise": True}),
    ("rotate 15° counter-clockwise", "rotate", {"degrees": 15.0, "clockwise": False}),
    ("turn it upside down", "rotate", {"degrees": 180.0, "clockwise": True}),
    ("flip horizontally", "flip", {"axis": "horizontal"}),
    ("flip it vertically", "flip", {"axis": "vertical"}),
    ("make it 16:9", "aspect", {"ratio": [16.0, 9.0], "label": "16:9"}),
    ("crop to a square", "aspect", {"ratio": [1.0, 1.0], "label": "1:1"}),
    ("crop the top 10%", "crop", {"side": "top"}),
    ("move the subject to the left", "shift", {"dx": -1.0, "dy": 0.0}),
    ("move it higher", "shift", {"dx": 0.0, "dy": -1.0}),
    (
        "restore the shadows from round 2",
        "restore",
        {"attribute": "shadows", "round": 2},
    ),
    (
        "bring back the contrast of the base image",
        "restore",
        {"attribute": "contrast", "base": True},
    ),
]


@pytest.mark.parametrize(("text", "op", "params"), GEOMETRY_AND_RESTORE)
def test_geometry_and_restore_parameters(
    text: str, op: str, params: dict[str, object]
) -> None:
    clause = only(text)
    assert clause.op == op
    assert clause.params == params


def test_zoom_and_restore_of_colours() -> None:
    assert only("zoom in 30%").amount == pytest.approx(0.30)
    assert only("zoom out").amount < 0
    assert only("zoom in 2x").amount == pytest.approx(1.0)
    restored = parse_instruction("restore the original colours").clauses
    assert [c.params["attribute"] for c in restored] == ["saturation", "warmth"]
    assert all(c.params["base"] for c in restored)


def test_keep_clause_is_understood_and_changes_nothing() -> None:
    parsed = parse_instruction("brighten, keep everything else unchanged")
    assert parsed.keep
    assert [c.op for c in parsed.changes] == ["brightness"]
    assert parsed.not_understood == []


def test_not_understood_clauses_are_quoted_back() -> None:
    parsed = parse_instruction("make it look like a Van Gogh painting; add a dragon")
    assert parsed.clauses == []
    assert parsed.not_understood == [
        "make it look like a Van Gogh painting",
        "add a dragon",
    ]
    refused = parse_instruction("straighten it").not_understood
    assert refused == ["straighten it (how many degrees to straighten by is not given)"]
    assert parse_instruction("make it 50:1").not_understood == [
        "make it 50:1 (aspect ratios are limited to between 1:10 and 10:1)"
    ]


def test_words_that_look_like_operations_are_not_misread() -> None:
    assert ops("lower the exposure") == [("brightness", None)]
    assert only("lower the exposure").amount < 0
    assert ops("turn up the contrast") == [("contrast", None)]
    assert ops("black and white") == [("monochrome", None)]
    assert only("make the wooden surface grain more prominent").op == "clarity"
    assert only("add film grain").op == "grain"
    assert only("reduce the noise").op == "denoise"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("background", "background"),
        ("the background", "background"),
        ("foreground", "subject"),
        ("lower-right", "lower-right"),
        ("lower right third", "lower-right"),
        ("upper left third", "upper-left"),
        ("top centre", "upper-centre"),
        ("top center", "upper-centre"),
        ("centre", "centre"),
        ("middle", "centre"),
        ("left half", "left-half"),
        ("upper half", "top-half"),
        ("highlights", "highlights"),
        ("mid tones", "midtones"),
        ("box:0.1,0.1,0.5,0.5", "box:0.1,0.1,0.5,0.5"),
        ("BOX: 0, 0.25, 1, 0.75", "box:0,0.25,1,0.75"),
    ],
)
def test_validate_region_accepts_names_and_everyday_spellings(
    given: str, canonical: str
) -> None:
    assert validate_region(given) == canonical


def test_every_offered_region_validates_to_itself() -> None:
    assert [validate_region(name) for name in REGION_NAMES] == list(REGION_NAMES)


@pytest.mark.parametrize(
    "bad", ["sky", "lower-middle-left", "left right", "", "box:0.5,0.5,0.2,0.9"]
)
def test_bad_regions_are_refused_naming_the_valid_ones(bad: str) -> None:
    with pytest.raises(BadInput) as caught:
        validate_region(bad)
    message = caught.value.message
    assert repr(bad) in message
    if not bad.startswith("box"):
        assert "lower-right" in message and "box:x0,y0,x1,y1" in message


def test_balancing_the_colours_is_not_read_as_more_colour() -> None:
    # The portrait template's last step: "very slightly" must stay very slight,
    # and the balance the local backend cannot make is said, not turned into +20%.
    parsed = parse_instruction(
        "Add a faint vignette, balance the colours and raise the saturation "
        "very slightly"
    )
    assert [c.op for c in parsed.changes] == ["vignette", "saturation"]
    assert parsed.changes[1].amount == pytest.approx(0.05)
    assert parsed.not_understood == ["balance the colours"]
    richer = parse_instruction("richer colours")
    assert [(c.op, round(c.amount, 2)) for c in richer.changes] == [("saturation", 0.3)]
