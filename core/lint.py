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
from typing import Any, Protocol

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


@dataclass(frozen=True)
class Change:
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
_NUMBER = 6


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


_WORDS: dict[str, _Lex] = {}
_LEMMA: dict[str, str] = {}
_PHRASES: dict[tuple[str, ...], _Lex] = {}
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
            _PHRASES[parts] = lex
            _PHRASE_HEADS.add(parts[0])
            continue
        forms = {item}
        if verbs:
            forms |= _verb_forms(item)
        if nouns:
            forms |= _noun_forms(item)
        for form in forms:
            _LEMMA.setdefault(form, item)
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
        "one, ones, also, then, extra, same, other, rest, thing, things, 's, up, "
        "down, full, fully, completely, totally, entirely, well, make sure, ensure, "
        "stay, remain, sure, so that, both, soft",
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
        "picture, photo, photograph, shot, scene, frame, all over, uniformly",
        _Lex(kind=_GLOBAL),
    )
    _define(
        "don't, dont, do not, not, never, without, no, avoid, nothing, none",
        _Lex(kind=_NEG, keep=True),
    )
    keep = _Lex(keep=True, verb=True)
    _define("keep, leave, preserve, maintain, retain, protect", keep, verbs=True)
    _define(
        "unchanged, untouched, intact, as is, as it is, as they are, alone, the same, "
        "nothing else",
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
    _define("less, fewer, weaker, lighter-handed", _Lex(generic=True, sign=-1))
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
    _define(
        "higher",
        _Lex(generic=True, sign=1, fallback="vertical", stage="composition"),
    )
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
        "level, scale, resize, swap, replace, arrange, rearrange, spin, pan, "
        "push, pull, raise up",
        move,
        verbs=True,
    )
    _define(
        "placement, framing, angle, view, perspective, horizon, pose, posture, "
        "layout, composition, arrangement, orientation, crop, aspect, symmetry, "
        "headroom, three-quarter, three quarter, close-up, closeup, wide shot, "
        "negative space, rule of thirds, camera angle, vantage, viewpoint, "
        "off-center, off-centre, centered, centred, symmetrical, wider, tighter, "
        "closer, farther, further, distance, depth of field, depth-of-field, "
        "profile, silhouette placement, vertical, horizontal, landscape format, "
        "portrait format, zoom in, zoom out, sideways, camera, lens, focal length",
        comp,
        nouns=True,
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
        "light, lighting, lit, backlight, backlit, illumination, illuminate, "
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
        "in focus, focus, edge, refraction, specular highlight, surface detail",
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
        "minimalist, minimalism, look of film, film look, in the style of, "
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
# Words that open a change without being part of it ("please", "also").
_OPENERS = frozenset({"please", "also", "then", "now", "so", "and", "but", "plus"})
_ADJECTIVES = frozenset(
    {"subtle", "slight", "gentle", "soft", "small", "large", "big", "strong", "deep"}
)

_TOKEN = re.compile(
    r"(?P<bullet>^[ \t]*(?:[-*\u2022+]|\d{1,2}[.)])[ \t]+)"
    r"|(?P<sep>[,;:.!?\n\u2022\u2014\u2013]| - |(?<!\S)\d{1,2}\)(?=\s))"
    r"|(?P<word>[^\W_]+(?:['\u2019][^\W_]+)*(?:-[^\W_]+)*|&)",
    re.MULTILINE,
)


# -- reading an instruction -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    lemma: str
    lex: _Lex
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Effect:
    """One attribute pushed one way, on some parts of the picture (none: all)."""

    attr: str
    sign: int
    targets: frozenset[str]
    weak: bool = False


@dataclass(slots=True)
class _Clause:
    """A change (or a keep clause) with what the vocabulary made of it."""

    toks: list[_Tok]
    start: int
    end: int
    keep: bool = False
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


def _tokens(text: str) -> list[_Tok | None]:
    """Words and phrases with their meaning; None marks a place that splits changes.

    A colon is kept as a ``_Tok`` with the lemma ":" so that a heading such as
    "Final polish:" can be joined to what follows it.
    """
    out: list[_Tok | None] = []
    words: list[tuple[str, int, int]] = []

    def flush() -> None:
        i = 0
        n = len(words)
        while i < n:
            lemma, start, end = words[i]
            if lemma in _PHRASE_HEADS:
                for size in (4, 3, 2):
                    if i + size <= n:
                        key = tuple(w[0] for w in words[i : i + size])
                        phrase = _PHRASES.get(key)
                        if phrase is not None:
                            out.append(
                                _Tok(
                                    " ".join(key), phrase, start, words[i + size - 1][2]
                                )
                            )
                            i += size
                            break
                else:
                    out.append(_Tok(lemma, _WORDS.get(lemma, _BLANK), start, end))
                    i += 1
                continue
            out.append(_Tok(lemma, _WORDS.get(lemma, _BLANK), start, end))
            i += 1
        words.clear()

    for match in _TOKEN.finditer(text):
        word = match.group("word")
        if word is None:
            flush()
            if match.group("sep") == ":":
                out.append(_Tok(":", _BLANK, match.start(), match.end()))
            else:
                out.append(None)
            continue
        low = word.lower().replace("\u2019", "'").replace("colour", "color")
        if low.isdigit():
            words.append(("#", match.start(), match.end()))
            continue
        words.append((_LEMMA.get(low, low), match.start(), match.end()))
    flush()
    return out


def _starts_change(toks: list[_Tok | None], i: int) -> bool:
    """Whether the words after a conjunction at ``i`` open a change of their own."""
    for tok in toks[i + 1 : i + 4]:
        if tok is None:
            return False
        lex = tok.lex
        if lex.kind == _SKIP:
            continue
        return lex.verb or lex.keep
    return False


def _clauses(text: str) -> list[_Clause]:
    """Cut an instruction into changes and keep clauses."""
    toks = _tokens(text)
    pieces: list[tuple[list[_Tok], bool]] = []  # (tokens, ends with a colon)
    current: list[_Tok] = []
    for i, tok in enumerate(toks):
        if tok is None:
            if current:
                pieces.append((current, False))
                current = []
            continue
        if tok.lemma == ":":
            if current:
                pieces.append((current, True))
                current = []
            continue
        if tok.lex.kind == _CONJ and _starts_change(toks, i):
            if current:
                pieces.append((current, False))
                current = []
            continue
        if tok.lemma == "then" and not current:
            continue
        if tok.lemma == "without" and current:
            pieces.append((current, False))
            current = []
        current.append(tok)
    if current:
        pieces.append((current, False))

    clauses: list[_Clause] = []
    pending: list[_Tok] = []
    for piece, heading in pieces:
        if pending:
            piece = pending + piece
            pending = []
        signal = any(t.lex is not _BLANK and t.lex.kind == 0 for t in piece)
        has_verb = any(t.lex.verb for t in piece)
        # "Final polish:" or "Focus on the lower third:" scopes what follows.
        if heading and (not has_verb or any(t.lex.targeted for t in piece)):
            pending = piece
            continue
        previous = clauses[-1] if clauses else None
        if (
            previous is not None
            and not previous.keep
            and (not signal or _dangling_adjective(previous.toks))
        ):
            if signal or any(t.lex is _BLANK and t.lemma != "#" for t in piece):
                previous.toks.extend(piece)
                previous.end = piece[-1].end
            continue
        if not signal and not any(t.lex is _BLANK and t.lemma != "#" for t in piece):
            continue
        while len(piece) > 1 and piece[0].lemma in _OPENERS:
            piece = piece[1:]
        clauses.append(_Clause(piece, piece[0].start, piece[-1].end))
    if pending:
        clauses.append(_Clause(pending, pending[0].start, pending[-1].end))
    for clause in clauses:
        _read(clause)
    return clauses


def _dangling_adjective(toks: list[_Tok]) -> bool:
    """True for "add a warm" in "add a warm, soft glow": the comma sat inside."""
    return (
        len(toks) >= 2
        and toks[-2].lemma in ("a", "an", "the")
        and (
            (toks[-1].lex.sign != 0 and not toks[-1].lex.position)
            or toks[-1].lex.vague
            or toks[-1].lemma in _ADJECTIVES
        )
    )


def _read(clause: _Clause) -> None:
    """Fill in a clause's stage, effects, targets and flags from its words."""
    toks = clause.toks
    scores: dict[str, int] = {}
    objects: list[str] = []
    move = vague = concrete = region = targeted = False
    global_ = False
    for tok in toks:
        lex = tok.lex
        if lex is _BLANK:
            if tok.lemma != "#" and not tok.lemma.endswith("ly"):
                objects.append(_singular(tok.lemma))
            continue
        if lex.kind == _GLOBAL:
            global_ = True
        if lex.stage:
            # A phrase ("colour correction") says more than a single word.
            weight = lex.weight + (" " in tok.lemma)
            scores[lex.stage] = scores.get(lex.stage, 0) + weight
        move = move or lex.move
        vague = vague or lex.vague
        concrete = concrete or lex.concrete
        targeted = targeted or lex.targeted
        if lex.region:
            region = True
            objects.append(tok.lemma)
        if lex.stage == "composition" and lex.concrete and not lex.attr:
            move = move or tok.lemma in ("position", "placement")

    # A keep clause opens with its keeping ("leave the background unchanged",
    # "don't touch the face"); a change may mention keeping later on.
    decisive = next(
        (t.lex for t in toks if t.lex.verb or t.lex.keep or t.lex.generic), None
    )
    clause.keep = decisive is not None and decisive.keep
    clause.targeted = targeted
    clause.region = region
    clause.objects = tuple(objects)

    effects = _effects(toks, move, objects)
    clause.effects = effects
    if any(e.attr in _LOOSE_ATTRS for e in effects):
        scores["composition"] = scores.get("composition", 0) + 1
    if any(e.attr == "presence" for e in effects) and objects:
        concrete = True
        if not scores:
            scores["composition"] = 1
    if "sharpness" in {e.attr for e in effects if e.sign > 0} and (
        global_ or any(t.lemma in _SHARPNESS_GLOBAL for t in toks)
    ):
        scores["polish"] = scores.get("polish", 0) + 2
    clause.concrete = concrete
    clause.vague = not concrete and (vague or not objects)
    if scores:
        clause.stage = max(_SPLIT_ORDER[:-1], key=lambda s: scores.get(s, 0))
        if not scores.get(clause.stage):
            clause.stage = "other"


def _effects(toks: list[_Tok], move: bool, objects: list[str]) -> tuple[_Effect, ...]:
    """Which attributes the clause pushes, in which direction, and where."""
    raw: list[tuple[str, int, bool]] = []
    generic: _Tok | None = None
    bound: set[int] = set()
    generic_used = False
    n = len(toks)
    for i, tok in enumerate(toks):
        lex = tok.lex
        if lex.kind == _PREP:
            if generic is not None and generic_used:
                generic = None
            continue
        if lex.generic and not lex.attr:
            if generic is not None and not generic_used:
                bound.add(id(generic))  # "add more texture": one direction, said twice
            generic = tok
            generic_used = False
            continue
        if lex.position:
            previous = toks[i - 1].lemma if i else ""
            following = toks[i + 1].lemma if i + 1 < n else ""
            if (
                move
                and previous not in _CORNER_WORDS
                and previous != "from"
                and following not in _REGION_NOUNS
                and not (i >= 2 and toks[i - 2].lemma in ("on", "at", "in", "from"))
            ):
                raw.append((lex.attr, lex.sign, False))
            continue
        if not lex.attr:
            continue
        if generic is not None:
            raw.append((lex.attr, generic.lex.sign * lex.polarity, False))
            bound.add(id(generic))
            generic_used = True
            continue
        after = _next_meaningful(toks, i)
        if after is not None and after.lex.generic and not after.lex.attr:
            raw.append((lex.attr, after.lex.sign * lex.polarity, False))
            bound.add(id(after))
            continue
        if lex.sign:
            raw.append((lex.attr, lex.sign, lex.weak))

    for tok in toks:
        lex = tok.lex
        if lex.generic and not lex.attr and lex.fallback and id(tok) not in bound:
            if lex.fallback == "vertical" and not move:
                continue
            if lex.fallback == "presence" and not objects:
                continue
            raw.append((lex.fallback, lex.sign, lex.weak))

    if not raw:
        return ()
    # "darken the shadows" is about the shadows, not the whole picture's brightness.
    if any(attr == "brightness" for attr, _, _ in raw):
        for noun, flip in _BRIGHTNESS_ON.items():
            if any(t.lex.attr == noun for t in toks):
                raw = [
                    (noun, sign * flip, weak)
                    if attr == "brightness"
                    else (attr, sign, weak)
                    for attr, sign, weak in raw
                ]
                break
    strong = {attr for attr, _, weak in raw if not weak}
    effects: list[_Effect] = []
    seen: set[tuple[str, int]] = set()
    for attr, sign, weak in raw:
        if weak and attr in strong:
            continue
        if (attr, sign) in seen:
            continue
        seen.add((attr, sign))
        own = {t.lemma for t in toks if t.lex.attr == attr}
        named = {t.lemma for t in toks if t.lex.attr and t.lex.attr != attr}
        effects.append(_Effect(attr, sign, frozenset(objects).union(named) - own, weak))
    return tuple(effects)


def _next_meaningful(toks: list[_Tok], i: int) -> _Tok | None:
    for tok in toks[i + 1 :]:
        if tok.lex.kind in (_SKIP, _GLOBAL):
            continue
        return tok
    return None


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
    return _Branch(
        numbers=tuple(number for number, _, _ in key),
        refinements=tuple(past),
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
        name = " ".join(sorted(effect.targets)) or "element"
        return name, "added" if effect.sign > 0 else "removed"
    noun, more, less = _ATTR_WORDS.get(effect.attr, (effect.attr, "stronger", "weaker"))
    if effect.targets and effect.attr not in _LOOSE_ATTRS:
        noun = f"{noun} of the {' '.join(sorted(effect.targets))}"
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


def _clean(text: str) -> str:
    text = text.strip(" \t\n,;:.-*\u2022")
    return text[:1].upper() + text[1:]


def split_rounds(changes: Sequence[Change]) -> list[tuple[str, list[Change]]]:
    """Group changes into proposed rounds: by stage in workflow order, at most three
    changes a round."""
    rounds: list[tuple[str, list[Change]]] = []
    for stage in _SPLIT_ORDER:
        group = [c for c in changes if c.stage == stage]
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
        text = ", ".join(
            _clean(c.text)
            if i == 0
            else _clean(c.text)[:1].lower() + _clean(c.text)[1:]
            for i, c in enumerate(group)
        )
        lines.append(f"{number}. {stage}: {text}.")
    return "\n".join(lines)


def _too_many(changes: Sequence[Change], text: str) -> LintWarning | None:
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
                "Keep one direction, or name two different parts (a brighter "
                "subject and a darker background, say).",
            )
        )
    return found


