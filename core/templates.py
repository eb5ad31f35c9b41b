"""Multi-round templates: plans of refinement rounds, and their TOML form.

A template is what a successful branch looks like once the particulars are taken
out: a sequence of steps, each a workflow stage, the goal of the round, the tier to
run it on and a skeleton instruction with slots such as ``{subject}``. ripen ships a
few built-in templates for the common kinds of work and lets users save their own
from any branch; they travel as small TOML files. This module holds the pure part:
the data, the built-ins, TOML in both directions with validation, filling slots and
finding the next step. Keeping them in a data folder is :mod:`core.library`'s job.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import BadInput
from core.text import clean_text

STAGES = ("composition", "lighting", "details", "polish", "style", "other")
TIERS = ("common", "ultra")

# What a slot becomes when the user gives no value: a plain phrase that keeps the
# instruction readable, and that the local backend reads as "the whole picture".
DEFAULT_SLOTS: dict[str, str] = {
    "subject": "the subject",
    "product": "the product",
    "person": "the person",
    "element": "a second object",
    "style": "watercolour",
    "surface": "the surface",
}

_SLOT = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_TEMPLATE_KEYS = ("name", "title", "description", "steps")
_STEP_KEYS = ("stage", "goal", "skeleton", "tier", "alternatives")


@dataclass(frozen=True)
class TemplateStep:
    """One planned round: its stage, what it is for, and the instruction to adapt.

    An A/B step names ``alternatives``: two or more instructions to run as sibling
    rounds and compare; its ``skeleton`` is the first of them.
    """

    stage: str
    goal: str
    skeleton: str
    tier: str = "common"
    alternatives: tuple[str, ...] = ()

    @property
    def quality(self) -> str:
        """The tier under the name the engine uses for it."""
        return self.tier

    @property
    def slots(self) -> list[str]:
        """The slot names the step's instructions use, in order of appearance."""
        return slots_in(self.skeleton, *self.alternatives)


@dataclass(frozen=True)
class Template:
    """A named sequence of steps; ``builtin`` marks the ones that ship with ripen."""

    name: str
    title: str = ""
    description: str = ""
    steps: Sequence[TemplateStep] = field(default=())
    builtin: bool = False

    def __post_init__(self) -> None:
        # Callers build templates from lists; a tuple keeps the template immutable
        # and makes two templates with the same steps compare equal.
        if not isinstance(self.steps, tuple):
            object.__setattr__(self, "steps", tuple(self.steps))

    @property
    def label(self) -> str:
        """The title when there is one, otherwise the name."""
        return self.title or self.name


