"""The prompt linter: advice on an instruction before any credits are spent.

The workflow ripen serves rests on a few habits: two or three related changes per
round, concrete wording, the order composition, lighting, details, polish, never
undoing an earlier round, Common for exploring and Ultra for the final render, and
stopping once further rounds stop paying. Each habit is a rule here; :func:`lint`
checks an instruction against all of them and the branch it would extend, and the
interface runs it as the user types, so it has to be fast: everything that can be
prepared is prepared at import, and what it learns about a branch is cached.

The analysis is deliberately lexical. An instruction is cut into changes at commas,
semicolons, line breaks, list bullets and at "and", "then" or "but" when a new verb
follows (so "black and white" or "detail and sharpness" stay whole). Each change is
then read word by word against a small vocabulary: which stage its words belong to,
which attribute it pushes in which direction ("soften the shadows" lowers shadows),
and which parts of the picture it names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

STAGES = ("composition", "lighting", "details", "polish", "style", "other")
KEEP_CLAUSE = " Keep everything else unchanged."
MAX_CHARS = 1000
DIMINISHING_ROUNDS = 5

# The order in which a split suggestion proposes rounds. Style comes straight after
# composition because a style change repaints everything, so detail work done
# before it would be lost.
_SPLIT_ORDER = ("composition", "style", "lighting", "details", "polish", "other")
_FOUNDATION_MODES = frozenset({"generate", "edit", "compose"})


class BranchRound(Protocol):
    """What the linter reads from an earlier round of the branch."""

    @property
    def number(self) -> int: ...

    @property
    def instruction(self) -> str: ...

    @property
    def quality(self) -> str: ...

    @property
    def mode(self) -> str: ...


@dataclass(frozen=True)
class BudgetState:
    """Credits spent so far, the session budget and what this round would cost."""

    spent: int
    budget: int
    round_cost: int


@dataclass(frozen=True)
class LintWarning:
    """One piece of advice; ``start == end`` marks advice about the round as a whole
    rather than about a passage of the instruction."""

    code: str
    severity: str  # "warning" or "info"
    message: str
    start: int
    end: int
    suggestion: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "start": self.start,
            "end": self.end,
            "suggestion": self.suggestion,
        }


class Change(NamedTuple):
    """One distinct change found in an instruction, with its place in the text."""

    text: str
    start: int
    end: int
    stage: str

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "stage": self.stage,
        }


@dataclass
class Report:
    """What the linter found in one instruction."""

    changes: list[Change] = field(default_factory=list)
    stage: str = "other"
    warnings: list[LintWarning] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": len(self.changes),
            "stage": self.stage,
            "warnings": [w.to_json() for w in self.warnings],
        }

    @property
    def codes(self) -> list[str]:
        """The codes of the warnings, in report order."""
        return [w.code for w in self.warnings]


# -- vocabulary -------------------------------------------------------------------

# Kinds of word, beyond plain content words (which name objects in the picture).
_SKIP = 1  # articles, pronouns, intensity words: ignored
_PREP = 2  # prepositions: end the reach of a direction word
_CONJ = 3  # may join two changes
_GLOBAL = 4  # "overall", "entire": the whole picture
_NEG = 5  # "don't", "without": the clause constrains rather than changes


@dataclass(frozen=True, slots=True)
class _Lex:
    """What one word or phrase means to the linter."""

    kind: int = 0
    stage: str = ""
    weight: int = 1
    concrete: bool = False  # names an attribute or a definite action
    vague: bool = False  # praise or complaint with no attribute ("better")
    verb: bool = False  # may start a new change after "and"
    keep: bool = False  # says something stays as it is
    move: bool = False  # moves something within the frame
    region: bool = False  # a part of the frame ("background", "third")
    targeted: bool = False  # limits the change ("only", "focus on")
    attr: str = ""  # the attribute the word names
    sign: int = 0  # the direction it pushes its attribute, or any attribute
    polarity: int = 1  # -1 when "more" of the word means less of the attribute
    weak: bool = False  # a plain adjective: direction only if nothing stronger
    generic: bool = False  # a direction word that applies to a nearby attribute
    fallback: str = ""  # attribute a generic word pushes when it finds none
    position: bool = False  # left/right/up/down: direction only when moving
    bits: int = field(init=False, default=0)  # the flags above, for quick tests

    def __post_init__(self) -> None:
        bits = (
            _CONCRETE * self.concrete
            | _VAGUE * self.vague
            | _ACTS * (self.verb and not self.keep)
            | _DECIDES * (self.verb or self.keep or self.generic)
            | _ACTIVE * bool(self.attr or self.generic)
            | _MOVES * self.move
            | _REGION * self.region
            | _TARGETED * self.targeted
        )
        object.__setattr__(self, "bits", bits)


# The flags a clause gathers from its words, as bits so that a clause's words can
# be folded together with one "or" each.
_CONCRETE = 1
_VAGUE = 2
_ACTS = 4  # a verb that changes something (not "keep")
_DECIDES = 8  # the first such word says whether the clause keeps or changes
_ACTIVE = 16  # may push an attribute one way
_MOVES = 32
_REGION = 64
_TARGETED = 128


_WORDS: dict[str, _Lex] = {}
_LEMMA: dict[str, str] = {}
# Phrases by their first two words, longest first: ("rim", "light") -> ...
_PHRASE_PAIRS: dict[tuple[str, str], list[tuple[tuple[str, ...], _Lex]]] = {}
_PHRASE_HEADS: set[str] = set()
_VOWELS = frozenset("aeiou")


def _verb_forms(verb: str) -> set[str]:
    forms = {verb}
    if verb.endswith("e"):
        forms |= {verb + "s", verb + "d", verb[:-1] + "ing"}
    elif verb.endswith("y") and verb[-2] not in _VOWELS:
        forms |= {verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"}
    elif verb.endswith(("s", "sh", "ch", "x", "z")):
        forms |= {verb + "es", verb + "ed", verb + "ing"}
    elif (
        len(verb) <= 4
        and verb[-1] not in _VOWELS | {"w", "y"}
        and verb[-2] in _VOWELS
        and verb[-3] not in _VOWELS
    ):
        forms |= {verb + "s", verb + verb[-1] + "ed", verb + verb[-1] + "ing"}
    else:
        forms |= {verb + "s", verb + "ed", verb + "ing"}
    return forms


def _noun_forms(noun: str) -> set[str]:
    if noun.endswith("y") and noun[-2] not in _VOWELS:
        return {noun, noun[:-1] + "ies"}
    if noun.endswith(("s", "sh", "ch", "x")):
        return {noun, noun + "es"}
    return {noun, noun + "s"}


def _define(words: str, lex: _Lex, *, verbs: bool = False, nouns: bool = False) -> None:
    """Enter comma-separated words or phrases; each also under its inflections."""
    for item in words.split(","):
        item = item.strip().replace("colour", "color")
        if not item:
            continue
        if " " in item:
            parts = tuple(_LEMMA.get(part, part) for part in item.split())
            known = _PHRASE_PAIRS.setdefault((parts[0], parts[1]), [])
            known.append((parts, lex))
            known.sort(key=lambda entry: -len(entry[0]))
            _PHRASE_HEADS.add(parts[0])
            continue
        forms = {item}
        if verbs:
            forms |= _verb_forms(item)
        if nouns:
            forms |= _noun_forms(item)
        for form in forms:
            _LEMMA.setdefault(form, item)
            if "color" in form:
                _LEMMA.setdefault(form.replace("color", "colour"), item)
        _WORDS[item] = lex


def _build_vocabulary() -> None:
    skip = _Lex(kind=_SKIP)
    _define(
        "a, an, the, it, its, it's, this, that, these, those, them, they, their, "
        "there, is, are, be, been, was, were, so, as, than, some, any, each, every, "
        "all, slightly, slight, subtle, subtly, very, much, bit, little, lot, touch, "
        "tad, hint, quite, rather, somewhat, really, too, even, again, now, still, "
        "way, far, gently, gentle, mild, mildly, minimal, minimally, small, tiny, "
        "strongly, significantly, considerably, noticeably, barely, please, maybe, "
        "perhaps, i, me, my, we, us, our, you, your, can, could, would, should, "
        "will, want, like, need, let's, lets, try, look, feel, appear, seem, "
        "version, round, step, original, base, previous, earlier, before, after, "
        "one, ones, also, then, extra, other, rest, thing, things, 's, "
        "full, fully, completely, totally, entirely, well, make sure, ensure, "
        "stay, remain, sure, both, soft",
        skip,
    )
    _define(
        "to, on, in, at, of, for, from, by, into, onto, across, over, under, near, "
        "around, behind, through, toward, towards, within, along, against, about, "
        "between, beside, above, below, via, per, with, using",
        _Lex(kind=_PREP),
    )
    _define("and, &, but, while, plus, whereas, or", _Lex(kind=_CONJ))
    _define(
        "overall, entire, whole, global, globally, everywhere, everything, image, "
        "picture, photo, photograph, shot, scene, uniformly",
        _Lex(kind=_GLOBAL),
    )
    _define(
        "don't, dont, do not, not, never, without, no, avoid, nothing, none",
        _Lex(kind=_NEG, keep=True),
    )
    keep = _Lex(keep=True, verb=True)
    _define("keep, leave, preserve, maintain, retain, protect", keep, verbs=True)
    _define(
        "unchanged, untouched, intact, alone, same, nothing else",
        _Lex(keep=True),
    )

    # Verbs that name no attribute: they start a change but say nothing concrete.
    _define(
        "make, adjust, change, give, turn, set, apply, use, render, create, bring, "
        "let, do, get, go, put, have, alter, modify, update, edit, rework, redo, "
        "work, restore, revert, return, match, convert, transform, finish, lift, "
        "open, show, reveal, hide",
        _Lex(verb=True),
        verbs=True,
    )
    _define(
        "better, best, nicer, nice, good, great, professional, professionally, "
        "quality, pop, beautiful, stunning, amazing, awesome, attractive, appealing, "
        "impressive, interesting, expensive, premium, luxurious, luxury, elegant, "
        "sophisticated, wow, epic, engaging, striking, eye-catching, high-end, "
        "pleasing, vibe, special, magic, magical, cleaner, clean, perfection, "
        "polished, good-looking, realistic-looking, improvement, cool-looking, "
        "fantastic, gorgeous, lovely, pretty, prettier, fancy, fancier, slick, sleek",
        _Lex(vague=True),
    )
    _define(
        "improve, fix, perfect, tweak, refine, upgrade, beautify",
        _Lex(vague=True, verb=True),
        verbs=True,
    )
    # Limiting words, which make a change targeted.
    _define(
        "only, solely, exclusively, focus on, focus only on, just the, limit, "
        "restrict, confine",
        _Lex(targeted=True),
        verbs=True,
    )
    _define(
        "background, backdrop, foreground, middle ground, midground, sky, corner, "
        "border, periphery, third, half, side, quadrant, area, region, part, edge "
        "of the frame, top, bottom, upper, surroundings, surrounding",
        _Lex(region=True),
        nouns=True,
    )

    # Direction words that push whichever attribute they meet.
    up = _Lex(verb=True, generic=True, sign=1)
    down = _Lex(verb=True, generic=True, sign=-1)
    _define(
        "increase, boost, raise, heighten, intensify, amplify, strengthen, deepen, "
        "emphasize, emphasise, accentuate, exaggerate, maximize, punch up, pump up, "
        "bring out, bring up, turn up, dial up",
        up,
        verbs=True,
    )
    _define("enhance", _Lex(verb=True, generic=True, sign=1, vague=True), verbs=True)
    _define(
        "more, stronger, deeper, heavier, richer, greater", _Lex(generic=True, sign=1)
    )
    _define(
        "decrease, reduce, lessen, diminish, weaken, minimize, minimise, subdue, "
        "tame, tone down, dial down, dial back, pull back, turn down, cut, calm",
        down,
        verbs=True,
    )
    _define("less, fewer, weaker", _Lex(generic=True, sign=-1))
    _define(
        "soften",
        _Lex(verb=True, generic=True, sign=-1, fallback="sharpness", concrete=True),
        verbs=True,
    )
    _define(
        "softer",
        _Lex(generic=True, sign=-1, fallback="sharpness", concrete=True),
    )
    _define(
        "add, introduce, include, insert, place",
        _Lex(verb=True, generic=True, sign=1, fallback="presence", concrete=True),
        verbs=True,
    )
    _define(
        "remove, delete, erase, eliminate, get rid of, take out, take away, drop",
        _Lex(verb=True, generic=True, sign=-1, fallback="presence", concrete=True),
        verbs=True,
    )
    _define(
        "simplify, declutter, tidy",
        _Lex(
            verb=True,
            generic=True,
            sign=-1,
            fallback="detail",
            concrete=True,
            stage="composition",
        ),
        verbs=True,
    )
    _define("higher", _Lex(generic=True, sign=1, fallback="vertical"))
    _define(
        "lower",
        _Lex(verb=True, generic=True, sign=-1, fallback="vertical"),
        verbs=True,
    )

    # Composition: where things are and how they are framed.
    comp = _Lex(stage="composition", concrete=True)
    move = _Lex(stage="composition", concrete=True, verb=True, move=True)
    _define(
        "move, shift, nudge, slide, reposition, position, center, centre, recenter, "
        "align, crop, rotate, tilt, flip, mirror, zoom, reframe, frame, straighten, "
        "level, resize, swap, replace, arrange, rearrange, spin, pan, "
        "push, pull, raise up",
        move,
        verbs=True,
    )
    _define(
        "framing, angle, view, perspective, horizon, pose, posture, "
        "layout, composition, arrangement, orientation, aspect, symmetry, "
        "headroom, three-quarter, three quarter, close-up, closeup, wide shot, "
        "negative space, rule of thirds, camera angle, vantage, viewpoint, "
        "off-center, off-centre, centered, centred, symmetrical, wider, tighter, "
        "closer, farther, further, distance, depth of field, depth-of-field, "
        "profile, silhouette placement, vertical, horizontal, landscape format, "
        "portrait format, sideways, camera, lens, focal length",
        comp,
        nouns=True,
    )
    _define(
        "placement", _Lex(stage="composition", concrete=True, move=True), nouns=True
    )
    _define("size, scale", _Lex(stage="composition", concrete=True, attr="size"))
    _define(
        "bigger, larger, enlarge, grow, zoom in",
        _Lex(stage="composition", concrete=True, attr="size", sign=1),
        verbs=True,
    )
    _define(
        "smaller, shrink, zoom out",
        _Lex(stage="composition", concrete=True, attr="size", sign=-1, polarity=-1),
        verbs=True,
    )
    _define(
        "left, leftward, leftwards",
        _Lex(attr="horizontal", sign=-1, position=True),
    )
    _define(
        "right, rightward, rightwards",
        _Lex(attr="horizontal", sign=1, position=True),
    )
    _define(
        "upward, upwards, up",
        _Lex(attr="vertical", sign=1, position=True),
    )
    _define(
        "downward, downwards, down",
        _Lex(attr="vertical", sign=-1, position=True),
    )
    _define(
        "bokeh",
        _Lex(stage="composition", concrete=True, attr="sharpness", polarity=-1),
    )
    _define(
        "blur, blurry, blurrier, blurred, defocus, out of focus",
        _Lex(
            stage="composition",
            concrete=True,
            verb=True,
            attr="sharpness",
            sign=-1,
            polarity=-1,
        ),
        verbs=True,
    )

    # Lighting and atmosphere.
    light = _Lex(stage="lighting", concrete=True)
    _define(
        "lighting, lit, backlight, backlit, illumination, illuminate, "
        "spotlight, key light, fill light, back light, side light, sidelight, "
        "ambient, atmosphere, atmospheric, mood, moody, dramatic, dramatically, "
        "golden hour, blue hour, sunlight, sunset, sunrise, dawn, dusk, daylight, "
        "time of day, night, midday, noon, overcast, volumetric, god rays, rays, "
        "lens flare, flare, color cast, color temperature, catchlight, "
        "light source, direction of light, harsh, diffuse, diffused, luminous, "
        "radiance, gloomy, specular, relight, silhouette, lamplight, candlelight, "
        "fill, blacks, whites, midtones, black point, white point, tonal, tones",
        light,
        nouns=True,
    )
    _define("light", _Lex(stage="lighting", concrete=True, attr="light", verb=True))
    _define(
        "rim light, rim lighting, edge light",
        _Lex(stage="lighting", concrete=True, attr="rim light", weight=2),
    )
    _define("shadow", _Lex(stage="lighting", concrete=True, attr="shadow"), nouns=True)
    _define(
        "highlight", _Lex(stage="lighting", concrete=True, attr="highlight"), nouns=True
    )
    _define("contrast", _Lex(stage="lighting", concrete=True, attr="contrast"))
    _define(
        "exposure, brightness, luminosity",
        _Lex(stage="lighting", concrete=True, attr="brightness"),
    )
    _define(
        "brighten, lighten, brighter, lighter",
        _Lex(stage="lighting", concrete=True, verb=True, attr="brightness", sign=1),
        verbs=True,
    )
    _define(
        "bright",
        _Lex(stage="lighting", concrete=True, attr="brightness", sign=1, weak=True),
    )
    _define(
        "darken, darker, dim, dimmer, dimmed",
        _Lex(
            stage="lighting",
            concrete=True,
            verb=True,
            attr="brightness",
            sign=-1,
            polarity=-1,
        ),
        verbs=True,
    )
    _define(
        "dark",
        _Lex(
            stage="lighting",
            concrete=True,
            attr="brightness",
            sign=-1,
            polarity=-1,
            weak=True,
        ),
    )
    _define(
        "warm, warmer, warm up",
        _Lex(stage="lighting", concrete=True, verb=True, attr="warmth", sign=1),
        verbs=True,
    )
    _define(
        "golden, amber",
        _Lex(stage="lighting", concrete=True, attr="warmth", sign=1, weak=True),
    )
    _define("warmth", _Lex(stage="lighting", concrete=True, attr="warmth"))
    _define(
        "cool, cooler, cold, colder, cool down",
        _Lex(
            stage="lighting",
            concrete=True,
            verb=True,
            attr="warmth",
            sign=-1,
            polarity=-1,
        ),
        verbs=True,
    )
    _define(
        "glow",
        _Lex(stage="lighting", concrete=True, attr="glow", verb=True),
        verbs=True,
    )
    _define(
        "haze, fog, mist, hazy, foggy, misty, smoke",
        _Lex(stage="lighting", concrete=True, attr="haze"),
        nouns=True,
    )

    # Details: texture, sharpness and small elements.
    detail = _Lex(stage="details", concrete=True)
    _define(
        "pore, skin, hair, strand, eyelash, fabric, stitching, engraving, lettering, "
        "text, legible, legibility, intricate, fine, finer, material, facial feature, "
        "expression, catch light, iris, freckle, wrinkle, thread, weave, fiber, "
        "smoother, crisp, crisper, clear, clearer, defined, "
        "focus, edge, refraction, specular highlight, surface detail",
        detail,
        nouns=True,
    )
    _define(
        "retouch, smooth, define, clarify, texturize, texturise",
        _Lex(stage="details", concrete=True, verb=True),
        verbs=True,
    )
    _define(
        "detail, details, detailed",
        _Lex(stage="details", concrete=True, attr="detail"),
    )
    _define(
        "texture, textured",
        _Lex(stage="details", concrete=True, attr="texture"),
        nouns=True,
    )
    _define("grain", _Lex(stage="details", concrete=True, attr="grain"), nouns=True)
    _define(
        "reflection, reflective, reflect, sheen, gloss, glossy, shine, shiny, sparkle",
        _Lex(stage="details", concrete=True, attr="reflection"),
        nouns=True,
    )
    _define(
        "sharpness, clarity, definition, crispness, acuity",
        _Lex(stage="details", concrete=True, attr="sharpness"),
    )
    _define(
        "sharpen, sharper, crisp up",
        _Lex(stage="details", concrete=True, verb=True, attr="sharpness", sign=1),
        verbs=True,
    )
    _define(
        "sharp",
        _Lex(stage="details", concrete=True, attr="sharpness", sign=1, weak=True),
    )

    # Polish: global colour and finishing.
    polish = _Lex(stage="polish", concrete=True)
    _define(
        "color correction, color correct, color balance, color grade, color grading, "
        "white balance, tint, hue, levels, curves, tone curve, chromatic aberration, "
        "banding, dust, spot, blemish, artifact, artefact, halo, fringing, "
        "clean up, cleanup, final polish, final touch, finishing touch, "
        "micro-adjustment, correction, polish, grade, tone mapping, dodge, burn, "
        "color",
        polish,
        nouns=True,
    )
    _define(
        "saturation, vibrance, color intensity",
        _Lex(stage="polish", concrete=True, attr="saturation"),
    )
    _define(
        "saturate, saturated, vivid, vibrant, more colorful, colorful",
        _Lex(stage="polish", concrete=True, verb=True, attr="saturation", sign=1),
        verbs=True,
    )
    _define(
        "desaturate, desaturated, muted, mute, duller, dull, washed out, faded",
        _Lex(
            stage="polish",
            concrete=True,
            verb=True,
            attr="saturation",
            sign=-1,
            polarity=-1,
        ),
        verbs=True,
    )
    _define(
        "noise, noisy, denoise",
        _Lex(stage="polish", concrete=True, attr="noise"),
        verbs=True,
    )
    _define(
        "vignette", _Lex(stage="polish", concrete=True, attr="vignette"), nouns=True
    )
    _define("film grain", _Lex(stage="polish", concrete=True, attr="grain", weight=2))

    # Style: the look as a whole.
    _define(
        "style, styled, stylize, stylise, stylized, stylised, painterly, painting, "
        "painted, watercolor, oil painting, oil paint, sketch, sketchy, drawing, "
        "illustration, illustrated, illustrative, cartoon, cartoonish, anime, manga, "
        "artistic, art, impressionist, impressionism, expressionist, surreal, "
        "surrealist, abstract, photorealistic, photorealism, realism, realistic, "
        "cinematic, vintage, retro, noir, black and white, black-and-white, "
        "monochrome, monochromatic, sepia, pop art, pixel art, art deco, aesthetic, "
        "3d, cel-shaded, comic, pencil, charcoal, pastel, ukiyo-e, brushstroke, "
        "brush stroke, interpretation, lomo, polaroid, analog, analogue, duotone, "
        "low-poly, vaporwave, cyberpunk, steampunk, baroque, renaissance, gothic, "
        "minimalist, minimalism, film look, "
        "stylization, stylisation, gouache, ink, linocut, woodcut, mosaic, "
        "hand-drawn, hyperrealistic, dreamy, whimsical",
        _Lex(stage="style", concrete=True),
        nouns=True,
    )


_build_vocabulary()

# Words that say the change covers the whole picture rather than a part of it.
_SHARPNESS_GLOBAL = frozenset({"overall", "entire", "whole", "across", "everywhere"})
# "darken the shadows" deepens them; "brighten the highlights" strengthens them.
_BRIGHTNESS_ON = {"shadow": -1, "highlight": 1}
# For position a missing target usually means the subject itself ("move it left").
_LOOSE_ATTRS = frozenset({"horizontal", "vertical", "size"})
_CORNER_WORDS = frozenset({"upper", "lower", "top", "bottom", "middle", "far"})
_REGION_NOUNS = frozenset(
    {"third", "half", "side", "corner", "quadrant", "part", "area", "edge", "region"}
)
_BLANK = _Lex()
_PRONOUNS = frozenset({"it", "them", "this", "that", "these", "those"})
# Every known word form, with its lemma and meaning, in one lookup.
_LOOKUP: dict[str, tuple[str, _Lex]] = {
    form: (lemma, _WORDS.get(lemma, _BLANK)) for form, lemma in _LEMMA.items()
}
# Words that open a change without being part of it ("please", "also").
_OPENERS = frozenset({"please", "also", "then", "now", "so", "and", "but", "plus"})
_ADJECTIVES = frozenset(
    {"subtle", "slight", "gentle", "soft", "small", "large", "big", "strong", "deep"}
)

# The gaps between words: anything but letters, digits, "&", apostrophes and
# hyphens (which belong to words such as "don't" and "three-quarter"; one standing
# alone, as a dash or a bullet, is dealt with as a word and dropped).
_GAP = re.compile(r"([^\w&'-]+)")
# Between two words, any of these ends a change: punctuation, a line break (and so
# a list bullet), a dash, or the ")" of "1)". A colon ends a heading.
_GAP_SPLIT = re.compile(r"[,;:.!?\n\u2022\u2014\u2013)]")
_APOSTROPHES = str.maketrans({"\u2019": "'"})


# -- reading an instruction -------------------------------------------------------

# A word or phrase as read: its lemma, its meaning, and where it sits in the text.
# Plain tuples, because an instruction has dozens of them and this runs per key.
_Tok = tuple[str, _Lex, int, int]


class _Effect(NamedTuple):
    """One attribute pushed one way, on some parts of the picture (none: all)."""

    attr: str
    sign: int
    targets: frozenset[str]
    weak: bool = False
    first: str = ""  # the first target in the text, to name it in messages


@dataclass(slots=True)
class _Clause:
    """A change (or a keep clause) with what the vocabulary made of it."""

    toks: list[_Tok]
    start: int
    end: int
    keep: bool = False
    signal: bool = False  # has any word the vocabulary knows as meaningful
    verb: bool = False
    stage: str = "other"
    concrete: bool = False
    vague: bool = False
    region: bool = False
    targeted: bool = False
    objects: tuple[str, ...] = ()
    effects: tuple[_Effect, ...] = ()


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _runs(text: str) -> list[tuple[list[_Tok], bool]]:
    """The instruction's words, cut at punctuation, line breaks and bullets.

    Each run comes with whether a colon ended it, so that a heading such as
    "Final polish:" can be joined to what follows.
    """
    low = text.lower()
    if len(low) != len(text):
        # A few characters lower-case to two; keep offsets true to the original.
        low = "".join(ch.lower()[:1] or ch for ch in text)
    parts = _GAP.split(low.translate(_APOSTROPHES))
    parts.append("")  # every word now has a gap after it
    runs: list[tuple[list[_Tok], bool]] = []
    run: list[_Tok] = []
    phrases = False  # whether the run holds the first word of a known phrase
    lookup = _LOOKUP
    heads = _PHRASE_HEADS
    position = 0
    for word, gap in zip(parts[::2], parts[1::2], strict=True):
        if word:
            end = position + len(word)
            found = lookup.get(word)
            if found is not None:
                run.append(found + (position, end))
                phrases = phrases or found[0] in heads
            elif word[0] in "'-" or word[-1] in "'-":
                inner = word.strip("'-")
                if inner:
                    at = position + word.index(inner)
                    found = lookup.get(inner) or (inner, _BLANK)
                    run.append((found[0], found[1], at, at + len(inner)))
                    phrases = phrases or found[0] in heads
                elif "-" in word and run:
                    runs.append((_join_phrases(run) if phrases else run, False))
                    run = []  # a dash or a bullet
                    phrases = False
            else:
                run.append(("#" if word.isdigit() else word, _BLANK, position, end))
                phrases = phrases or word in heads
            position = end
        if gap != " " and gap and _GAP_SPLIT.search(gap):
            if gap[0] == ")" and run and run[-1][0] == "#":
                run.pop()  # the "2" of an inline "2)" list marker
            if run:
                runs.append((_join_phrases(run) if phrases else run, ":" in gap))
                run = []
                phrases = False
        position += len(gap)
    if run:
        runs.append((_join_phrases(run) if phrases else run, False))
    return runs


def _join_phrases(run: list[_Tok]) -> list[_Tok]:
    """Merge known phrases ("rim light", "black and white") into single tokens."""
    heads = _PHRASE_HEADS
    out: list[_Tok] = []
    i = 0
    n = len(run)
    while i < n:
        tok = run[i]
        if tok[0] in heads and i + 1 < n:
            for phrase, lex in _PHRASE_PAIRS.get((tok[0], run[i + 1][0]), ()):
                size = len(phrase)
                if i + size <= n and all(
                    run[i + k][0] == phrase[k] for k in range(2, size)
                ):
                    out.append((" ".join(phrase), lex, tok[2], run[i + size - 1][3]))
                    i += size
                    break
            else:
                out.append(tok)
                i += 1
            continue
        out.append(tok)
        i += 1
    return out


def _starts_change(toks: list[_Tok], i: int) -> bool:
    """Whether the words after a conjunction at ``i`` open a change of their own."""
    for _, lex, _, _ in toks[i + 1 : i + 4]:
        if lex.kind != _SKIP:
            return lex.verb or lex.keep
    return False


def _pieces(text: str) -> list[tuple[list[_Tok], bool]]:
    """Runs cut further at "and", "then", "but" or "while" before a new verb, and
    before "without"."""
    pieces: list[tuple[list[_Tok], bool]] = []
    for toks, heading in _runs(text):
        start = 0
        for i, (lemma, lex, _, _) in enumerate(toks):
            if lex.kind == _CONJ and _starts_change(toks, i):
                if i > start:
                    pieces.append((toks[start:i], False))
                start = i + 1
            elif lemma == "without" and i > start:
                pieces.append((toks[start:i], False))
                start = i
        if start < len(toks):
            pieces.append((toks[start:], heading))
    return pieces


def _clauses(text: str) -> list[_Clause]:
    """Cut an instruction into changes and keep clauses, each read."""
    clauses: list[_Clause] = []
    pending: list[_Tok] = []
    for piece, heading in _pieces(text):
        if pending:
            piece = pending + piece
            pending = []
        while len(piece) > 1 and piece[0][0] in _OPENERS:
            piece = piece[1:]
        clause = _read(piece)
        # "Final polish:" or "Focus on the lower third:" scopes what follows.
        if heading and (not clause.verb or clause.targeted):
            pending = piece
            continue
        previous = clauses[-1] if clauses else None
        if (
            previous is not None
            and not previous.keep
            and not clause.keep
            and (
                not clause.signal
                or _dangling_adjective(previous.toks)
                or (not previous.verb and _refers_back(clause))
            )
        ):
            # "the face, hands and case": more objects for the change before.
            if clause.signal or clause.objects:
                clauses[-1] = _read(previous.toks + piece)
            continue
        if not clause.signal and not clause.objects:
            continue
        clauses.append(clause)
    if pending:
        clauses.append(_read(pending))
    return clauses


def _refers_back(clause: _Clause) -> bool:
    """True for "soften it" after "the light is too harsh": the fix for the
    complaint before it, naming nothing of its own."""
    return not clause.objects and any(t[0] in _PRONOUNS for t in clause.toks)


def _dangling_adjective(toks: list[_Tok]) -> bool:
    """True for "add a warm" in "add a warm, soft glow": the comma sat inside."""
    if len(toks) < 2 or toks[-2][0] not in ("a", "an", "the"):
        return False
    lemma, lex = toks[-1][0], toks[-1][1]
    return (lex.sign != 0 and not lex.position) or lex.vague or lemma in _ADJECTIVES


def _read(toks: list[_Tok]) -> _Clause:
    """What a clause's words say: its stage, effects, targets and flags."""
    scores: dict[str, int] = {}
    objects: list[str] = []
    bits = 0
    global_ = signal = False
    decisive: _Lex | None = None
    for lemma, lex, _, _ in toks:
        if lex is _BLANK:
            if lemma[-1] == "s":
                objects.append(_singular(lemma))
            elif lemma != "#" and not lemma.endswith("ly"):
                objects.append(lemma)
            continue
        kind = lex.kind
        if kind:
            if kind == _GLOBAL:
                global_ = True
            elif kind == _NEG and decisive is None:
                decisive = lex
            continue
        signal = True
        bits |= lex.bits
        if lex.stage:
            # A phrase ("colour correction") says more than a single word.
            scores[lex.stage] = scores.get(lex.stage, 0) + lex.weight + (" " in lemma)
        if decisive is None and lex.bits & _DECIDES:
            decisive = lex
        if lex.region:
            objects.append(lemma)
    concrete = bool(bits & _CONCRETE)

    effects: tuple[_Effect, ...] = ()
    if bits & _ACTIVE:
        effects = _effects(toks, bool(bits & _MOVES), objects)
        for effect in effects:
            if effect.attr in _LOOSE_ATTRS:
                scores["composition"] = scores.get("composition", 0) + 1
            elif effect.attr == "presence" and objects:
                concrete = True
                if not scores:
                    scores["composition"] = 1
            elif effect.attr == "sharpness" and effect.sign > 0:
                if global_ or any(t[0] in _SHARPNESS_GLOBAL for t in toks):
                    scores["polish"] = scores.get("polish", 0) + 2
    stage = "other"
    if scores:
        best = 0
        for name in _SPLIT_ORDER:  # a tie goes to the earlier stage
            score = scores.get(name, 0)
            if score > best:
                stage, best = name, score
    return _Clause(
        toks,
        toks[0][2],
        toks[-1][3],
        # A keep clause opens with its keeping ("leave the background unchanged",
        # "don't touch the face"); a change may mention keeping later on.
        keep=decisive is not None and decisive.keep,
        signal=signal,
        verb=bool(bits & _ACTS),
        stage=stage,
        concrete=concrete,
        vague=not concrete and (bool(bits & _VAGUE) or not objects),
        # Where a thing moves to is a destination, not a limit on the change.
        region=bool(bits & _REGION) and not bits & _MOVES,
        targeted=bool(bits & _TARGETED),
        objects=tuple(objects),
        effects=effects,
    )


