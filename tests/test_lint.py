"""The prompt linter against instructions a user would really type.

The table holds one row per instruction: the branch it would extend, the tier, an
optional budget, and the exact set of codes it must raise (an empty set means the
instruction is good as it stands). Branches are built from a tiny dataclass with the
attributes the linter reads from the engine's rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.lint import KEEP_CLAUSE, BudgetState, LintWarning, classify_stage, lint


@dataclass(frozen=True)
class R:
    """A round as the linter sees it."""

    number: int
    instruction: str
    quality: str = "common"
    mode: str = "refine"


ROOT = R(
    1,
    "A brass pocket watch on a slate table, window light from the left, "
    "shallow depth of field",
    mode="generate",
)
COMPOSED = (ROOT, R(2, "Move the watch a little higher and center it in the frame"))
BRANCHES: dict[str, tuple[R, ...]] = {
    "none": (),
    "fresh": (ROOT,),
    "composed": COMPOSED,
    "lit": (*COMPOSED, R(3, "Soften the window light, warm the highlights a touch")),
    "detailed": (
        *COMPOSED,
        R(3, "Soften the window light, warm the highlights a touch"),
        R(4, "Sharpen the engraving on the lid and add texture to the slate"),
    ),
    "deep": (
        *COMPOSED,
        R(3, "Soften the window light, warm the highlights a touch"),
        R(4, "Sharpen the engraving on the lid and add texture to the slate"),
        R(5, "Add a gentle vignette"),
    ),
    "shadows": (*COMPOSED, R(3, "Increase the shadows")),
    "warmer": (*COMPOSED, R(3, "Make the lighting warmer")),
    "left": (ROOT, R(2, "Move the watch to the left")),
    "plant": (ROOT, R(2, "Add a small fern behind the watch")),
    "promoted": (*COMPOSED, R(3, "Deepen the shadows"), R(4, "", "ultra", "promote")),
}

# The guide's own refinements, for the workflow on a watch and the case study on a
# phone. Each is three or four related changes; the four-change rounds are one
# stage each, so they raise the too-many-changes notice as info, not a warning.
WATCH = (
    "Adjust the watch position slightly higher and more centered, increase the "
    "bokeh blur in the background, make the wooden surface grain more prominent",
    "Enhance the rim lighting on the watch edge, soften the shadows slightly, add "
    "subtle warm color cast to the highlights, increase overall contrast",
    "Sharpen the watch face details, enhance the metallic reflection on the watch "
    "case, add more texture to the wooden surface, improve the clarity of watch hands",
    "Very subtle increase in overall saturation, slight color correction to make "
    "metallics cooler, minimal sharpening across the entire image",
)
PHONE = (
    "Rotate phone to three-quarter view, simplify nebula to elegant blue gradient "
    "with subtle stars",
    "Add dramatic rim lighting on phone edges, increase contrast, make screen glow "
    "subtly",
    "Enhance phone screen detail, sharpen edges, add subtle reflections on phone "
    "surface",
    "Final polish: minimal overall sharpening, slight saturation increase, perfect "
    "the color balance",
)
WATCH_ROOT = R(1, "A luxury watch on dark wood, dramatic side light", mode="generate")
PHONE_ROOT = R(1, "A smartphone floating before a blue nebula", mode="generate")


def _guide_branch(root: R, steps: tuple[str, ...], upto: int) -> tuple[R, ...]:
    return (root, *(R(n + 2, text) for n, text in enumerate(steps[:upto])))


BRANCHES["watch1"] = _guide_branch(WATCH_ROOT, WATCH, 0)
BRANCHES["watch2"] = _guide_branch(WATCH_ROOT, WATCH, 1)
BRANCHES["watch3"] = _guide_branch(WATCH_ROOT, WATCH, 2)
BRANCHES["watch4"] = _guide_branch(WATCH_ROOT, WATCH, 3)
BRANCHES["phone1"] = _guide_branch(PHONE_ROOT, PHONE, 0)
BRANCHES["phone2"] = _guide_branch(PHONE_ROOT, PHONE, 1)
BRANCHES["phone3"] = _guide_branch(PHONE_ROOT, PHONE, 2)
BRANCHES["phone4"] = _guide_branch(PHONE_ROOT, PHONE, 3)

BUDGETS = {
    "over": BudgetState(spent=130, budget=140, round_cost=20),
    "exact": BudgetState(spent=120, budget=140, round_cost=20),
    "unset": BudgetState(spent=500, budget=0, round_cost=40),
}

MANY = "many"
INFO = "info"

# (instruction, branch, tier, budget, codes)
CASES: list[tuple[str, str, str, str | None, set[str]]] = [
    # Good instructions raise nothing.
    ("Sharpen the watch face", "none", "common", None, set()),
    ("Sharpen the watch face", "lit", "common", None, set()),
    ("sharpen the watch face", "detailed", "common", None, set()),
    (
        "Move the vase a little to the left and tilt the camera down slightly",
        "none",
        "common",
        None,
        set(),
    ),
    (
        "Soften the shadows under the chin, add a faint rim light on the hair",
        "composed",
        "common",
        None,
        set(),
    ),
    (
        "Warm the highlights a touch and deepen the blacks",
        "composed",
        "common",
        None,
        set(),
    ),
    (
        "Crop tighter on the face, straighten the horizon",
        "fresh",
        "common",
        None,
        set(),
    ),
    (
        "Add texture to the bark and sharpen the leaves in front",
        "lit",
        "common",
        None,
        set(),
    ),
    (
        "Rotate the bottle to face the camera, move it into the left third",
        "fresh",
        "common",
        None,
        set(),
    ),
    (
        "Make the background darker, leave the subject as it is",
        "composed",
        "common",
        None,
        set(),
    ),
    ("Convert it to black and white", "none", "common", None, set()),
    ("Enhance the rim lighting on the watch edge", "composed", "common", None, set()),
    (
        "Give the model a three-quarter pose and lower the camera slightly",
        "fresh",
        "common",
        None,
        set(),
    ),
    (
        "Brighten the window light, add a soft fill from the left",
        "composed",
        "common",
        None,
        set(),
    ),
    ("Add a second coffee cup behind the first one", "fresh", "common", None, set()),
    ("Make the steam rising from the cup more visible", "none", "common", None, set()),
    (
        "Render it with a subtle increase in saturation and gentle overall sharpening",
        "detailed",
        "ultra",
        None,
        set(),
    ),
    ("Deepen the shadows a little more", "shadows", "common", None, set()),
    (
        "Restore the original shadow intensity from the base image",
        "shadows",
        "common",
        None,
        set(),
    ),
    ("Cool the shadows on the wall", "warmer", "common", None, set()),
    (
        "Brighten the face and darken the wall behind her",
        "composed",
        "common",
        None,
        set(),
    ),
    ("Sharpen the watch face", "none", "common", "exact", set()),
    ("Sharpen the watch face", "none", "common", "unset", set()),
    ("Soften the light on the lid", "promoted", "common", None, set()),
    # Everyday phrasing: complaints with their fix, questions, paired tonal moves.
    ("The lighting is too harsh, soften it", "composed", "common", None, set()),
    (
        "Make the shadows darker and the highlights brighter",
        "composed",
        "common",
        None,
        set(),
    ),
    (
        "Warmer tones please, and a little more contrast",
        "composed",
        "common",
        None,
        set(),
    ),
    ("Replace the background with a beach at sunset", "fresh", "common", None, set()),
    (
        "Can you make the colours a bit more vibrant?",
        "lit",
        "common",
        None,
        {"final-on-common"},
    ),
    # The guide's workflow on a watch, round by round.
    (WATCH[0], "watch1", "common", None, set()),
    (WATCH[1], "watch2", "common", None, {INFO}),
    (WATCH[2], "watch3", "common", None, {INFO}),
    (WATCH[3], "watch4", "common", None, {"final-on-common"}),
    (WATCH[3], "watch4", "ultra", None, set()),
    # The guide's case study on a phone, its last round on Ultra as in the guide.
    (PHONE[0], "phone1", "common", None, set()),
    (PHONE[1], "phone2", "common", None, set()),
    (PHONE[2], "phone3", "common", None, set()),
    (PHONE[3], "phone4", "ultra", None, set()),
    # Vague.
    ("make it better", "none", "common", None, {"vague"}),
    ("Make it better", "composed", "common", None, {"vague"}),
    ("Improve the quality", "none", "common", None, {"vague"}),
    ("fix it", "none", "common", None, {"vague"}),
    ("More professional please", "none", "common", None, {"vague"}),
    ("Make the watch look nicer", "none", "common", None, {"vague"}),
    ("make it pop!", "none", "common", None, {"vague"}),
    ("Sharpen the logo and make everything better", "none", "common", None, {"vague"}),
    ("Keep everything else unchanged.", "none", "common", None, {"vague"}),
    # Too many changes.
    (
        "Move the mug to the right, brighten the window light, sharpen the steam, "
        "add film grain, tilt the horizon",
        "none",
        "common",
        None,
        {MANY},
    ),
    (
        "Sharpen the eyes, add texture to the skin, define the eyebrows, add detail "
        "to the hair, sharpen the lashes, crisp up the lips",
        "composed",
        "common",
        None,
        {MANY},
    ),
    (
        "- move the lamp left\n- dim the room light\n- sharpen the book titles\n"
        "- add film grain",
        "none",
        "common",
        None,
        {MANY},
    ),
    (
        "1. Center the bowl\n2. Lower the camera angle\n3. Soften the window light\n"
        "4. Increase contrast",
        "none",
        "common",
        None,
        {MANY},
    ),
    (
        "Soften the key light; add a glow to the lantern; warm the rim light; "
        "deepen the shadows on the floor",
        "composed",
        "common",
        None,
        {INFO},
    ),
    # Contradicting an earlier round.
    ("Reduce the shadows", "shadows", "common", None, {"contradiction"}),
    ("Make the lighting cooler", "warmer", "common", None, {"contradiction"}),
    ("Shift the watch to the right", "left", "common", None, {"contradiction"}),
    ("Remove the fern", "plant", "common", None, {"contradiction"}),
    ("Soften the shadows", "promoted", "common", None, {"contradiction"}),
    # Contradicting itself.
    (
        "Brighten the image but also darken it",
        "none",
        "common",
        None,
        {"self-contradiction"},
    ),
    (
        "Increase the contrast and then reduce the contrast",
        "none",
        "common",
        None,
        {"self-contradiction"},
    ),
    (
        "Move the logo left and then right",
        "none",
        "common",
        None,
        {"self-contradiction"},
    ),
    ("make it warmer and cooler", "none", "common", None, {"self-contradiction"}),
    # Detail work too early, and composition after detail work.
    (
        "Sharpen the stitching on the collar",
        "fresh",
        "common",
        None,
        {"premature-detail"},
    ),
    (
        "Add subtle film grain and raise the saturation",
        "fresh",
        "common",
        None,
        {"premature-detail", "final-on-common"},
    ),
    (
        "Move the watch closer to the lens",
        "detailed",
        "common",
        None,
        {"premature-detail"},
    ),
    (
        "Zoom out to show the whole table",
        "detailed",
        "common",
        None,
        {"premature-detail"},
    ),
    # Ultra too early; polish on Common.
    (
        "Move the bottle closer to the camera",
        "fresh",
        "ultra",
        None,
        {"ultra-too-early"},
    ),
    (
        "Soften the shadows behind the bottle",
        "detailed",
        "ultra",
        None,
        {"ultra-too-early"},
    ),
    ("Sharpen the label", "none", "ultra", None, {"ultra-too-early"}),
    ("Slightly raise the saturation", "none", "common", None, {"final-on-common"}),
    # Targeted changes without a keep clause.
    (
        "Blur the background a little more",
        "none",
        "common",
        None,
        {"missing-keep-clause"},
    ),
    ("Only sharpen the eyes.", "none", "common", None, {"missing-keep-clause"}),
    (
        "Focus on the lower right corner: remove the power cable",
        "none",
        "common",
        None,
        {"missing-keep-clause"},
    ),
    (
        "Add painterly brushwork to the sky",
        "none",
        "common",
        None,
        {"missing-keep-clause"},
    ),
    ("Darken the sky, keep the rest unchanged", "none", "common", None, set()),
    (
        "Sharpen only the foreground without touching the background",
        "none",
        "common",
        None,
        set(),
    ),
    # Long branches, budgets, empty and long instructions.
    ("Warm the highlights slightly", "deep", "common", None, {"diminishing-returns"}),
    ("Sharpen the watch face", "none", "common", "over", {"over-budget"}),
    ("", "none", "common", None, {"empty"}),
    ("   \n ", "none", "common", None, {"empty"}),
    (
        "Warm the light on the " + "very " * 200 + "old wall",
        "none",
        "common",
        None,
        {"too-long"},
    ),
]


def _codes(warnings: list[LintWarning]) -> set[str]:
    codes = set()
    for w in warnings:
        if w.code == "too-many-changes":
            codes.add(MANY if w.severity == "warning" else INFO)
        else:
            codes.add(w.code)
    return codes


def test_the_table_is_large_and_covers_every_code() -> None:
    covered = set().union(*(codes for *_, codes in CASES))
    assert len(CASES) >= 60
    assert covered == {
        MANY,
        INFO,
        "vague",
        "contradiction",
        "self-contradiction",
        "premature-detail",
        "ultra-too-early",
        "final-on-common",
        "missing-keep-clause",
        "diminishing-returns",
        "over-budget",
        "empty",
        "too-long",
    }
    assert sum(1 for *_, codes in CASES if not codes) >= 20


@pytest.mark.parametrize(
    ("instruction", "branch", "quality", "budget", "expected"),
    CASES,
    ids=[f"{i:02d}-{c[0][:40]}" for i, c in enumerate(CASES)],
)
def test_lint_table(
    instruction: str, branch: str, quality: str, budget: str | None, expected: set[str]
) -> None:
    report = lint(
        instruction,
        BRANCHES[branch],
        quality,
        BUDGETS[budget] if budget else None,
    )
    assert _codes(report.warnings) == expected, [w.message for w in report.warnings]
    for warning in report.warnings:
        assert warning.severity in ("warning", "info")
        assert 0 <= warning.start <= warning.end <= len(instruction)
        assert warning.message


def test_severities_follow_the_issue() -> None:
    info = {"final-on-common", "missing-keep-clause", "diminishing-returns"}
    for instruction, branch, quality, budget, _expected in CASES:
        report = lint(
            instruction, BRANCHES[branch], quality, BUDGETS[budget] if budget else None
        )
        for w in report.warnings:
            if w.code in info:
                assert w.severity == "info", w
            elif w.code != "too-many-changes":
                assert w.severity == "warning", w
        severities = [w.severity for w in report.warnings]
        assert severities == sorted(severities, key=lambda s: s != "warning")


# -- splitting --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "changes"),
    [
        ("Convert it to black and white", ["Convert it to black and white"]),
        (
            "Enhance the rim lighting on the watch edge and sharpen the hands",
            ["Enhance the rim lighting on the watch edge", "sharpen the hands"],
        ),
        (
            "Focus only on the foreground subject: increase detail and sharpness.",
            ["Focus only on the foreground subject: increase detail and sharpness"],
        ),
        (
            "- move the lamp left\n- dim the room light\n* add film grain",
            ["move the lamp left", "dim the room light", "add film grain"],
        ),
        (
            "1) Center the bowl 2) nothing else",
            ["Center the bowl"],
        ),
        ("Sharpen the face, hands and case", ["Sharpen the face, hands and case"]),
        ("Add a warm, soft glow to the lamp", ["Add a warm, soft glow to the lamp"]),
        (
            "Increase contrast; soften the background.\nThen add grain",
            ["Increase contrast", "soften the background", "add grain"],
        ),
        (
            "Brighten the sky, then warm the sand & cool the sea",
            ["Brighten the sky", "warm the sand", "cool the sea"],
        ),
        (
            "\u0130stanbul skyline: warm the light, don\u2019t touch the \u0130 sign",
            ["\u0130stanbul skyline: warm the light"],
        ),
    ],
)
def test_changes_are_split_where_a_user_means_them(
    instruction: str, changes: list[str]
) -> None:
    report = lint(instruction)
    assert [c.text for c in report.changes] == changes
    for change in report.changes:
        assert instruction[change.start : change.end] == change.text


def test_keep_clauses_are_not_changes() -> None:
    report = lint(
        "Focus only on the foreground subject: increase detail and sharpness. "
        "Leave the background unchanged."
    )
    assert len(report.changes) == 1
    assert report.stage == "details"
    assert report.warnings == []


# -- stages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "stage"),
    [
        (WATCH[0], "composition"),
        (WATCH[1], "lighting"),
        (WATCH[2], "details"),
        (WATCH[3], "polish"),
        (PHONE[0], "composition"),
        (PHONE[1], "lighting"),
        (PHONE[2], "details"),
        (PHONE[3], "polish"),
        ("Add subtle painterly qualities", "style"),
        (
            "Increase artistic interpretation while maintaining subject recognition",
            "style",
        ),
        ("Turn it into a watercolour", "style"),
        ("Add a lighthouse on the far cliff", "composition"),
        ("Make the watch gold", "other"),
        ("", "other"),
    ],
)
def test_classify_stage(instruction: str, stage: str) -> None:
    assert classify_stage(instruction) == stage


# -- spans and suggestions --------------------------------------------------------


def _one(report_warnings: list[LintWarning], code: str) -> LintWarning:
    found = [w for w in report_warnings if w.code == code]
    assert len(found) == 1, report_warnings
    return found[0]


def test_vague_span_is_the_vague_change_only() -> None:
    text = "Sharpen the logo and make everything better"
    warning = _one(lint(text).warnings, "vague")
    assert text[warning.start : warning.end] == "make everything better"


def test_contradiction_names_the_round_and_offers_the_one_before() -> None:
    text = "Keep the face as it is. Reduce the shadows"
    warning = _one(lint(text, BRANCHES["shadows"]).warnings, "contradiction")
    assert text[warning.start : warning.end] == "Reduce the shadows"
    assert "round 3" in warning.message
    assert "Branch from round 2" in warning.suggestion
    assert "Restore the shadows from round 2" in warning.suggestion


def test_contradiction_of_a_position_names_the_move() -> None:
    warning = _one(
        lint("Shift the watch to the right", BRANCHES["left"]).warnings,
        "contradiction",
    )
    assert "round 2" in warning.message
    assert "Branch from round 1" in warning.suggestion


def test_self_contradiction_spans_both_sides() -> None:
    text = "Please brighten the image but also darken it."
    warning = _one(lint(text).warnings, "self-contradiction")
    assert text[warning.start : warning.end] == "brighten the image but also darken it"


def test_premature_detail_after_detail_work_names_that_round() -> None:
    text = "Sharpen the hands, then move the watch closer to the lens"
    warning = _one(lint(text, BRANCHES["detailed"]).warnings, "premature-detail")
    assert text[warning.start : warning.end] == "move the watch closer to the lens"
    assert "round 4" in warning.message
    assert "Branch from round 3" in warning.suggestion


def test_missing_keep_clause_suggests_the_exact_clause() -> None:
    with_stop = _one(lint("Only sharpen the eyes.").warnings, "missing-keep-clause")
    assert with_stop.suggestion == KEEP_CLAUSE == " Keep everything else unchanged."
    bare = _one(lint("Blur the background").warnings, "missing-keep-clause")
    assert bare.suggestion == "." + KEEP_CLAUSE
    fixed = "Blur the background" + bare.suggestion
    assert "missing-keep-clause" not in {w.code for w in lint(fixed).warnings}


def test_split_suggestion_orders_rounds_by_stage() -> None:
    text = (
        "add film grain, sharpen the label, soften the key light, move the bottle "
        "left, raise the saturation"
    )
    warning = _one(lint(text).warnings, "too-many-changes")
    assert warning.severity == "warning"
    assert warning.suggestion.splitlines() == [
        "1. composition: Move the bottle left.",
        "2. lighting: Soften the key light.",
        "3. details: Sharpen the label.",
        "4. polish: Add film grain, raise the saturation.",
    ]


def test_split_suggestion_breaks_one_stage_into_rounds_of_at_most_three() -> None:
    text = WATCH[2]
    warning = _one(lint(text, BRANCHES["watch3"]).warnings, "too-many-changes")
    assert warning.severity == "info"
    lines = warning.suggestion.splitlines()
    assert lines == [
        "1. details: Sharpen the watch face details, enhance the metallic reflection "
        "on the watch case.",
        "2. details: Add more texture to the wooden surface, improve the clarity of "
        "watch hands.",
    ]


def test_ultra_too_early_counts_rounds_on_the_branch() -> None:
    polish = "Very subtle increase in overall saturation"
    assert "ultra-too-early" in {
        w.code for w in lint(polish, BRANCHES["composed"], "ultra").warnings
    }
    assert "ultra-too-early" not in {
        w.code for w in lint(polish, BRANCHES["lit"], "ultra").warnings
    }


def test_over_budget_says_by_how_much() -> None:
    warning = _one(
        lint("Sharpen the hands", (), "common", BUDGETS["over"]).warnings,
        "over-budget",
    )
    assert "10 over" in warning.message
    assert (warning.start, warning.end) == (0, 0)


def test_too_long_marks_the_part_past_the_limit() -> None:
    text = "Warm the light on the " + "very " * 200 + "old wall"
    warning = _one(lint(text).warnings, "too-long")
    assert (warning.start, warning.end) == (1000, len(text))


def test_report_json_matches_the_issue() -> None:
    report = lint("make it better", BRANCHES["composed"])
    assert report.to_json() == {
        "changes": 1,
        "stage": "other",
        "warnings": [
            {
                "code": "vague",
                "severity": "warning",
                "message": report.warnings[0].message,
                "start": 0,
                "end": 14,
                "suggestion": report.warnings[0].suggestion,
            }
        ],
    }


def test_branch_analysis_is_cached_but_follows_a_changed_branch() -> None:
    first = lint("Reduce the shadows", BRANCHES["shadows"])
    changed = (*COMPOSED, R(3, "Sharpen the hands"))
    second = lint("Reduce the shadows", changed)
    again = lint("Reduce the shadows", BRANCHES["shadows"])
    assert "contradiction" in first.codes
    assert "contradiction" not in second.codes
    assert again.codes == first.codes


_WORDY = st.lists(
    st.sampled_from(
        list(" ,;:.!?\n-*()'&\u2019\u0130\u2014")
        + ["warm", "cool", "the", "and", "shadows", "left", "only", "1)", "keep", "add"]
    ),
    max_size=80,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=300), _WORDY))
def test_any_text_lints_with_spans_inside_it(text: str) -> None:
    report = lint(text, BRANCHES["detailed"], "ultra", BUDGETS["over"])
    for change in report.changes:
        assert text[change.start : change.end] == change.text
        assert change.text.strip()
    for warning in report.warnings:
        assert 0 <= warning.start <= warning.end <= len(text)
    assert report.stage in (
        "composition",
        "lighting",
        "details",
        "polish",
        "style",
        "other",
    )