def slots_in(*texts: str) -> list[str]:
    """The distinct slot names used in ``texts``, in order of first appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _SLOT.finditer(text):
            seen.setdefault(match.group(1), None)
    return list(seen)


def fill(skeleton: str, slots: Mapping[str, str] | None = None) -> str:
    """Put values into a skeleton's ``{slots}``.

    A slot takes its value from ``slots``, then from :data:`DEFAULT_SLOTS`; a slot
    known to neither stays visible as written, so the user sees what is missing.
    Braces that are not a slot name are left alone.
    """
    given = slots or {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in given:
            return given[name]
        return DEFAULT_SLOTS.get(name, match.group(0))

    return _SLOT.sub(value, skeleton)


def next_step(template: Template, rounds_done: int) -> TemplateStep | None:
    """The step that follows ``rounds_done`` finished ones; None when all are done."""
    if rounds_done < 0:
        raise BadInput(f"Rounds done cannot be negative (got {rounds_done}).")
    if rounds_done >= len(template.steps):
        return None
    return template.steps[rounds_done]


# -- built-in templates -----------------------------------------------------------


def _step(
    stage: str,
    goal: str,
    skeleton: str,
    tier: str = "common",
    alternatives: Sequence[str] = (),
) -> TemplateStep:
    return TemplateStep(stage, goal, skeleton, tier, tuple(alternatives))


_WARM_LIGHT = (
    "Warm the light on {subject} and soften the shadows. "
    "Keep everything else unchanged."
)
_COOL_LIGHT = (
    "Cool the light on {subject} and deepen the shadows. "
    "Keep everything else unchanged."
)

_BUILTINS = (
    Template(
        name="product",
        title="Product visualisation",
        description="A product shot built up in four rounds: placement, light, "
        "materials, then a final render on Ultra.",
        steps=(
            _step(
                "composition",
                "Settle where the product sits and how much room it has",
                "Move {product} slightly toward the centre and crop a little "
                "tighter around it",
            ),
            _step(
                "lighting",
                "Shape the light so the product reads as solid",
                "Soften the shadows under {product}, warm the highlights a touch "
                "and raise the contrast slightly",
            ),
            _step(
                "details",
                "Bring out the materials: edges, grain and reflections",
                "Sharpen the edges of {product} and add texture to {surface}",
            ),
            _step(
                "polish",
                "Final colour and crispness, rendered on Ultra",
                "Balance the colours, raise the saturation very slightly and apply "
                "a gentle overall sharpening",
                "ultra",
            ),
        ),
        builtin=True,
    ),
    Template(
        name="portrait",
        title="Portrait",
        description="A portrait from framing to finish: pose and crop, a flattering "
        "light, eyes and skin, then a final render on Ultra.",
        steps=(
            _step(
                "composition",
                "Frame the person and level the picture",
                "Crop to frame {person} from the shoulders up and straighten the "
                "horizon",
            ),
            _step(
                "lighting",
                "A soft, flattering light on the face",
                "Soften the light on the face, lighten the shadows under the eyes "
                "slightly and warm the skin tones a touch",
            ),
            _step(
                "details",
                "Sharp eyes, natural skin",
                "Sharpen the eyes and eyelashes of {person} while keeping the skin "
                "texture natural",
            ),
            _step(
                "polish",
                "A quiet finish, rendered on Ultra",
                "Add a faint vignette, balance the colours and raise the saturation "
                "very slightly",
                "ultra",
            ),
        ),
        builtin=True,
    ),
    Template(
        name="landscape",
        title="Landscape",
        description="A landscape in four rounds: horizon and framing, the time of "
        "day, foreground texture, then a final render on Ultra.",
        steps=(
            _step(
                "composition",
                "Put the horizon where it belongs",
                "Straighten the horizon and crop so it sits near the lower third",
            ),
            _step(
                "lighting",
                "Choose the light: the hour and its warmth",
                "Warm the light as in late afternoon, deepen the shadows slightly "
                "and add a light haze in the distance",
            ),
            _step(
                "details",
                "Texture in the foreground, where the eye lands first",
                "Sharpen the rocks and plants in the foreground and add texture to "
                "the ground",
            ),
            _step(
                "polish",
                "Colour and clarity, rendered on Ultra",
                "Raise the saturation slightly, add a soft vignette and apply a "
                "gentle overall sharpening",
                "ultra",
            ),
        ),
        builtin=True,
    ),
    Template(
        name="progressive",
        title="Progressive complexity",
        description="Start from one subject and add to it a round at a time, so the "
        "model is never asked for everything at once.",
        steps=(
            _step(
                "composition",
                "Add one secondary element next to the subject",
                "Add {element} beside {subject}, a little behind it",
            ),
            _step(
                "details",
                "Give the background some quiet detail",
                "Add subtle texture and a few small details to the background. "
                "Keep everything else unchanged.",
            ),
            _step(
                "lighting",
                "Tie the scene together with one light",
                "Soften the overall light and deepen the shadows behind {subject}",
            ),
            _step(
                "polish",
                "Final render on Ultra",
                "Balance the colours and apply a gentle overall sharpening",
                "ultra",
            ),
        ),
        builtin=True,
    ),
    Template(
        name="style-evolution",
        title="Style evolution",
        description="Move a realistic picture toward an artistic style in steps, "
        "so the subject stays recognisable all the way.",
        steps=(
            _step(
                "composition",
                "Give the change a clear centre",
                "Crop a little tighter around {subject}",
            ),
            _step(
                "style",
                "A first hint of the style",
                "Add a subtle {style} feel to the textures while keeping {subject} "
                "realistic",
            ),
            _step(
                "style",
                "More of the style, same subject",
                "Strengthen the {style} look in the brushwork and colours, "
                "keeping {subject} recognisable",
            ),
            _step(
                "style",
                "The whole picture in the style, rendered on Ultra",
                "Render the whole scene as a {style} painting",
                "ultra",
            ),
        ),
        builtin=True,
    ),
    Template(
        name="ab-lighting",
        title="A/B lighting test",
        description="Settle the framing, then try a warm and a cool light as two "
        "sibling rounds, keep the winner and finish it.",
        steps=(
            _step(
                "composition",
                "Settle the framing before comparing lights",
                "Move {subject} slightly toward the centre and crop a little tighter",
            ),
            _step(
                "lighting",
                "Compare a warm and a cool light; continue from the winner",
                _WARM_LIGHT,
                alternatives=(_WARM_LIGHT, _COOL_LIGHT),
            ),
            _step(
                "details",
                "Sharpen what the light now shows",
                "Sharpen the edges of {subject} and add texture to {surface}",
            ),
            _step(
                "polish",
                "Final render on Ultra",
                "Balance the colours and apply a gentle overall sharpening",
                "ultra",
            ),
        ),
        builtin=True,
    ),
)


def builtin_templates() -> list[Template]:
    """The templates that ship with ripen, in the order they are listed."""
    return list(_BUILTINS)


# -- TOML -------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string, escaped so any text survives a round trip."""
    out = []
    for ch in text:
        escaped = _ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def template_to_toml(template: Template) -> str:
    """A template as a TOML document that :func:`template_from_toml` reads back."""
    lines = [f"name = {toml_string(template.name)}"]
    if template.title:
        lines.append(f"title = {toml_string(template.title)}")
    lines.append(f"description = {toml_string(template.description)}")
    for step in template.steps:
        lines += [
            "",
            "[[steps]]",
            f"stage = {toml_string(step.stage)}",
            f"goal = {toml_string(step.goal)}",
            f"skeleton = {toml_string(step.skeleton)}",
            f"tier = {toml_string(step.tier)}",
        ]
        if step.alternatives:
            lines.append("alternatives = [")
            lines += [f"    {toml_string(a)}," for a in step.alternatives]
            lines.append("]")
    return "\n".join(lines) + "\n"