def _effects(toks: list[_Tok], move: bool, objects: list[str]) -> tuple[_Effect, ...]:
    """Which attributes the clause pushes, in which direction, and where."""
    raw: list[tuple[str, int, bool, int]] = []  # attribute, sign, weak, where
    generic = -1  # index of the direction word waiting for an attribute
    generic_used = False
    generics: list[int] = []  # direction words, for those that find no attribute
    bound: set[int] = set()
    nouns: list[tuple[str, str, int]] = []  # attribute words, as possible targets
    for i, (lemma, lex, _, _) in enumerate(toks):
        if lex.kind:
            if lex.kind == _PREP and generic >= 0 and generic_used:
                generic = -1
            continue
        if lex.generic and not lex.attr:
            if _region_modifier(toks, i):
                continue  # "the lower third" names a place, not a direction
            if generic >= 0 and not generic_used:
                bound.add(generic)  # "add more texture": one direction, said twice
            generic = i
            generic_used = False
            generics.append(i)
            continue
        if not lex.attr:
            continue
        if lex.position:
            if move and _is_direction(toks, i):
                raw.append((lex.attr, lex.sign, False, i))
            continue
        nouns.append((lemma, lex.attr, i))
        if generic >= 0:
            raw.append((lex.attr, toks[generic][1].sign * lex.polarity, False, i))
            bound.add(generic)
            generic_used = True
            continue
        after = _next_meaningful(toks, i)
        if after >= 0 and toks[after][1].generic and not toks[after][1].attr:
            raw.append((lex.attr, toks[after][1].sign * lex.polarity, False, i))
            bound.add(after)
            continue
        if lex.sign:
            raw.append((lex.attr, lex.sign, lex.weak, i))

    for i in generics:
        lex = toks[i][1]
        if not lex.fallback or i in bound:
            continue
        if lex.fallback == "vertical" and not move:
            continue
        if lex.fallback == "presence" and not objects:
            continue
        raw.append((lex.fallback, lex.sign, lex.weak, i))

    if not raw:
        return ()
    # "darken the shadows" deepens the shadows rather than darkening the picture;
    # in "the shadows darker and the highlights brighter" each word goes with the
    # nearer noun.
    tonal = [(where, attr) for _, attr, where in nouns if attr in _BRIGHTNESS_ON]
    if tonal:
        for n, (attr, sign, weak, where) in enumerate(raw):
            if attr == "brightness":
                _, noun = min(tonal, key=lambda t: abs(t[0] - where))
                raw[n] = (noun, sign * _BRIGHTNESS_ON[noun], weak, where)
    strong = {attr for attr, _, weak, _ in raw if not weak}
    # The parts an effect concerns: the objects, and attributes it does not push
    # itself ("warm the highlights" concerns the highlights).
    things = frozenset(objects)
    effects: list[_Effect] = []
    seen: set[tuple[str, int]] = set()
    for attr, sign, weak, _ in raw:
        if (weak and attr in strong) or (attr, sign) in seen:
            continue
        seen.add((attr, sign))
        named = [lemma for lemma, other, _ in nouns if other != attr]
        first = objects[0] if objects else named[0] if named else ""
        targets = things.union(named) if named else things
        effects.append(_Effect(attr, sign, targets, weak, first))
    return tuple(effects)


