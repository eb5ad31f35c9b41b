"""The words the local backend understands, and what each one asks for.

Each ``detect_*`` function reads one clause (lower-case, single-spaced) and returns
the operation it names with a signed amount, its parameters and whether the amount
was exact ("by 20%"), a reason the words were refused, or None when they are not
about that operation. The tables of plain amounts and limits say how strong
"increase contrast" is and how far "dramatic" may go, in each operation's own unit
(see operations.py). :mod:`core.backends.local.parser` decides which detector to
ask in which order, and where a clause begins and ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.backends.local.regions import canonical_region

Detection = tuple[str, float, dict[str, Any], bool]
"""An operation, its signed amount, its parameters and whether the amount is exact."""

# The plain amount of each operation, in its own unit (see operations.py).
PLAIN: dict[str, float] = {
    "brightness": 0.12,
    "contrast": 0.20,
    "saturation": 0.20,
    "warmth": 0.06,
    "cast": 0.06,
    "shadows": 0.25,
    "highlights": 0.25,
    "sharpen": 0.60,
    "clarity": 0.40,
    "blur": 0.30,
    "denoise": 1.0,
    "vignette": 0.25,
    "grain": 0.04,
    "monochrome": 1.0,
    "sepia": 1.0,
    "zoom": 0.20,
    "crop": 0.10,
    "shift": 0.08,
    "centre": 0.60,
}
# Upper bounds that keep any wording, however extreme, inside a sane range.
LIMITS: dict[str, float] = {
    "brightness": 3.0,
    "contrast": 3.0,
    "saturation": 3.0,
    "warmth": 0.6,
    "cast": 0.6,
    "shadows": 0.65,
    "highlights": 0.65,
    "sharpen": 4.0,
    "clarity": 3.0,
    "blur": 2.5,
    "denoise": 3.0,
    "vignette": 0.9,
    "grain": 0.3,
    "monochrome": 1.0,
    "sepia": 1.0,
    "zoom": 9.0,
    "crop": 0.45,
    "shift": 0.25,
    "centre": 1.0,
}


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text)


def has(pattern: str, text: str) -> bool:
    """Whether the regular expression ``pattern`` occurs anywhere in ``text``."""
    return re.search(pattern, text) is not None


# ---------------------------------------------------------------------------
# Amounts and directions

_VERY_SUBTLE = (
    r"\b(?:very|extremely|super|ultra|really)[\s-]+(?:subtle|subtly|slight|slightly|"
    r"gentle|gently|mild|mildly|small|little|faint|faintly|light|lightly)\b|"
    r"\b(?:barely|minimal|minimally|tiny|hint of|touch of|trace of|imperceptibl\w*|"
    r"faint|faintly|whisper of|smidge)\b"
)
_DRAMATIC = (
    r"\b(?:dramatic\w*|extreme|extremely|massive|massively|huge|hugely|intense|"
    r"intensely|radical|radically|maximum|very strong|very strongly|very much|"
    r"way more|drastic\w*)\b"
)
_STRONG = (
    r"\b(?:strong|strongly|much|significant|significantly|a lot|lots|considerabl[ey]|"
    r"great|greatly|substantial|substantially|heavy|heavily|notabl[ey]|bold|boldly|"
    r"very|deeply|seriously|far)\b"
)
_SUBTLE = (
    r"\b(?:subtle|subtly|slight|slightly|a bit|a little|a touch|gentle|gently|mild|"
    r"mildly|somewhat|small|little|lightly|a tad|tad|modest|modestly|soft touch)\b"
)
_MORE = r"\b(?:more|further|extra|stronger|higher|greater|bigger|deeper|richer)\b"

NEGATIVE = (
    r"\b(?:decrease\w*|reduc\w*|less|lower|lowering|lessen\w*|weaken\w*|weaker|cut|"
    r"drop|dial (?:back|down)|pull (?:back|down)|tone down|turn down|tame|mute|"
    r"subdue|remove|minimi[sz]e|eliminate|fewer|no|without|get rid of|lose|undo|"
    r"soften|softer|gentler|kill|take out|take away|diminish\w*)\b"
)


def intensity(text: str) -> float:
    """The multiple of an operation's plain amount that the wording asks for."""
    if has(_VERY_SUBTLE, text):
        return 0.25
    if has(_DRAMATIC, text):
        return 3.0
    if has(_STRONG, text):
        return 2.0
    if has(_SUBTLE, text):
        return 0.5
    if has(_MORE, text):
        return 1.5
    return 1.0