def _contradiction(changes: Sequence[_Clause], branch: _Branch) -> list[LintWarning]:
    found = []
    named: set[tuple[str, int]] = set()
    for change in changes:
        for effect in change.effects:
            for past in reversed(branch.refinements):
                earlier = next(
                    (
                        e
                        for e in past.effects
                        if e.attr == effect.attr and _compatible(e, effect)
                    ),
                    None,
                )
                if earlier is None:
                    continue
                if (
                    earlier.sign != effect.sign
                    and (effect.attr, past.number) not in named
                ):
                    named.add((effect.attr, past.number))
                    before = branch.numbers[past.index - 1]
                    name, direction = _describe(earlier)
                    if effect.attr == "presence":
                        what = f"which {direction} the {name}"
                        restore = f"Restore the {name} as in round {before}."
                    else:
                        what = f"which made the {name} {direction}"
                        restore = f"Restore the {name} from round {before}."
                    found.append(
                        _warn(
                            "contradiction",
                            f"Reverses round {past.number}, {what}; rounds that undo "
                            "each other confuse the model.",
                            change.start,
                            change.end,
                            f"Branch from round {before} to try this instead of round "
                            f'{past.number}, or write "{restore}"',
                        )
                    )
                break
    return found


def _premature(
    changes: Sequence[_Clause], stage: str, branch: _Branch, numbers: Sequence[int]
) -> LintWarning | None:
    composition = next((c for c in changes if c.stage == "composition"), None)
    if composition is not None:
        detail = branch.first_detail
        if detail is None:
            return None
        before = numbers[detail.index - 1]
        return _warn(
            "premature-detail",
            f"A composition change after the {detail.stage} work of round "
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


def lint(
    instruction: str,
    branch: Sequence[BranchRound] = (),
    quality: str = "common",
    budget: BudgetState | None = None,
) -> Report:
    """Check an instruction against the workflow's habits and the branch it extends.

    ``branch`` runs from the session's first round to the parent of the round being
    planned; with no branch, the rules about earlier rounds are skipped.
    """
    warnings: list[LintWarning] = []
    if budget is not None and (over := _budget(budget)) is not None:
        warnings.append(over)
    if not instruction.strip():
        warnings.insert(
            0,
            _warn(
                "empty",
                "The instruction is empty.",
                suggestion=f'Say what to change, e.g. "{_STAGE_EXAMPLES["lighting"]}".',
            ),
        )
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
    if (many := _too_many(changes, instruction)) is not None:
        warnings.append(many)

    facts = None
    if branch:
        facts = _branch(tuple((r.number, r.instruction, r.mode) for r in branch))
        warnings += _contradiction(found, facts)
        if (early := _premature(found, stage, facts, facts.numbers)) is not None:
            warnings.append(early)

    if quality == "ultra":
        if branch and len(branch) < 3:
            why = f"this branch has only {len(branch)} round{'s' * (len(branch) != 1)}"
        elif stage in ("composition", "lighting", "details", "style"):
            why = f"this is a {stage} round"
        else:
            why = ""
        if why:
            warnings.append(
                _warn(
                    "ultra-too-early",
                    f"Ultra costs twice as much as Common and {why}; it pays off "
                    "on the final render.",
                    suggestion="Explore on Common, and render the finished round on "
                    "Ultra (promote it).",
                )
            )
    elif quality == "common" and stage == "polish":
        warnings.append(
            _info(
                "final-on-common",
                "A polish round on Common; if this is the final version, Ultra "
                "renders it with more detail.",
                suggestion="Run the final round on Ultra, or promote this one when "
                "it is right.",
            )
        )

    if found and not any(c.keep for c in clauses):
        targeted = next((c for c in found if c.targeted), None)
        if targeted is None and all(c.region for c in found):
            targeted = found[0]
        if targeted is not None:
            end = instruction.rstrip()
            clause = KEEP_CLAUSE if end.endswith((".", "!", "?")) else "." + KEEP_CLAUSE
            warnings.append(
                _info(
                    "missing-keep-clause",
                    "A targeted change that does not say the rest stays as it is; "
                    "the model may touch other parts too.",
                    targeted.start,
                    targeted.end,
                    clause,
                )
            )

    if branch and len(branch) >= DIMINISHING_ROUNDS:
        warnings.append(
            _info(
                "diminishing-returns",
                f"This branch is already {len(branch)} rounds deep; most of the gain "
                "comes in the first three to five.",
                suggestion="Check the stop list, then promote the best round.",
            )
        )
    warnings.sort(key=lambda w: w.severity != "warning")
    return Report(changes, stage, warnings)