def _is_direction(toks: list[_Tok], i: int) -> bool:
    """Whether "left" or "up" at ``i`` is where something moves, not a region
    ("the lower left corner", "the lamp on the left")."""
    previous = toks[i - 1][0] if i else ""
    following = toks[i + 1][0] if i + 1 < len(toks) else ""
    return (
        previous not in _CORNER_WORDS
        and previous != "from"
        and following not in _REGION_NOUNS
        and not (i >= 2 and toks[i - 2][0] in ("on", "at", "in", "from"))
    )


def _region_modifier(toks: list[_Tok], i: int) -> bool:
    """Whether the word at ``i`` qualifies a region noun: "lower third",
    "upper left corner"."""
    following = toks[i + 1 : i + 3]
    if not following:
        return False
    if following[0][0] in _REGION_NOUNS:
        return True
    return (
        len(following) == 2
        and following[0][1].position
        and following[1][0] in _REGION_NOUNS
    )


def _next_meaningful(toks: list[_Tok], i: int) -> int:
    for j in range(i + 1, len(toks)):
        if toks[j][1].kind not in (_SKIP, _GLOBAL):
            return j
    return -1


def _dominant(changes: Sequence[_Clause]) -> str:
    """The stage most changes belong to; ties go to the earlier stage."""
    counts: dict[str, int] = {}
    for change in changes:
        if change.stage != "other":
            counts[change.stage] = counts.get(change.stage, 0) + 1
    if not counts:
        return "other"
    return max(_SPLIT_ORDER[:-1], key=lambda s: counts.get(s, 0))