# A number is read whole: "1,000" is a thousand, never "000"; the lookbehind keeps a
# match from starting inside a longer token ("1e308" is not "308").
NUMBER = r"(?<![\w.,])([+-]?(?:\d[\d,]*(?:\.\d+)?|\.\d+))"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)")
_UNIT = r"\s*(?:%|percent\b|per cent\b|°|º|degrees?\b|degs?\b|x\b|×|times\b|stops?\b)"
# Anything that looks like a number next to a unit, however it is spelt.
_NUMBER_LIKE = re.compile(
    r"(?<![\w.,])([+-]?(?:[\d.,]*\d[\d.,]*(?:e[+-]?\d*)?|nan|inf(?:inity)?))" + _UNIT
)
_ODD_NUMBER = re.compile(
    r"(?<![\w.])[+-]?(?:\d+(?:\.\d+)?e[+-]?\d+|nan|inf(?:inity)?)(?![\w.])"
)
_MAX_NUMBER = 1_000_000.0


def read_number(token: str) -> float:
    """The value of a number matched by :data:`NUMBER` ("1,000" is 1000.0)."""
    return float(token.replace(",", ""))


def unreadable_number(text: str) -> str | None:
    """A reason to refuse the clause when it holds a number that cannot be read whole.

    Exponents ("1e2"), "nan", "inf", misplaced thousands separators and values
    beyond a million are refused rather than read as some other number.
    """
    odd = _ODD_NUMBER.search(text)
    if odd:
        return f"the number {odd.group(0)} is not one ripen reads"
    for match in _NUMBER_LIKE.finditer(text):
        token = match.group(1)
        if not _PLAIN_NUMBER.fullmatch(token):
            return f"the number {token} is not one ripen reads"
        if abs(read_number(token)) > _MAX_NUMBER:
            return f"the number {token} is too large"
    return None


_PERCENT = re.compile(NUMBER + r"\s*(?:%|percent\b|per cent\b)")


def percent(text: str) -> float | None:
    """The fraction a clause's "N%" asks for (0.2 for "20%"), or None."""
    match = _PERCENT.search(text)
    if not match:
        return None
    return abs(read_number(match.group(1))) / 100.0


def strength(op: str, text: str, sign: float) -> tuple[float, bool]:
    """The signed amount for ``op``: exact from "by N%", else plain times intensity."""
    exact = percent(text)
    limit = LIMITS[op]
    if exact is not None:
        return sign * min(exact, limit), True
    return sign * min(PLAIN[op] * intensity(text), limit), False


def verb_sign(text: str) -> float:
    return -1.0 if has(NEGATIVE, text) else 1.0


# ---------------------------------------------------------------------------
# Regions named inside a clause

_REGION_PHRASES = re.compile(
    r"\b(?:(?:top|upper|bottom|lower|middle|center|centre|central)[\s-]+"
    r"(?:left|right|center|centre|middle)(?:[\s-]+(?:third|corner|part|area|"
    r"section|portion|region))?"
    r"|(?:left|right|top|upper|bottom|lower|middle|center|centre)[\s-]+"
    r"(?:third|half|side|portion|part|area|section|edge)"
    r"|(?:on|to|at|in|from)\s+the\s+(?:left|right|top|bottom)"
    r"|foreground subject|main subject|background|backdrop|foreground|subject"
    r"|edges|corners|borders|periphery"
    r"|highlights?|shadows?|blacks|whites|mid[\s-]?tones?|middle tones"
    r"|bright (?:areas|tones|parts)|dark (?:areas|tones|parts)"
    r"|(?:in|at|to)\s+the\s+(?:center|centre|middle)(?!\s+of)"
    r")\b"
)
WHOLE_WORDS = re.compile(
    r"\b(?:overall|globally|everywhere|entire (?:image|photo|frame|picture)|"
    r"whole (?:image|photo|frame|picture)|across the (?:board|frame|image))\b"
)
_TONE_WORDS = {
    "blacks": "shadows",
    "whites": "highlights",
    "bright areas": "highlights",
    "bright tones": "highlights",
    "bright parts": "highlights",
    "dark areas": "shadows",
    "dark tones": "shadows",
    "dark parts": "shadows",
}


@dataclass(frozen=True)
class Mention:
    region: str
    start: int
    end: int


def mentions(text: str) -> list[Mention]:
    found = []
    for match in _REGION_PHRASES.finditer(text):
        phrase = match.group(0)
        name = _TONE_WORDS.get(phrase)
        if name is None:
            cleaned = re.sub(r"^(?:on|to|at|in|from)\s+the\s+", "", phrase)
            name = canonical_region(cleaned)
        if name is not None:
            found.append(Mention(name, match.start(), match.end()))
    return found


