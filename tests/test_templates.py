"""Templates: the built-ins, their TOML form, validation, slots and the next step."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass

import pytest

from core.errors import BadInput
from core.lint import lint
from core.templates import (
    DEFAULT_SLOTS,
    STAGES,
    Template,
    TemplateStep,
    builtin_templates,
    fill,
    next_step,
    template_from_toml,
    template_to_toml,
    toml_string,
)
from core.text import clean_text


@dataclass(frozen=True)
class R:
    number: int
    instruction: str
    quality: str = "common"
    mode: str = "refine"


def _as_read(template: Template) -> Template:
    """What reading a template back gives: the same, but never a built-in."""
    return dataclasses.replace(template, builtin=False)


def test_the_built_ins_cover_the_kinds_of_work() -> None:
    templates = builtin_templates()
    assert [t.name for t in templates] == [
        "product",
        "portrait",
        "landscape",
        "progressive",
        "style-evolution",
        "ab-lighting",
    ]
    for template in templates:
        assert template.builtin and template.title and template.description
        assert 3 <= len(template.steps) <= 5
        assert all(step.stage in STAGES and step.goal for step in template.steps)
        # Explore on Common; only the last round, if any, is rendered on Ultra.
        assert all(step.tier == "common" for step in template.steps[:-1])
    assert [s.tier for s in templates[0].steps][-1] == "ultra"


def test_the_ab_template_names_two_alternatives() -> None:
    ab = next(t for t in builtin_templates() if t.name == "ab-lighting")
    [step] = [s for s in ab.steps if s.alternatives]
    assert step.stage == "lighting"
    assert len(step.alternatives) == 2
    assert step.skeleton == step.alternatives[0]
    warm, cool = (fill(a) for a in step.alternatives)
    assert "Warm" in warm and "Cool" in cool


def test_built_in_steps_follow_the_workflow_habits() -> None:
    """Each built-in, run as written from a first round, trips no lint warning."""
    for template in builtin_templates():
        branch = [R(1, "A photograph", mode="generate")]
        for step in template.steps:
            for text in step.alternatives or (step.skeleton,):
                report = lint(fill(text), branch, step.tier)
                warnings = [w.code for w in report.warnings if w.severity == "warning"]
                assert warnings == [], (template.name, text, warnings)
                assert report.stage == step.stage, (template.name, text)
                assert 1 <= len(report.changes) <= 3, (template.name, text)
            branch.append(R(len(branch) + 1, fill(step.skeleton), step.tier))


def test_built_in_skeletons_are_our_own_words() -> None:
    guide_phrases = [
        "adjust the watch position slightly higher",
        "enhance the rim lighting",
        "add subtle painterly qualities",
        "increase artistic interpretation",
        "overall composition and pose",
        "product positioning and angle",
        "overall composition and horizon",
    ]
    for template in builtin_templates():
        for step in template.steps:
            text = f"{step.goal} {step.skeleton}".lower()
            assert not any(phrase in text for phrase in guide_phrases), text


# -- slots ------------------------------------------------------------------------


def test_fill_uses_given_values_then_defaults_and_leaves_unknown_slots() -> None:
    skeleton = "Sharpen {subject} on {surface} and tint {mystery}; keep {{subject}}"
    assert fill(skeleton, {"subject": "the brass watch"}) == (
        "Sharpen the brass watch on the surface and tint {mystery}; keep {the brass "
        "watch}"
    )
    assert fill("Warm {subject}") == f"Warm {DEFAULT_SLOTS['subject']}"
    assert fill("Warm {Subject} and {not a slot}") == "Warm {Subject} and {not a slot}"
    assert fill("Nothing to fill") == "Nothing to fill"


def test_every_built_in_fills_completely_with_defaults() -> None:
    for template in builtin_templates():
        for step in template.steps:
            assert "{" not in fill(step.skeleton), step.skeleton
            assert set(step.slots) <= set(DEFAULT_SLOTS)


def test_next_step_walks_the_template_then_stops() -> None:
    template = builtin_templates()[0]
    assert next_step(template, 0) == template.steps[0]
    assert next_step(template, 2) == template.steps[2]
    assert next_step(template, len(template.steps)) is None
    assert next_step(template, 99) is None
    with pytest.raises(BadInput, match="negative"):
        next_step(template, -1)


# -- TOML -------------------------------------------------------------------------


@pytest.mark.parametrize("template", builtin_templates(), ids=lambda t: t.name)
def test_every_built_in_round_trips_through_toml(template: Template) -> None:
    text = template_to_toml(template)
    assert tomllib.loads(text)["name"] == template.name
    back = template_from_toml(text)
    assert back == _as_read(template)
    assert template_to_toml(back) == text


AWKWARD = [
    'say "cheese"',
    "C:\\photos\\raw\\",
    "line one\nline two\n",
    "tab\there",
    "bell\x07 escape\x1b delete\x7f null\x00 return\r",
    "café, 東京, emoji 🎞️, combining é",
    "\\u0041 is not an escape here",
    "'single' and '''triple''' quotes",
    "trailing backslash \\",
    '[[steps]]\nname = "injected"',
    "",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_strings_survive_toml(text: str) -> None:
    assert tomllib.loads(f"value = {toml_string(text)}")["value"] == text
    # Reading a template back keeps every printable character; terminal controls
    # (bell, escape, delete, null) never get in, since template files are shared.
    text = clean_text(text)
    template = Template(
        name="awkward " + text.replace("\n", " ").strip() if text.strip() else "x",
        title=text,
        description=text,
        steps=[
            TemplateStep(
                stage="lighting",
                goal=text,
                skeleton=text or "warm it",
                tier="ultra",
                alternatives=(text or "a", "b"),
            )
        ],
    )
    assert template_from_toml(template_to_toml(template)) == template


def test_toml_string_escapes_control_characters_as_unicode() -> None:
    assert toml_string('a"b\\c\nd\te\x01\x7f') == '"a\\"b\\\\c\\nd\\te\\u0001\\u007F"'


def test_a_template_built_from_lists_equals_one_read_back() -> None:
    template = Template(
        name="recipe",
        description="Watch, 3 rounds",
        steps=[TemplateStep("composition", "Round 2: composition", "crop in slightly")],
    )
    assert isinstance(template.steps, tuple)
    assert template_from_toml(template_to_toml(template)) == template
    assert template.label == "recipe"
    assert template.steps[0].quality == "common"


def test_a_hand_written_template_with_defaults() -> None:
    template = template_from_toml(
        'name = "mine"\n[[steps]]\nstage = "details"\nskeleton = "Sharpen {subject}"\n'
    )
    assert template == Template(
        name="mine", steps=(TemplateStep("details", "", "Sharpen {subject}"),)
    )


def test_an_ab_step_without_a_skeleton_runs_its_first_alternative() -> None:
    template = template_from_toml(
        'name = "ab"\n[[steps]]\nstage = "lighting"\n'
        'alternatives = [\n  "Warm the light",\n  "Cool the light",\n]\n'
    )
    assert template.steps[0].skeleton == "Warm the light"
    assert template.steps[0].alternatives == ("Warm the light", "Cool the light")


def test_a_file_cannot_claim_to_be_built_in() -> None:
    text = template_to_toml(builtin_templates()[0])
    assert template_from_toml(text).builtin is False


_STEP = '[[steps]]\nstage = "lighting"\nskeleton = "warm it"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\n[[steps]\n', "not valid TOML"),
        ('name = "x"\nname = "y"\n' + _STEP, "not valid TOML"),
        (_STEP, "has no 'name'"),
        ("name = 3\n" + _STEP, "'name' must be text, not int"),
        ('name = "two\\nlines"\n' + _STEP, "'name' must be one line"),
        ('name = "  "\n' + _STEP, "'name' must be one line"),
        ('name = "x"\n', "has no steps"),
        ('name = "x"\nsteps = []\n', "has no steps"),
        ('name = "x"\nsteps = "all of them"\n', "'steps' must be [[steps]] tables"),
        ('name = "x"\nstpes = 1\n' + _STEP, "unknown field 'stpes'"),
        ('name = "x"\ndescription = ["a"]\n' + _STEP, "'description' must be text"),
        ('name = "x"\n[[steps]]\nskeleton = "warm it"\n', "Step 1 has no 'stage'"),
        (
            'name = "x"\n' + _STEP + '[[steps]]\nstage = "framing"\nskeleton = "a"\n',
            "Step 2: 'stage' must be one of composition",
        ),
        ('name = "x"\n' + _STEP + 'tier = "gold"\n', "Step 1: 'tier' must be common"),
        ('name = "x"\n[[steps]]\nstage = "polish"\n', "Step 1 has no 'skeleton'"),
        (
            'name = "x"\n[[steps]]\nstage = "polish"\nskeleton = " "\n',
            "Step 1: 'skeleton' is empty",
        ),
        ('name = "x"\n' + _STEP + 'colour = "red"\n', "Step 1 has an unknown field"),
        (
            'name = "x"\n' + _STEP + 'alternatives = ["only one"]\n',
            "needs two or more",
        ),
        (
            'name = "x"\n' + _STEP + "alternatives = [1, 2]\n",
            "'alternatives' must be a list of instructions",
        ),
        ('name = "x"\n' + _STEP + "goal = 7\n", "Step 1: 'goal' must be text"),
    ],
)
def test_bad_toml_is_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        template_from_toml(text)
    assert message in caught.value.message


def test_an_imported_template_cannot_carry_terminal_escapes() -> None:
    text = template_to_toml(
        Template(
            name="evil",
            title="\x1b[2Jwiped\x1b]52;c;aGk=\x07",
            steps=[TemplateStep("lighting", "goal", "warm it \u202eslightly")],
        )
    )
    read = template_from_toml(text)
    assert read.title == "wiped"
    assert read.steps[0].skeleton == "warm it slightly"