def classify_stage(instruction: str) -> str:
    """The workflow stage an instruction belongs to: composition, lighting,
    details, polish, style or other."""
    return _dominant([c for c in _clauses(instruction) if not c.keep])


# -- reading a branch -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Past:
    """A refinement round of the branch, as the rules need it."""

    index: int  # position in the branch; the round before it is index - 1
    number: int
    stage: str
    effects: tuple[_Effect, ...]


@dataclass(frozen=True, slots=True)
class _Branch:
    numbers: tuple[int, ...]
    refinements: tuple[_Past, ...]
    # Every effect of the refinements by attribute, in branch order.
    effects: dict[str, tuple[tuple[_Past, _Effect], ...]]
    composed: bool  # some refinement was a composition round
    first_detail: _Past | None  # the first detail or polish round


@functools.lru_cache(maxsize=256)
def _branch(key: tuple[tuple[int, str, str], ...]) -> _Branch:
    """What a branch has done so far, cached: the branch stays the same while the
    user types the next instruction."""
    past: list[_Past] = []
    for index, (number, instruction, mode) in enumerate(key):
        if mode in _FOUNDATION_MODES or mode == "promote":
            continue
        changes = [c for c in _clauses(instruction) if not c.keep]
        effects = tuple(e for c in changes for e in c.effects)
        past.append(_Past(index, number, _dominant(changes), effects))
    by_attr: dict[str, list[tuple[_Past, _Effect]]] = {}
    for p in past:
        for effect in p.effects:
            by_attr.setdefault(effect.attr, []).append((p, effect))
    return _Branch(
        numbers=tuple(number for number, _, _ in key),
        refinements=tuple(past),
        effects={attr: tuple(pairs) for attr, pairs in by_attr.items()},
        composed=any(p.stage == "composition" for p in past),
        first_detail=next((p for p in past if p.stage in ("details", "polish")), None),
    )