def blank(text: str, mentions: list[Mention]) -> str:
    chars = list(text)
    for mention in mentions:
        for index in range(mention.start, mention.end):
            chars[index] = " "
    return "".join(chars)


# ---------------------------------------------------------------------------
# Operations

_CAST_COLOURS: dict[str, tuple[float, float, float]] = {
    "warm": (1.0, 0.25, -1.0),
    "golden": (1.0, 0.55, -1.0),
    "amber": (1.0, 0.45, -1.0),
    "orange": (1.0, 0.3, -0.8),
    "yellow": (0.6, 0.6, -1.0),
    "red": (1.0, -0.5, -0.5),
    "pink": (0.8, -0.4, 0.2),
    "magenta": (0.6, -1.0, 0.6),
    "purple": (0.4, -0.8, 0.8),
    "violet": (0.3, -0.8, 0.9),
    "blue": (-0.5, -0.3, 1.0),
    "cool": (-1.0, -0.1, 1.0),
    "cold": (-1.0, -0.1, 1.0),
    "cyan": (-1.0, 0.5, 0.5),
    "teal": (-1.0, 0.35, 0.6),
    "green": (-0.5, 1.0, -0.5),
}
_COLOUR_WORD = re.compile(
    r"\b(golden|gold|amber|orange|yellow|red|pink|magenta|purple|violet|blue|cyan|"
    r"teal|green|warm|warmer|cool|cooler|cold|colder)(?:ish|er|ness)?\b"
)
_COLOUR_ALIASES = {
    "gold": "golden",
    "warmer": "warm",
    "cooler": "cool",
    "colder": "cold",
}


def detect_vignette(t: str, blanked: str) -> Detection | None:
    # The cue is read in the raw text ("darken the corners" names a region), the
    # direction without region words ("lower" in "lower right" is not "less").
    if not has(
        r"vignett|darken\w*\s+(?:the\s+)?(?:corners|edges)|"
        r"(?:corners|edges)\s+darker|darker\s+(?:corners|edges)",
        t,
    ):
        return None
    sign = -1.0 if has(r"\b(?:lighten|brighten|lift|open up)\w*", blanked) else 1.0
    if has(NEGATIVE, blanked):
        sign = -sign
    amount, exact = strength("vignette", t, sign)
    return "vignette", amount, {}, exact


def detect_monochrome(t: str) -> Detection | None:
    if has(
        r"black\s*(?:and|&|n|-)\s*white|\bb\s*&\s*w\b|\bb/w\b|monochrom\w*|"
        r"gr[ae]y\s*scale|\bmono\b|\bnoir\b|fully desaturat\w*|"
        r"(?:remove|drop|strip)\s+(?:all\s+)?(?:the\s+)?colou?rs?\s*(?:completely)?$",
        t,
    ):
        amount = min(1.0, intensity(t))
        return "monochrome", amount, {}, False
    return None


def detect_sepia(t: str) -> Detection | None:
    if has(r"\bsepia\b|\bvintage (?:tone|toning|look)\b|\bantique (?:tone|look)\b", t):
        return "sepia", min(1.0, intensity(t)), {}, False
    return None


def detect_grain(t: str) -> Detection | None:
    if has(
        r"\b(?:wood|wooden|surface|table|fabric|leather|stone|paper|marble|timber)"
        r"(?:\s+\w+){0,2}\s+grain\b|\bgrain\s+of\s+the\s+\w+",
        t,
    ):
        amount, exact = strength("clarity", t, verb_sign(t))
        return "clarity", amount, {"why": "texture"}, exact
    if has(r"\bdenois\w*|\bnoise[\s-]+reduction\b", t) or (
        has(r"\b(?:noise|noisy|grain|grainy|graininess)\b", t) and has(NEGATIVE, t)
    ):
        amount, exact = strength("denoise", t, 1.0)
        return "denoise", amount, {}, exact
    if has(r"\b(?:film\s+)?(?:grain|grainy|graininess|noise|noisy)\b", t):
        amount, exact = strength("grain", t, 1.0)
        return "grain", amount, {}, exact
    return None


def detect_cast(t: str) -> Detection | None:
    colours = [m.group(1) for m in _COLOUR_WORD.finditer(t)]
    if not colours:
        return None
    colour = _COLOUR_ALIASES.get(colours[0], colours[0])
    temperature = colour in ("warm", "cool", "cold")
    has_cast_noun = has(r"\b(?:cast|tint|tone|toning|wash|hue|grade|grading)\b", t)
    if temperature and not has_cast_noun:
        return None
    sign = verb_sign(t)
    amount, exact = strength("cast", t, sign)
    return "cast", amount, {"colour": colour, "rgb": list(_CAST_COLOURS[colour])}, exact