def template_from_toml(text: str) -> Template:
    """Read and check a template written by :func:`template_to_toml` or by hand.

    Raises :class:`BadInput` naming the field at fault. A template read from TOML
    is never a built-in, whatever the file says.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"The template is not valid TOML: {exc}.") from None
    _check_keys(data, _TEMPLATE_KEYS, "The template")
    name = _text(data, "name", "The template", required=True)
    if "\n" in name or not name.strip():
        raise BadInput("The template's 'name' must be one line of text.")
    title = _text(data, "title", "The template")
    description = _text(data, "description", "The template")
    raw_steps = data.get("steps")
    if raw_steps is None:
        raise BadInput("The template has no steps: add at least one [[steps]] table.")
    if not isinstance(raw_steps, list) or not all(
        isinstance(s, dict) for s in raw_steps
    ):
        raise BadInput("The template's 'steps' must be [[steps]] tables.")
    if not raw_steps:
        raise BadInput("The template has no steps: add at least one [[steps]] table.")
    steps = tuple(_step_from(raw, number) for number, raw in enumerate(raw_steps, 1))
    return Template(name=name, title=title, description=description, steps=steps)


def _step_from(raw: dict[str, Any], number: int) -> TemplateStep:
    where = f"Step {number}"
    _check_keys(raw, _STEP_KEYS, where)
    stage = _text(raw, "stage", where, required=True)
    if stage not in STAGES:
        raise BadInput(
            f"{where}: 'stage' must be one of {', '.join(STAGES)}, not {stage!r}."
        )
    tier = _text(raw, "tier", where) or "common"
    if tier not in TIERS:
        raise BadInput(f"{where}: 'tier' must be common or ultra, not {tier!r}.")
    alternatives = raw.get("alternatives", [])
    if not isinstance(alternatives, list) or not all(
        isinstance(a, str) and a.strip() for a in alternatives
    ):
        raise BadInput(f"{where}: 'alternatives' must be a list of instructions.")
    if len(alternatives) == 1:
        raise BadInput(
            f"{where}: 'alternatives' names one instruction; an A/B step needs two "
            "or more."
        )
    # An A/B step may leave out its skeleton: it runs the first alternative.
    skeleton = _text(raw, "skeleton", where, required=not alternatives)
    skeleton = skeleton or (alternatives[0] if alternatives else "")
    if not skeleton.strip():
        raise BadInput(f"{where}: 'skeleton' is empty; write the instruction to run.")
    return TemplateStep(
        stage=stage,
        goal=_text(raw, "goal", where),
        skeleton=skeleton,
        tier=tier,
        alternatives=tuple(alternatives),
    )


def _check_keys(data: dict[str, Any], known: Sequence[str], where: str) -> None:
    for key in data:
        if key not in known:
            raise BadInput(
                f"{where} has an unknown field {key!r}; the fields are "
                f"{', '.join(known)}."
            )


def _text(data: dict[str, Any], key: str, where: str, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise BadInput(f"{where} has no {key!r}.")
        return ""
    if not isinstance(value, str):
        raise BadInput(f"{where}: {key!r} must be text, not {type(value).__name__}.")
    # Template files are shared between people: no terminal controls get through.
    return clean_text(value)