# -- the rules --------------------------------------------------------------------

# How each attribute reads in a message: its name, then its two directions.
_ATTR_WORDS = {
    "shadow": ("shadows", "stronger", "softer"),
    "highlight": ("highlights", "brighter", "dimmer"),
    "contrast": ("contrast", "higher", "lower"),
    "brightness": ("brightness", "brighter", "darker"),
    "warmth": ("colour temperature", "warmer", "cooler"),
    "saturation": ("saturation", "stronger", "weaker"),
    "sharpness": ("sharpness", "sharper", "softer"),
    "light": ("light", "stronger", "weaker"),
    "rim light": ("rim light", "stronger", "weaker"),
    "glow": ("glow", "stronger", "weaker"),
    "haze": ("haze", "denser", "lighter"),
    "detail": ("detail", "richer", "sparser"),
    "texture": ("texture", "stronger", "smoother"),
    "grain": ("grain", "stronger", "finer"),
    "noise": ("noise", "stronger", "weaker"),
    "vignette": ("vignette", "stronger", "weaker"),
    "reflection": ("reflections", "stronger", "weaker"),
    "size": ("size", "larger", "smaller"),
    "horizontal": ("position", "further right", "further left"),
    "vertical": ("position", "higher", "lower"),
}
_WORK = {"details": "detail", "polish": "polish"}
_STAGE_EXAMPLES = {
    "composition": "move the subject a little higher",
    "lighting": "soften the shadows on the left",
    "details": "sharpen the edges of the subject",
    "polish": "raise the saturation slightly",
    "style": "add subtle painterly brushwork",
}