def detect_warmth(t: str) -> Detection | None:
    warm = has(r"\bwarm\w*|\bgolden\b|\bwarmth\b", t)
    cool = has(r"\bcool(?:er|ing|ness)?\b|\bcold(?:er)?\b|\bchill(?:y|ier)\b", t)
    neutral = has(r"\btemperature\b|\bwhite balance\b", t)
    if not (warm or cool or neutral):
        return None
    direction = 1.0 if warm else -1.0 if cool else 1.0
    amount, exact = strength("warmth", t, direction * verb_sign(t))
    return "warmth", amount, {}, exact


def detect_saturation(t: str) -> Detection | None:
    if has(r"desaturat\w*|\bmuted?\b|washed[\s-]*out|\bfaded?\b|\bdull(?:er)?\b", t):
        sign = 1.0 if has(r"\b(?:less|reduce|remove|fix|undo)\b", t) else -1.0
        amount, exact = strength("saturation", t, sign)
        return "saturation", amount, {}, exact
    named = has(
        r"saturat\w*|vibran\w*|\bvivid\w*|colou?rful\w*|\bchroma\b|"
        r"\bcolou?r intensity\b|\bpunchier colou?rs?\b",
        t,
    )
    # "balance the colours" asks for neutral colour, not stronger colour: left to
    # the not-understood list rather than read as "more colour".
    if named or (has(r"\bcolou?rs?\b", t) and not has(r"\bbalanc\w*", t)):
        amount, exact = strength("saturation", t, verb_sign(t))
        return "saturation", amount, {}, exact
    return None


def detect_contrast(t: str) -> Detection | None:
    if has(r"\bflat(?:ter|ten)?\b", t) and not has(r"\bcontrast\b", t):
        sign = 1.0 if has(r"\b(?:less|fix|undo|reduce)\b", t) else -1.0
        amount, exact = strength("contrast", t, sign)
        return "contrast", amount, {}, exact
    if has(r"\bcontrast\w*|\bpunch(?:y|ier)?\b|\bdynamic range\b", t):
        sign = verb_sign(t)
        if has(r"\bdynamic range\b", t):
            sign = -sign  # more dynamic range reads as a gentler tone curve
        amount, exact = strength("contrast", t, sign)
        return "contrast", amount, {}, exact
    if has(r"\b(?:soft(?:en|er)|diffuse\w*|gentler)\b.*\blight", t):
        amount, exact = strength("contrast", t, -0.5)
        return "contrast", amount, {"why": "softer light"}, exact
    if has(r"\b(?:hard(?:er)?|harsh(?:er)?|crisp(?:er)?)\s+light", t):
        amount, exact = strength("contrast", t, 1.0)
        return "contrast", amount, {"why": "harder light"}, exact
    return None


_STOPS = re.compile(
    r"(?<![\w.,])([+-]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)|\d/\d|half a|a half|one|two|"
    r"three|an?)\s+stops?\b"
)
_STOP_WORDS = {"half a": 0.5, "a half": 0.5, "one": 1, "a": 1, "an": 1, "two": 2}


def detect_brightness(t: str) -> Detection | None:
    up = has(r"\bbright\w*|\blight(?:en|er|ness)\b|\bluminous\b|\bairier\b", t)
    down = has(r"\bdark(?:en|er|ness)?\b|\bdim(?:mer)?\b|\bmoodier\b", t)
    exposure = has(r"\bexpos\w*", t)
    if not (up or down or exposure):
        return None
    direction = -1.0 if (down and not up) else 1.0
    if has(r"\bunderexpos\w*", t) and not (up or down):
        direction = -1.0
    sign = direction * verb_sign(t)
    stops = _STOPS.search(t)
    if stops and exposure:
        word = stops.group(1)
        if word in _STOP_WORDS:
            count = float(_STOP_WORDS[word])
        elif word == "three":
            count = 3.0
        elif "/" in word:
            num, den = word.split("/")
            count = float(num) / max(1.0, float(den))
        else:
            count = abs(read_number(word))
        count = min(count, 2.0)
        factor = 2.0**count if sign > 0 else 2.0**-count
        return "brightness", factor - 1.0, {"stops": sign * count}, True
    amount, exact = strength("brightness", t, sign)
    if sign < 0:
        amount = max(amount, -0.9)
    return "brightness", amount, {}, exact