def _describe(effect: _Effect) -> tuple[str, str]:
    """The attribute's name and the direction the effect pushes it, for messages."""
    if effect.attr == "presence":
        return effect.first or "element", "added" if effect.sign > 0 else "removed"
    noun, more, less = _ATTR_WORDS.get(effect.attr, (effect.attr, "stronger", "weaker"))
    if effect.first and effect.attr not in _LOOSE_ATTRS:
        noun = f"{noun} of the {effect.first}"
    return noun, more if effect.sign > 0 else less


def _compatible(a: _Effect, b: _Effect) -> bool:
    """Whether two effects on one attribute concern the same part of the picture."""
    if a.targets & b.targets:
        return True
    if not a.targets and not b.targets:
        return a.attr != "presence"
    return a.attr in _LOOSE_ATTRS and (not a.targets or not b.targets)


def _warn(
    code: str, message: str, start: int = 0, end: int = 0, suggestion: str = ""
) -> LintWarning:
    return LintWarning(code, "warning", message, start, end, suggestion)


def _info(
    code: str, message: str, start: int = 0, end: int = 0, suggestion: str = ""
) -> LintWarning:
    return LintWarning(code, "info", message, start, end, suggestion)


def _clean(text: str, first: bool) -> str:
    """A change's text as part of a proposed round: trimmed, capitalised only at
    the start of the round."""
    text = text.strip(" \t\n,;:.-*\u2022")
    if first:
        return text[:1].upper() + text[1:]
    if text[:1].isupper() and text[1:2].islower():
        return text[:1].lower() + text[1:]
    return text