def detect_sharpness(t: str) -> Detection | None:
    if has(r"\bclarity\b|\btextur\w*|\bdefinition\b|\bmicro[\s-]*contrast\b", t):
        amount, exact = strength("clarity", t, verb_sign(t))
        return "clarity", amount, {}, exact
    if has(
        r"\bsharp\w*|\bcrisp\w*|\bdetail\w*|\bin focus\b|\bfocus(?:ed)? more\b|"
        r"\bunblur\w*|\bdeblur\w*|(?:less|reduce|remove)\s+(?:the\s+)?blur",
        t,
    ):
        negative = has(NEGATIVE, t) and not has(r"\bblur|\bunblur|\bdeblur", t)
        if negative:
            amount, exact = strength("blur", t, 0.4)
            return "blur", amount, {"why": "less sharpness"}, exact
        amount, exact = strength("sharpen", t, 1.0)
        return "sharpen", amount, {}, exact
    return None


def detect_blur(t: str, tone_named: bool) -> Detection | None:
    soft_only = has(r"\bsoft(?:en|er|ness)?\b", t) and not has(
        r"blur|bokeh|defocus|out of focus|depth of field|dreamy|\bhaz[ey]", t
    )
    if soft_only and tone_named:
        return None  # "soften the shadows" is about the shadows, not a blur
    if not (soft_only or has(r"blur|bokeh|defocus|out of focus|depth of field", t)):
        if not has(r"\bdreamy\b|\bhaz[ey]\b", t):
            return None
    params: dict[str, Any] = {}
    if has(r"bokeh|depth of field|out of focus|defocus", t):
        params["default_region"] = "background"
    sign = 1.0
    if has(r"\b(?:less|reduce|remove|lower|decrease)\b", t) and not soft_only:
        return None  # "less blur" is sharpening, handled by the sharpness rule
    amount, exact = strength("blur", t, sign)
    return "blur", amount, params, exact


_LIFT = (
    r"\b(?:lift\w*|rais\w*|open\w*|brighten\w*|lighten\w*|soft\w*|fill\w*|recover\w*|"
    r"reduc\w*|less|lower\w*|weaken\w*|decreas\w*|tame|lessen\w*|gentler|lighter|"
    r"brighter|bring up|pull up|boost)\b"
)
_DEEPEN = (
    r"\b(?:deepen\w*|darken\w*|crush\w*|strengthen\w*|intensif\w*|stronger|richer|"
    r"harder|heavier|deeper|darker|increas\w*|more|add\w*|enhanc\w*|emphasi[sz]\w*|"
    r"harsh\w*|strong)\b"
)
_RECOVER = (
    r"\b(?:recover\w*|tame|reduc\w*|lower\w*|soft\w*|pull\w*|compress\w*|protect\w*|"
    r"less|decreas\w*|darken\w*|tone down|dim\w*|bring down|rescue\w*|calm\w*)\b"
)
_BOOST = (
    r"\b(?:boost\w*|increas\w*|brighten\w*|lift\w*|rais\w*|more|enhanc\w*|add\w*|"
    r"strengthen\w*|intensif\w*|brighter|stronger|emphasi[sz]\w*|push\w*|pop)\b"
)


def detect_tone(t: str, tone: str, blanked: str) -> Detection | None:
    """Shadows, highlights or midtones as the thing changed, not as a region."""
    if tone == "shadows":
        if has(r"\b(?:lift|open up|fill|soften|brighten|lighten|raise)\w*", blanked):
            sign = 1.0
        elif has(_DEEPEN, blanked):
            sign = -1.0
        elif has(_LIFT, blanked):
            sign = 1.0
        else:
            return None
        amount, exact = strength("shadows", t, sign)
        return "shadows", amount, {}, exact
    if tone == "highlights":
        if has(_RECOVER, blanked):
            sign = -1.0
        elif has(_BOOST, blanked):
            sign = 1.0
        else:
            return None
        amount, exact = strength("highlights", t, sign)
        return "highlights", amount, {}, exact
    if has(r"\b(?:lift|rais|brighten|lighten|boost|open)\w*", blanked):
        sign = 1.0
    elif has(r"\b(?:lower|darken|deepen|crush|reduc|dim)\w*", blanked):
        sign = -1.0
    else:
        return None
    amount, exact = strength("brightness", t, sign)
    return "brightness", amount, {}, exact


def detect_reflections(t: str) -> Detection | None:
    if not has(r"\b(?:reflection|reflections|shine|sheen|specular\w*|gloss\w*)\b", t):
        return None
    sign = -1.0 if has(NEGATIVE, t) else 1.0
    amount, exact = strength("highlights", t, sign)
    return "highlights", amount, {"why": "reflections"}, exact


# ---------------------------------------------------------------------------
# Geometry

_DEGREES = re.compile(NUMBER + r"\s*(?:°|º|degrees?\b|degs?\b)")


def detect_rotate(t: str) -> dict[str, Any] | str | None:
    verb = _search(r"\b(rotat\w*|turn\w*|tilt\w*|spin|straighten\w*|level)\b", t)
    upside = has(r"\bupside[\s-]*down\b", t)
    if verb is None:
        return None
    if has(r"\bflip|\bmirror", t):
        return None
    degrees_match = _DEGREES.search(t)
    degrees: float | None = None
    if degrees_match:
        degrees = read_number(degrees_match.group(1))
    elif verb.group(1).startswith("rotat"):
        bare = re.search(
            r"(?:by\s+)?" + NUMBER + r"(?![\w.,])(?!\s*(?:%|:|x\b|×))",
            t[verb.end() :],
        )
        if bare:
            degrees = read_number(bare.group(1))
    ccw = has(r"counter[\s-]*clockwise|anti[\s-]*clockwise|\bccw\b|\bleft\b", t)
    cw = has(r"(?<![-\w])clockwise|\bcw\b|\bright\b", t) and not ccw
    if degrees is None:
        if upside:
            degrees = 180.0
        elif verb.group(1).startswith("rotat") or ccw or cw:
            if verb.group(1).startswith(("turn", "tilt", "spin")) and not (ccw or cw):
                return None
            degrees = 90.0
        elif verb.group(1).startswith(("straighten", "level")):
            return "how many degrees to straighten by is not given"
        else:
            return None
    if verb.group(1).startswith(("straighten", "level")) and abs(degrees) > 45:
        return "straightening is limited to 45 degrees"
    clockwise = not ccw
    if degrees < 0:
        clockwise = not clockwise
        degrees = -degrees
    degrees = degrees % 360.0
    return {"degrees": round(degrees, 4), "clockwise": clockwise}


def detect_flip(t: str) -> dict[str, Any] | None:
    if not has(r"\bflip\w*|\bmirror\w*", t):
        return None
    vertical = has(
        r"vertical\w*|upside|top[\s-]+to[\s-]+bottom|up[\s-]*(?:and[\s-]*)?down", t
    )
    return {"axis": "vertical" if vertical else "horizontal"}


_RATIO = re.compile(
    r"(?<![\d.])(\d{1,4}(?:\.\d{1,3})?)\s*(:|x|×|/|by)\s*(\d{1,4}(?:\.\d{1,3})?)(?![\d.])"
)
_RATIO_CUE = (
    r"\b(?:aspect|ratio|format|crop\w*|make|reframe|change|convert|resize|set)\b"
)
_NAMED_RATIOS = {"square": (1.0, 1.0), "widescreen": (16.0, 9.0)}


def detect_aspect(t: str) -> dict[str, Any] | str | None:
    match = _RATIO.search(t)
    if match:
        if match.group(2) != ":" and not has(_RATIO_CUE, t):
            return None
        width, height = float(match.group(1)), float(match.group(3))
        if width <= 0 or height <= 0:
            return "an aspect ratio needs two numbers above zero"
        if not 0.1 <= width / height <= 10:
            return "aspect ratios are limited to between 1:10 and 10:1"
        return {"ratio": [width, height], "label": f"{match.group(1)}:{match.group(3)}"}
    for word, ratio in _NAMED_RATIOS.items():
        if has(rf"\b{word}\b", t) and has(_RATIO_CUE, t):
            return {"ratio": list(ratio), "label": f"{ratio[0]:g}:{ratio[1]:g}"}
    if has(r"\bportrait\s+(?:format|orientation|aspect|crop)\b", t):
        return {"ratio": [4.0, 5.0], "label": "4:5"}
    if has(r"\blandscape\s+(?:format|orientation|aspect|crop)\b", t):
        return {"ratio": [3.0, 2.0], "label": "3:2"}
    return None


_FACTOR = re.compile(NUMBER + r"\s*(?:x|×|times)(?!\w)")
_CROP_TO = re.compile(
    r"\bcrop\w*\s+(?:(?:it|the\s+(?:image|photo|frame|picture))\s+)?(?:down\s+)?to\s+"
    + NUMBER
    + r"\s*(?:%|percent\b|per cent\b)"
)
_ZOOM_TO = re.compile(r"\bzoom\w*\s+(?:in\s+|out\s+)?to\s+" + NUMBER + r"\s*%")
MAX_ZOOM = 10.0
"""The strongest zoom, in or out, as a factor of the frame."""