def split_rounds(changes: Sequence[Change]) -> list[tuple[str, list[Change]]]:
    """Group changes into proposed rounds: by stage in workflow order, at most three
    changes a round."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.stage, []).append(change)
    rounds: list[tuple[str, list[Change]]] = []
    for stage in _SPLIT_ORDER:
        group = groups.get(stage)
        if not group:
            continue
        count = -(-len(group) // 3)
        size = -(-len(group) // count)
        for i in range(0, len(group), size):
            rounds.append((stage, group[i : i + size]))
    return rounds


def _split_suggestion(changes: Sequence[Change]) -> str:
    lines = []
    for number, (stage, group) in enumerate(split_rounds(changes), start=1):
        text = ", ".join(_clean(c.text, i == 0) for i, c in enumerate(group))
        lines.append(f"{number}. {stage}: {text}.")
    return "\n".join(lines)


def _too_many(changes: Sequence[Change]) -> LintWarning | None:
    count = len(changes)
    stages = {c.stage for c in changes if c.stage != "other"}
    if count < 4:
        return None
    suggestion = _split_suggestion(changes)
    start, end = changes[0].start, changes[-1].end
    if count >= 6 or len(stages) >= 2:
        spread = f" across {len(stages)} stages" if len(stages) >= 2 else ""
        return _warn(
            "too-many-changes",
            f"{count} changes{spread} in one round; the model tends to drop or blend "
            "some of them. Two or three related changes a round work best.",
            start,
            end,
            suggestion,
        )
    stage = next(iter(stages), "related")
    return _info(
        "too-many-changes",
        f"{count} {stage} changes in one round; they belong together, but the model "
        "may drop one.",
        start,
        end,
        suggestion,
    )


def _vague(clauses: Sequence[_Clause], text: str) -> list[LintWarning]:
    changes = [c for c in clauses if not c.keep]
    if not changes:
        stripped = text.strip()
        start = text.index(stripped[0]) if stripped else 0
        return [
            _warn(
                "vague",
                "Says what to keep but not what to change.",
                start,
                start + len(stripped),
                "Name one to three changes, e.g. "
                f'"{_STAGE_EXAMPLES["lighting"].capitalize()}."',
            )
        ]
    found = []
    for change in changes:
        if not change.vague:
            continue
        subject = next((o for o in change.objects if o not in ("it",)), "subject")
        found.append(
            _warn(
                "vague",
                "Names no attribute or element to change, so the model has to guess "
                "what is meant.",
                change.start,
                change.end,
                "Say what should change and where, e.g. "
                f'"Increase the contrast on the {subject} and soften the shadows '
                'behind it."',
            )
        )
    return found


def _self_contradiction(changes: Sequence[_Clause]) -> list[LintWarning]:
    by_attr: dict[str, list[tuple[_Clause, _Effect]]] = {}
    for change in changes:
        for effect in change.effects:
            by_attr.setdefault(effect.attr, []).append((change, effect))
    found = []
    for attr, pairs in by_attr.items():
        if len(pairs) < 2:
            continue
        clash = next(
            (
                (a, b)
                for i, a in enumerate(pairs)
                for b in pairs[i + 1 :]
                if a[1].sign != b[1].sign and _compatible(a[1], b[1])
            ),
            None,
        )
        if clash is None:
            continue
        (first, effect), (second, _) = clash
        name, _direction = _describe(effect)
        noun, more, less = _ATTR_WORDS.get(attr, (name, "more", "less"))
        if attr == "presence":
            more, less = "added", "removed"
        found.append(
            _warn(
                "self-contradiction",
                f"Asks for the {name} to be both {more} and {less}.",
                first.start,
                second.end,
                "Keep one direction, or give each direction its own part of the "
                "picture.",
            )
        )
    return found


def _contradiction(changes: Sequence[_Clause], branch: _Branch) -> list[LintWarning]:
    found = []
    named: set[tuple[str, int]] = set()
    for change in changes:
        for effect in change.effects:
            # The latest round that pushed this attribute on these parts decides.
            latest = next(
                (
                    (past, e)
                    for past, e in reversed(branch.effects.get(effect.attr, ()))
                    if _compatible(e, effect)
                ),
                None,
            )
            if latest is None:
                continue
            past, earlier = latest
            if earlier.sign == effect.sign or (effect.attr, past.number) in named:
                continue
            named.add((effect.attr, past.number))
            before = branch.numbers[past.index - 1]
            name, direction = _describe(earlier)
            if effect.attr == "presence":
                what = f"which {direction} the {name}"
                restore = ""
            elif effect.attr in _LOOSE_ATTRS and effect.attr != "size":
                thing = earlier.first or effect.first or "subject"
                what = f"which moved the {thing} {direction}"
                restore = f"Put the {thing} back where it was in round {before}."
            else:
                what = f"which made the {name} {direction}"
                restore = f"Restore the {name} from round {before}."
            found.append(
                _warn(
                    "contradiction",
                    f"Reverses round {past.number}, {what}; rounds that undo each "
                    "other confuse the model.",
                    change.start,
                    change.end,
                    f"Branch from round {before} to try this instead of round "
                    + (
                        f'{past.number}, or write "{restore}"'
                        if restore
                        else f"{past.number}."
                    ),
                )
            )
    return found


def _premature(
    changes: Sequence[_Clause], stage: str, branch: _Branch
) -> LintWarning | None:
    composition = next((c for c in changes if c.stage == "composition"), None)
    if composition is not None:
        detail = branch.first_detail
        if detail is None:
            return None
        before = branch.numbers[detail.index - 1]
        return _warn(
            "premature-detail",
            f"A composition change after the {_WORK[detail.stage]} work of round "
            f"{detail.number}; moving things may lose that work.",
            composition.start,
            composition.end,
            f"Branch from round {before} and settle the composition there, then "
            "redo the details.",
        )
    if stage not in ("details", "polish") or branch.composed:
        return None
    first = next(c for c in changes if c.stage == stage)
    return _warn(
        "premature-detail",
        f"{stage.capitalize()} work before any composition round on this branch; "
        "if the layout changes later, this work is lost.",
        first.start,
        first.end,
        "Settle the composition first (position, framing, angle), then lighting, "
        "then details and polish.",
    )


def _budget(budget: BudgetState) -> LintWarning | None:
    if budget.budget <= 0 or budget.spent + budget.round_cost <= budget.budget:
        return None
    over = budget.spent + budget.round_cost - budget.budget
    return _warn(
        "over-budget",
        f"This round costs {budget.round_cost} credits; {budget.spent} of the "
        f"{budget.budget}-credit budget are spent, so it ends {over} over.",
        suggestion="Promote the best round so far, or raise the session budget.",
    )


def _tier(quality: str, stage: str, rounds: int | None) -> LintWarning | None:
    """Ultra before the final round, or a polish round left on Common."""
    if quality == "common" and stage == "polish":
        return _info(
            "final-on-common",
            "A polish round on Common; if this is the final version, Ultra renders "
            "it with more detail.",
            suggestion="Run the final round on Ultra, or promote this one when it is "
            "right.",
        )
    if quality != "ultra":
        return None
    if rounds is not None and rounds < 3:
        why = f"this branch has only {rounds} round{'s' * (rounds != 1)}"
    elif stage in ("composition", "lighting", "details"):
        why = f"this is a {stage} round"
    else:
        return None
    return _warn(
        "ultra-too-early",
        f"Ultra costs twice as much as Common and {why}; it pays off on the final "
        "render.",
        suggestion="Explore on Common, and render the finished round on Ultra "
        "(promote it).",
    )


def _keep_clause(clauses: Sequence[_Clause], text: str) -> LintWarning | None:
    """A change limited to a part of the picture that does not protect the rest."""
    changes = [c for c in clauses if not c.keep]
    if not changes or len(changes) < len(clauses):
        return None
    targeted = next((c for c in changes if c.targeted), None)
    if targeted is None and all(c.region for c in changes):
        targeted = changes[0]
    if targeted is None:
        return None
    ends_sentence = text.rstrip().endswith((".", "!", "?"))
    return _info(
        "missing-keep-clause",
        "A targeted change that does not say the rest stays as it is; the model "
        "may touch other parts too.",
        targeted.start,
        targeted.end,
        KEEP_CLAUSE if ends_sentence else "." + KEEP_CLAUSE,
    )


def lint(
    instruction: str,
    branch: Sequence[BranchRound] = (),
    quality: str = "common",
    budget: BudgetState | None = None,
) -> Report:
    """Check an instruction against the workflow's habits and the branch it extends.

    ``branch`` runs from the session's first round to the parent of the round being
    planned; with no branch, the rules about earlier rounds are skipped. Warnings
    come before notices (severity "info").
    """
    warnings: list[LintWarning] = []
    if not instruction.strip():
        warnings.append(
            _warn(
                "empty",
                "The instruction is empty.",
                suggestion=f'Say what to change, e.g. "{_STAGE_EXAMPLES["lighting"]}".',
            )
        )
    if budget is not None and (over := _budget(budget)) is not None:
        warnings.append(over)
    if not instruction.strip():
        return Report(warnings=warnings)

    clauses = _clauses(instruction)
    found = [c for c in clauses if not c.keep]
    stage = _dominant(found)
    changes = [
        Change(instruction[c.start : c.end], c.start, c.end, c.stage) for c in found
    ]
    if len(instruction) > MAX_CHARS:
        warnings.append(
            _warn(
                "too-long",
                f"{len(instruction):,} characters; past {MAX_CHARS:,} the model "
                "tends to lose parts of an instruction.",
                MAX_CHARS,
                len(instruction),
                "Split it into rounds of two or three related changes.",
            )
        )
    warnings += _vague(clauses, instruction)
    warnings += _self_contradiction(found)
    optional = [
        _too_many(changes),
        _tier(quality, stage, len(branch) if branch else None),
    ]
    if branch:
        facts = _branch(tuple((r.number, r.instruction, r.mode) for r in branch))
        warnings += _contradiction(found, facts)
        optional.append(_premature(found, stage, facts))
        if len(branch) >= DIMINISHING_ROUNDS:
            optional.append(
                _info(
                    "diminishing-returns",
                    f"This branch is already {len(branch)} rounds deep; most of the "
                    "gain comes in the first three to five.",
                    suggestion="Check the stop list, then promote the best round.",
                )
            )
    optional.append(_keep_clause(clauses, instruction))
    warnings += [w for w in optional if w is not None]
    warnings.sort(key=lambda w: w.severity != "warning")
    return Report(changes, stage, warnings)