def detect_zoom(t: str) -> Detection | str | None:
    side = _search(
        r"\bcrop\w*\s+(?:off\s+)?(?:\d{1,3}(?:\.\d+)?\s*%\s+(?:off|from)\s+)?"
        r"(?:the\s+)?(top|bottom|left|right|sides|edges|borders)\b",
        t,
    )
    if side:
        amount, exact = strength("crop", t, 1.0)
        return "crop", amount, {"side": side.group(1)}, exact
    zoom_in = has(
        r"\bzoom\w*\s*(?:in|into|closer)\b|\bpunch\w*\s+in\b|\bcrop\w*\s+"
        r"(?:in|closer|tighter)\b|\btighter\s+(?:crop|framing|frame|shot)\b|"
        r"\bcrop\s+tighter\b|\bmagnif\w*|\benlarge the subject\b",
        t,
    )
    zoom_out = has(
        r"\bzoom\w*\s*out\b|\bwider\s+(?:framing|frame|shot|view|crop)\b|"
        r"\bloosen\w*\s+(?:the\s+)?(?:crop|framing)\b|\bless\s+tight\b",
        t,
    )
    plain_crop = has(r"\bcrop\w*\b", t) and not zoom_out
    plain_zoom = has(r"\bzoom\w*\b", t) and not zoom_out
    if not (zoom_in or zoom_out or plain_crop or plain_zoom):
        return None
    params: dict[str, Any] = {}
    keep = _CROP_TO.search(t) or _ZOOM_TO.search(t)
    factor = _FACTOR.search(t)
    if keep:
        # "crop to 90%" keeps 90% of the frame: a zoom of 1/0.9, not 1.9.
        kept = read_number(keep.group(1)) / 100.0
        if kept <= 0:
            return "a crop must keep more than 0% of the frame"
        if keep.group(0).startswith("crop") and kept >= 1:
            return "a crop to 100% or more keeps the whole frame"
        wanted = 1 / kept
    elif factor:
        wanted = read_number(factor.group(1))
        if wanted <= 0:
            return "a zoom factor must be above zero"
        if zoom_out and wanted > 1:
            wanted = 1 / wanted  # "zoom out 2x" is a factor of 0.5
    else:
        wanted = None
    if wanted is not None:
        used = min(max(wanted, 1 / MAX_ZOOM), MAX_ZOOM)
        if abs(used - wanted) > 1e-9:
            params["requested"] = f"{wanted:.3g}×"
        amount = used - 1.0 if used >= 1 else 1.0 - 1.0 / used
        exact = True
    else:
        amount, exact = strength("zoom", t, 1.0)
        asked = percent(t)
        if exact and asked is not None and asked > abs(amount) + 1e-9:
            params["requested"] = f"{asked * 100:g}%"
        if zoom_out:
            amount = -min(abs(amount), 3.0)
    if abs(amount) < 0.005:
        return None
    return "zoom", amount, params, exact


_UP = r"\b(?:up|upward\w*|higher|raise[sd]?|lift\w*|towards? the top)\b"
_DOWN = r"\b(?:down|downward\w*|lower|drop|towards? the bottom)\b"
_LEFT = r"\b(?:left|leftward\w*)\b"
_RIGHT = r"\b(?:right|rightward\w*)\b"
_MOVE_VERB = (
    r"\b(?:move\w*|shift\w*|nudge\w*|slide\w*|reposition\w*|position\w*|plac\w*|"
    r"rais\w*|lower\w*|adjust\w*|put|bring|push\w*|drag\w*|set|higher|lower|"
    r"recent(?:er|re)\w*)\b"
)
_CENTRE = (
    r"\b(?:more\s+)?cent(?:er|re)(?:ed|d)\b|\bre[\s-]?cent(?:er|re)\w*|"
    r"\bcent(?:er|re)\s+(?:it|the\s+\w+)\b|\b(?:to|in)(?:wards?)?\s+the\s+"
    r"(?:center|centre|middle)\b"
)
_TONAL_WORD = re.compile(
    r"\b(?:bright|dark|contrast|satur|warm|cool|colou?r|shadow|highlight|expos|sharp|"
    r"blur|vignet|grain|noise|tone|tint|cast|light|clarity|detail|texture|black|white)"
)


_PLACE_VERB = (
    r"\b(?:move\w*|shift\w*|nudge\w*|slide\w*|reposition\w*|position\w*|plac\w*|"
    r"put|bring|push\w*|drag\w*)\b"
)


def detect_shift(t: str) -> Detection | None:
    if _TONAL_WORD.search(t):
        return None
    named = [m for m in mentions(t) if m.region not in ("subject", "background")]
    # "to the left" is a direction; "to the lower right third" is a destination.
    targets = [m for m in named if not m.region.endswith("-half")]
    if targets and has(_PLACE_VERB, t):
        # "move the subject to the lower right third": aim at that part of the frame.
        amount, exact = strength("centre", t, 1.0)
        return "centre", amount, {"target": targets[0].region}, exact
    blanked = blank(t, targets)
    directions = _UP + "|" + _DOWN + "|" + _LEFT + "|" + _RIGHT
    verb = has(_MOVE_VERB, blanked)
    if has(_CENTRE, t) and not has(directions, blanked):
        if verb or not has(r"\b(?:to|in)(?:wards?)?\s+the\s+(?:center|centre)", t):
            amount, exact = strength("centre", t, 1.0)
            return "centre", amount, {}, exact
        return None
    if not verb:
        return None
    dx = (1.0 if has(_RIGHT, blanked) else 0.0) - (1.0 if has(_LEFT, blanked) else 0.0)
    dy = (1.0 if has(_DOWN, blanked) else 0.0) - (1.0 if has(_UP, blanked) else 0.0)
    if dx == 0 and dy == 0:
        return None
    amount, exact = strength("shift", t, 1.0)
    return "shift", amount, {"dx": dx, "dy": dy}, exact


# ---------------------------------------------------------------------------
# Restore and keep

_RESTORE_VERB = (
    r"\b(?:restor\w*|bring(?:ing)?\s+back|revert\w*|return\w*|reset\w*|recover\w*|"
    r"go(?:ing)?\s+back|reinstat\w*|put\s+back|match\w*|take|use|copy|undo|"
    r"get\s+back)\b"
)
_RESTORE_SOURCE = re.compile(
    r"\bround\s*(?:#|no\.?|number)?\s*(\d{1,6})\b|\br(\d{1,6})\b|"
    r"\b(base|original|first|initial|starting|source)\b|\b(reference|ref)\b"
)
RESTORE_ATTRIBUTES = (
    "shadows",
    "highlights",
    "contrast",
    "brightness",
    "saturation",
    "warmth",
)
_ATTRIBUTE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (r"\bshadows?\b|\bblacks\b|\bdark tones\b", ("shadows",)),
    (r"\bhighlights?\b|\bwhites\b|\bbright tones\b", ("highlights",)),
    (r"\bcontrast\b", ("contrast",)),
    (r"\bbrightness\b|\bexposure\b|\blightness\b|\bluminance\b", ("brightness",)),
    (r"\bsaturation\b|\bvibrance\b|\bcolou?rfulness\b", ("saturation",)),
    (
        r"\bwarmth\b|\btemperature\b|\bwhite balance\b|\btint\b|\bcolou?r cast\b|"
        r"\bcolou?r balance\b",
        ("warmth",),
    ),
    (r"\bcolou?rs?\b", ("saturation", "warmth")),
    (
        r"\blook\b|\beverything\b|\ball\b|\btones?\b|\bgrade\b|\bgrading\b|\bmood\b",
        ("brightness", "contrast", "saturation", "warmth"),
    ),
]


def detect_restore(t: str) -> list[dict[str, Any]] | str | None:
    if not has(_RESTORE_VERB, t):
        return None
    source_match = _RESTORE_SOURCE.search(t)
    if source_match is None:
        return None
    number, short, base, reference = source_match.groups()
    source: dict[str, Any]
    if number or short:
        source = {"round": int(number or short)}
    elif reference:
        source = {"reference": True}
    else:
        del base
        source = {"base": True}
    attributes: list[str] = []
    for pattern, names in _ATTRIBUTE_WORDS:
        if has(pattern, t):
            attributes.extend(name for name in names if name not in attributes)
    if any(has(p, t) for p, _ in _ATTRIBUTE_WORDS[:6]):
        # Named attributes win over the catch-all words ("colours", "look").
        specific = [
            name for p, names in _ATTRIBUTE_WORDS[:6] if has(p, t) for name in names
        ]
        attributes = list(dict.fromkeys(specific))
    if not attributes:
        return "name what to restore: " + ", ".join(RESTORE_ATTRIBUTES) + " or colours"
    return [{"attribute": name, **source} for name in attributes]


KEEP = re.compile(
    r"^(?:and\s+|but\s+|please\s+)?(?:keep|leave|preserve|maintain|retain|"
    r"don'?t\s+(?:change|touch|alter|modify)|do\s+not\s+(?:change|touch|alter|modify)|"
    r"no\s+other\s+changes|nothing\s+else|without\s+changing)\b|"
    r"\b(?:everything|all)\s+else\b|\bthe\s+rest\s+(?:unchanged|untouched|as\s+is)\b"
)
