"""Turning a refinement instruction into clauses the local backend can carry out.

People write instructions the way the workflow guide teaches: a sentence or a list
of two or three concrete changes ("Enhance the rim lighting, soften the shadows
slightly, add subtle warm color cast to the highlights, increase overall contrast";
"1. brighten\\n2. more contrast"). The parser splits the text into clauses, and for
each one finds an operation, a signed strength in that operation's own unit, an
optional region and the exact span of text it came from. Whatever it cannot read is
returned verbatim, so the user sees precisely which words were not acted on.

Strength follows the words: "very subtle" < "subtle"/"slightly" < plain < "more" <
"strongly"/"much" < "dramatic", each a multiple of the operation's plain amount;
"by 20%" is taken literally. The parser never touches pixels; it only reads text,
and it reads any text (control characters, emoji, 10,000 characters) without error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from core.backends.local.regions import TONAL_REGIONS, canonical_region

WHOLE = "whole"
"""Region value for a clause that explicitly names the whole image ("overall")."""

# The plain amount of each operation, in its own unit (see operations.py).
PLAIN: dict[str, float] = {
    "brightness": 0.12,
    "contrast": 0.20,
    "saturation": 0.20,
    "warmth": 0.10,
    "cast": 0.10,
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
    "zoom": 7.0,
    "crop": 0.45,
    "shift": 0.25,
    "centre": 1.0,
}
MAX_CLAUSE_TEXT = 160


@dataclass(frozen=True)
class Clause:
    """One understood change: what to do, how strongly, where, and from which words.

    ``amount`` is signed and in the operation's own unit (a fraction for most:
    0.2 is 20%); ``params`` holds what an operation needs beyond it (degrees, axis,
    ratio, colour, restore source). ``region`` is a canonical region name, "whole"
    when the text insists on the whole image, or None when the text names none.
    """

    op: str
    text: str
    start: int
    end: int
    amount: float = 0.0
    region: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    exact: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "amount": round(self.amount, 6),
            "region": self.region,
            "params": self.params,
            "text": self.text,
            "span": [self.start, self.end],
            "exact": self.exact,
        }


@dataclass
class Parsed:
    """What the parser made of an instruction."""

    clauses: list[Clause] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)

    @property
    def keep(self) -> bool:
        """True when the instruction asks to keep everything else unchanged."""
        return any(clause.op == "keep" for clause in self.clauses)

    @property
    def changes(self) -> list[Clause]:
        """The clauses that change pixels (everything but keep clauses)."""
        return [clause for clause in self.clauses if clause.op != "keep"]


@dataclass(frozen=True)
class _Segment:
    text: str  # lowered, same length as the original span
    start: int
    end: int
    sentence: int


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text)


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


# ---------------------------------------------------------------------------
# Splitting into clauses

_MARKER = re.compile(r"(?m)^[ \t]*(?:\(?\d{1,3}[.)]|[-*•·–—]|\(?[a-h][.)])[ \t]+")
_SENTENCE_END = re.compile(r"\n|;|[.!?](?=\s|$)")
_CLAUSE_SPLIT = re.compile(
    r",|:(?!\d)|\s+(?:and then|then|plus|also|as well as|while|but|whereas|"
    r"and also|and|&)\s+"
)
_PROTECTED = re.compile(r"black\s*(?:and|&|n)\s*white|salt\s+and\s+pepper")


def _lowered(text: str) -> str:
    """Lower-case without changing the length, so spans map back to the original."""
    out = []
    for char in text:
        low = char.lower()
        if len(low) != 1:
            low = char
        if (ord(low) < 32 and low != "\n") or 127 <= ord(low) < 160:
            low = " "
        out.append(low)
    return "".join(out)


def _segments(text: str) -> list[_Segment]:
    lowered = _MARKER.sub(lambda m: " " * len(m.group(0)), _lowered(text))
    segments: list[_Segment] = []
    sentence_start = 0
    sentence = 0
    bounds = [m.span() for m in _SENTENCE_END.finditer(lowered)]
    bounds.append((len(lowered), len(lowered)))
    for end, after in bounds:
        _split_sentence(lowered, sentence_start, end, sentence, segments)
        sentence_start = after
        sentence += 1
    return segments


def _split_sentence(
    lowered: str, start: int, end: int, sentence: int, out: list[_Segment]
) -> None:
    body = lowered[start:end]
    protected = [m.span() for m in _PROTECTED.finditer(body)]
    cuts: list[tuple[int, int]] = []
    for match in _CLAUSE_SPLIT.finditer(body):
        a, b = match.span()
        if any(p0 <= a < p1 for p0, p1 in protected):
            continue
        # Digits around a comma belong to one number or box ("0.1,0.5").
        if match.group(0) == "," and 0 < a < len(body) - 1:
            if body[a - 1].isdigit() and body[a + 1].isdigit():
                continue
        cuts.append((a, b))
    piece_start = 0
    for a, b in [*cuts, (len(body), len(body))]:
        piece = body[piece_start:a]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            s = start + piece_start + lead
            out.append(_Segment(stripped, s, s + len(stripped), sentence))
        piece_start = b


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

_NEGATIVE = (
    r"\b(?:decrease\w*|reduc\w*|less|lower|lowering|lessen\w*|weaken\w*|weaker|cut|"
    r"drop|dial (?:back|down)|pull (?:back|down)|tone down|turn down|tame|mute|"
    r"subdue|remove|minimi[sz]e|eliminate|fewer|no|without|get rid of|lose|undo|"
    r"soften|softer|gentler|kill|take out|take away|diminish\w*)\b"
)


def intensity(text: str) -> float:
    """The multiple of an operation's plain amount that the wording asks for."""
    if _has(_VERY_SUBTLE, text):
        return 0.25
    if _has(_DRAMATIC, text):
        return 3.0
    if _has(_STRONG, text):
        return 2.0
    if _has(_SUBTLE, text):
        return 0.5
    if _has(_MORE, text):
        return 1.5
    return 1.0


_PERCENT = re.compile(r"([+-]?\d{1,7}(?:\.\d{1,6})?)\s*(?:%|percent\b|per cent\b)")


def _percent(text: str) -> float | None:
    match = _PERCENT.search(text)
    if not match:
        return None
    return abs(float(match.group(1))) / 100.0


def _strength(op: str, text: str, sign: float) -> tuple[float, bool]:
    """The signed amount for ``op``: exact from "by N%", else plain times intensity."""
    exact = _percent(text)
    limit = LIMITS[op]
    if exact is not None:
        return sign * min(exact, limit), True
    return sign * min(PLAIN[op] * intensity(text), limit), False


def _verb_sign(text: str) -> float:
    return -1.0 if _has(_NEGATIVE, text) else 1.0


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
_WHOLE = re.compile(
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
class _Mention:
    region: str
    start: int
    end: int


def _mentions(text: str) -> list[_Mention]:
    found = []
    for match in _REGION_PHRASES.finditer(text):
        phrase = match.group(0)
        name = _TONE_WORDS.get(phrase)
        if name is None:
            cleaned = re.sub(r"^(?:on|to|at|in|from)\s+the\s+", "", phrase)
            name = canonical_region(cleaned)
        if name is not None:
            found.append(_Mention(name, match.start(), match.end()))
    return found


def _blank(text: str, mentions: list[_Mention]) -> str:
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


def _clause(seg: _Segment, op: str, **kwargs: Any) -> Clause:
    return Clause(op=op, text="", start=seg.start, end=seg.end, **kwargs)


def _detect_vignette(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if not _has(
        r"vignett|darken\w*\s+(?:the\s+)?(?:corners|edges)|"
        r"(?:corners|edges)\s+darker|darker\s+(?:corners|edges)",
        t,
    ):
        return None
    sign = -1.0 if _has(r"\b(?:lighten|brighten|lift|open up)\w*", t) else 1.0
    if _has(_NEGATIVE, t):
        sign = -sign
    amount, exact = _strength("vignette", t, sign)
    return "vignette", amount, {}, exact


def _detect_monochrome(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if _has(
        r"black\s*(?:and|&|n|-)\s*white|\bb\s*&\s*w\b|\bb/w\b|monochrom\w*|"
        r"gr[ae]y\s*scale|\bmono\b|\bnoir\b|fully desaturat\w*|"
        r"(?:remove|drop|strip)\s+(?:all\s+)?(?:the\s+)?colou?rs?\s*(?:completely)?$",
        t,
    ):
        amount = min(1.0, intensity(t))
        return "monochrome", amount, {}, False
    return None


def _detect_sepia(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if _has(r"\bsepia\b|\bvintage (?:tone|toning|look)\b|\bantique (?:tone|look)\b", t):
        return "sepia", min(1.0, intensity(t)), {}, False
    return None


def _detect_grain(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if _has(
        r"\b(?:wood|wooden|surface|table|fabric|leather|stone|paper|marble|timber)"
        r"(?:\s+\w+){0,2}\s+grain\b|\bgrain\s+of\s+the\s+\w+",
        t,
    ):
        amount, exact = _strength("clarity", t, _verb_sign(t))
        return "clarity", amount, {"why": "texture"}, exact
    if _has(r"\bdenois\w*|\bnoise[\s-]+reduction\b", t) or (
        _has(r"\b(?:noise|noisy|grain|grainy|graininess)\b", t) and _has(_NEGATIVE, t)
    ):
        amount, exact = _strength("denoise", t, 1.0)
        return "denoise", amount, {}, exact
    if _has(r"\b(?:film\s+)?(?:grain|grainy|graininess|noise|noisy)\b", t):
        amount, exact = _strength("grain", t, 1.0)
        return "grain", amount, {}, exact
    return None


def _detect_cast(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    colours = [m.group(1) for m in _COLOUR_WORD.finditer(t)]
    if not colours:
        return None
    colour = _COLOUR_ALIASES.get(colours[0], colours[0])
    temperature = colour in ("warm", "cool", "cold")
    has_cast_noun = _has(r"\b(?:cast|tint|tone|toning|wash|hue|grade|grading)\b", t)
    if temperature and not has_cast_noun:
        return None
    sign = _verb_sign(t)
    amount, exact = _strength("cast", t, sign)
    return "cast", amount, {"colour": colour, "rgb": list(_CAST_COLOURS[colour])}, exact


def _detect_warmth(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    warm = _has(r"\bwarm\w*|\bgolden\b|\bwarmth\b", t)
    cool = _has(r"\bcool(?:er|ing|ness)?\b|\bcold(?:er)?\b|\bchill(?:y|ier)\b", t)
    neutral = _has(r"\btemperature\b|\bwhite balance\b", t)
    if not (warm or cool or neutral):
        return None
    direction = 1.0 if warm else -1.0 if cool else 1.0
    amount, exact = _strength("warmth", t, direction * _verb_sign(t))
    return "warmth", amount, {}, exact


def _detect_saturation(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if _has(r"desaturat\w*|\bmuted?\b|washed[\s-]*out|\bfaded?\b|\bdull(?:er)?\b", t):
        sign = 1.0 if _has(r"\b(?:less|reduce|remove|fix|undo)\b", t) else -1.0
        amount, exact = _strength("saturation", t, sign)
        return "saturation", amount, {}, exact
    if _has(
        r"saturat\w*|vibran\w*|\bvivid\w*|colou?rful\w*|\bchroma\b|"
        r"\bcolou?rs?\b|\bcolou?r intensity\b|\bpunchier colou?rs?\b",
        t,
    ):
        amount, exact = _strength("saturation", t, _verb_sign(t))
        return "saturation", amount, {}, exact
    return None


def _detect_contrast(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if _has(r"\bflat(?:ter|ten)?\b", t) and not _has(r"\bcontrast\b", t):
        sign = 1.0 if _has(r"\b(?:less|fix|undo|reduce)\b", t) else -1.0
        amount, exact = _strength("contrast", t, sign)
        return "contrast", amount, {}, exact
    if _has(r"\bcontrast\w*|\bpunch(?:y|ier)?\b|\bdynamic range\b", t):
        sign = _verb_sign(t)
        if _has(r"\bdynamic range\b", t):
            sign = -sign  # more dynamic range reads as a gentler tone curve
        amount, exact = _strength("contrast", t, sign)
        return "contrast", amount, {}, exact
    if _has(r"\b(?:soft(?:en|er)|diffuse\w*|gentler)\b.*\blight", t):
        amount, exact = _strength("contrast", t, -0.5)
        return "contrast", amount, {"why": "softer light"}, exact
    if _has(r"\b(?:hard(?:er)?|harsh(?:er)?|crisp(?:er)?)\s+light", t):
        amount, exact = _strength("contrast", t, 1.0)
        return "contrast", amount, {"why": "harder light"}, exact
    return None


_STOPS = re.compile(
    r"([+-]?\d{1,3}(?:\.\d{1,3})?|\d/\d|half a|a half|one|two|three|an?)\s+stops?\b"
)
_STOP_WORDS = {"half a": 0.5, "a half": 0.5, "one": 1, "a": 1, "an": 1, "two": 2}


def _detect_brightness(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    up = _has(r"\bbright\w*|\blight(?:en|er|ness)\b|\bluminous\b|\bairier\b", t)
    down = _has(r"\bdark(?:en|er|ness)?\b|\bdim(?:mer)?\b|\bmoodier\b", t)
    exposure = _has(r"\bexpos\w*", t)
    if not (up or down or exposure):
        return None
    direction = -1.0 if (down and not up) else 1.0
    if _has(r"\bunderexpos\w*", t) and not (up or down):
        direction = -1.0
    sign = direction * _verb_sign(t)
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
            count = abs(float(word))
        count = min(count, 2.0)
        factor = 2.0**count if sign > 0 else 2.0**-count
        return "brightness", factor - 1.0, {"stops": sign * count}, True
    amount, exact = _strength("brightness", t, sign)
    if sign < 0:
        amount = max(amount, -0.9)
    return "brightness", amount, {}, exact


def _detect_sharpness(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if _has(r"\bclarity\b|\btextur\w*|\bdefinition\b|\bmicro[\s-]*contrast\b", t):
        amount, exact = _strength("clarity", t, _verb_sign(t))
        return "clarity", amount, {}, exact
    if _has(
        r"\bsharp\w*|\bcrisp\w*|\bdetail\w*|\bin focus\b|\bfocus(?:ed)? more\b|"
        r"\bunblur\w*|\bdeblur\w*|(?:less|reduce|remove)\s+(?:the\s+)?blur",
        t,
    ):
        negative = _has(_NEGATIVE, t) and not _has(r"\bblur|\bunblur|\bdeblur", t)
        if negative:
            amount, exact = _strength("blur", t, 0.4)
            return "blur", amount, {"why": "less sharpness"}, exact
        amount, exact = _strength("sharpen", t, 1.0)
        return "sharpen", amount, {}, exact
    return None


def _detect_blur(
    t: str, tone_named: bool
) -> tuple[str, float, dict[str, Any], bool] | None:
    soft_only = _has(r"\bsoft(?:en|er|ness)?\b", t) and not _has(
        r"blur|bokeh|defocus|out of focus|depth of field|dreamy|\bhaz[ey]", t
    )
    if soft_only and tone_named:
        return None  # "soften the shadows" is about the shadows, not a blur
    if not (soft_only or _has(r"blur|bokeh|defocus|out of focus|depth of field", t)):
        if not _has(r"\bdreamy\b|\bhaz[ey]\b", t):
            return None
    params: dict[str, Any] = {}
    if _has(r"bokeh|depth of field|out of focus|defocus", t):
        params["default_region"] = "background"
    sign = 1.0
    if _has(r"\b(?:less|reduce|remove|lower|decrease)\b", t) and not soft_only:
        return None  # "less blur" is sharpening, handled by the sharpness rule
    amount, exact = _strength("blur", t, sign)
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


def _detect_tone(
    t: str, tone: str, blanked: str
) -> tuple[str, float, dict[str, Any], bool] | None:
    """Shadows, highlights or midtones as the thing changed, not as a region."""
    if tone == "shadows":
        if _has(r"\b(?:lift|open up|fill|soften|brighten|lighten|raise)\w*", blanked):
            sign = 1.0
        elif _has(_DEEPEN, blanked):
            sign = -1.0
        elif _has(_LIFT, blanked):
            sign = 1.0
        else:
            return None
        amount, exact = _strength("shadows", t, sign)
        return "shadows", amount, {}, exact
    if tone == "highlights":
        if _has(_RECOVER, blanked):
            sign = -1.0
        elif _has(_BOOST, blanked):
            sign = 1.0
        else:
            return None
        amount, exact = _strength("highlights", t, sign)
        return "highlights", amount, {}, exact
    if _has(r"\b(?:lift|rais|brighten|lighten|boost|open)\w*", blanked):
        sign = 1.0
    elif _has(r"\b(?:lower|darken|deepen|crush|reduc|dim)\w*", blanked):
        sign = -1.0
    else:
        return None
    amount, exact = _strength("brightness", t, sign)
    return "brightness", amount, {}, exact


def _detect_reflections(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if not _has(r"\b(?:reflection|reflections|shine|sheen|specular\w*|gloss\w*)\b", t):
        return None
    sign = -1.0 if _has(_NEGATIVE, t) else 1.0
    amount, exact = _strength("highlights", t, sign)
    return "highlights", amount, {"why": "reflections"}, exact


# ---------------------------------------------------------------------------
# Geometry

_DEGREES = re.compile(r"([+-]?\d{1,7}(?:\.\d{1,4})?)\s*(?:°|º|degrees?\b|degs?\b)")


def _detect_rotate(t: str) -> dict[str, Any] | str | None:
    verb = _search(r"\b(rotat\w*|turn\w*|tilt\w*|spin|straighten\w*|level)\b", t)
    upside = _has(r"\bupside[\s-]*down\b", t)
    if verb is None:
        return None
    if _has(r"\bflip|\bmirror", t):
        return None
    degrees_match = _DEGREES.search(t)
    degrees: float | None = None
    if degrees_match:
        degrees = float(degrees_match.group(1))
    elif verb.group(1).startswith("rotat"):
        bare = re.search(
            r"\b(?:by\s+)?([+-]?\d{1,7}(?:\.\d{1,4})?)\b(?!\s*(?:%|:|x\b|×))",
            t[verb.end() :],
        )
        if bare:
            degrees = float(bare.group(1))
    ccw = _has(r"counter[\s-]*clockwise|anti[\s-]*clockwise|\bccw\b|\bleft\b", t)
    cw = _has(r"(?<![-\w])clockwise|\bcw\b|\bright\b", t) and not ccw
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


def _detect_flip(t: str) -> dict[str, Any] | None:
    if not _has(r"\bflip\w*|\bmirror\w*", t):
        return None
    vertical = _has(
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


def _detect_aspect(t: str) -> dict[str, Any] | str | None:
    match = _RATIO.search(t)
    if match:
        if match.group(2) != ":" and not _has(_RATIO_CUE, t):
            return None
        width, height = float(match.group(1)), float(match.group(3))
        if width <= 0 or height <= 0:
            return "an aspect ratio needs two numbers above zero"
        if not 0.1 <= width / height <= 10:
            return "aspect ratios are limited to between 1:10 and 10:1"
        return {"ratio": [width, height], "label": f"{match.group(1)}:{match.group(3)}"}
    for word, ratio in _NAMED_RATIOS.items():
        if _has(rf"\b{word}\b", t) and _has(_RATIO_CUE, t):
            return {"ratio": list(ratio), "label": f"{ratio[0]:g}:{ratio[1]:g}"}
    if _has(r"\bportrait\s+(?:format|orientation|aspect|crop)\b", t):
        return {"ratio": [4.0, 5.0], "label": "4:5"}
    if _has(r"\blandscape\s+(?:format|orientation|aspect|crop)\b", t):
        return {"ratio": [3.0, 2.0], "label": "3:2"}
    return None


_FACTOR = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3})?)\s*(?:x|×|times)(?!\w)")


def _detect_zoom(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    side = _search(
        r"\bcrop\w*\s+(?:off\s+)?(?:\d{1,3}(?:\.\d+)?\s*%\s+(?:off|from)\s+)?"
        r"(?:the\s+)?(top|bottom|left|right|sides|edges|borders)\b",
        t,
    )
    if side:
        amount, exact = _strength("crop", t, 1.0)
        return "crop", amount, {"side": side.group(1)}, exact
    zoom_in = _has(
        r"\bzoom\w*\s*(?:in|into|closer)\b|\bpunch\w*\s+in\b|\bcrop\w*\s+"
        r"(?:in|closer|tighter)\b|\btighter\s+(?:crop|framing|frame|shot)\b|"
        r"\bcrop\s+tighter\b|\bmagnif\w*|\benlarge the subject\b",
        t,
    )
    zoom_out = _has(
        r"\bzoom\w*\s*out\b|\bwider\s+(?:framing|frame|shot|view|crop)\b|"
        r"\bloosen\w*\s+(?:the\s+)?(?:crop|framing)\b|\bless\s+tight\b",
        t,
    )
    plain_crop = _has(r"\bcrop\w*\b", t) and not zoom_out
    plain_zoom = _has(r"\bzoom\w*\b", t) and not zoom_out
    if not (zoom_in or zoom_out or plain_crop or plain_zoom):
        return None
    factor = _FACTOR.search(t)
    if factor and float(factor.group(1)) > 1.0:
        value = min(float(factor.group(1)), 1 + LIMITS["zoom"]) - 1.0
        amount, exact = value, True
    else:
        amount, exact = _strength("zoom", t, 1.0)
    if zoom_out:
        amount = -min(abs(amount), 3.0)
    if abs(amount) < 0.005:
        return None
    return "zoom", amount, {}, exact


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


def _detect_shift(t: str) -> tuple[str, float, dict[str, Any], bool] | None:
    if _TONAL_WORD.search(t):
        return None
    mentions = [m for m in _mentions(t) if m.region not in ("subject", "background")]
    # "to the left" is a direction; "to the lower right third" is a destination.
    targets = [m for m in mentions if not m.region.endswith("-half")]
    if targets and _has(_PLACE_VERB, t):
        # "move the subject to the lower right third": aim at that part of the frame.
        amount, exact = _strength("centre", t, 1.0)
        return "centre", amount, {"target": targets[0].region}, exact
    blanked = _blank(t, targets)
    directions = _UP + "|" + _DOWN + "|" + _LEFT + "|" + _RIGHT
    verb = _has(_MOVE_VERB, blanked)
    if _has(_CENTRE, t) and not _has(directions, blanked):
        if verb or not _has(r"\b(?:to|in)(?:wards?)?\s+the\s+(?:center|centre)", t):
            amount, exact = _strength("centre", t, 1.0)
            return "centre", amount, {}, exact
        return None
    if not verb:
        return None
    dx = (1.0 if _has(_RIGHT, blanked) else 0.0) - (
        1.0 if _has(_LEFT, blanked) else 0.0
    )
    dy = (1.0 if _has(_DOWN, blanked) else 0.0) - (1.0 if _has(_UP, blanked) else 0.0)
    if dx == 0 and dy == 0:
        return None
    amount, exact = _strength("shift", t, 1.0)
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


def _detect_restore(t: str) -> list[dict[str, Any]] | str | None:
    if not _has(_RESTORE_VERB, t):
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
        if _has(pattern, t):
            attributes.extend(name for name in names if name not in attributes)
    if any(_has(p, t) for p, _ in _ATTRIBUTE_WORDS[:6]):
        # Named attributes win over the catch-all words ("colours", "look").
        specific = [
            name for p, names in _ATTRIBUTE_WORDS[:6] if _has(p, t) for name in names
        ]
        attributes = list(dict.fromkeys(specific))
    if not attributes:
        return "name what to restore: " + ", ".join(RESTORE_ATTRIBUTES) + " or colours"
    return [{"attribute": name, **source} for name in attributes]


_KEEP = re.compile(
    r"^(?:and\s+|but\s+|please\s+)?(?:keep|leave|preserve|maintain|retain|"
    r"don'?t\s+(?:change|touch|alter|modify)|do\s+not\s+(?:change|touch|alter|modify)|"
    r"no\s+other\s+changes|nothing\s+else|without\s+changing)\b|"
    r"\b(?:everything|all)\s+else\b|\bthe\s+rest\s+(?:unchanged|untouched|as\s+is)\b"
)


# ---------------------------------------------------------------------------
# One segment


def _parse_segment(seg: _Segment) -> Clause | list[Clause] | str | None:
    """A clause, several clauses, a reason the words were refused, or None."""
    t = seg.text
    if _KEEP.search(t):
        spatial = [m.region for m in _mentions(t) if m.region not in TONAL_REGIONS]
        return _clause(seg, "keep", region=spatial[0] if spatial else None)

    restore = _detect_restore(t)
    if isinstance(restore, str):
        return restore
    if restore:
        mentions = [m for m in _mentions(t) if m.region not in TONAL_REGIONS]
        region = mentions[0].region if mentions else None
        return [_clause(seg, "restore", region=region, params=p) for p in restore]

    rotate = _detect_rotate(t)
    if isinstance(rotate, str):
        return rotate
    if rotate is not None:
        return _clause(seg, "rotate", params=rotate, exact=True)
    flip = _detect_flip(t)
    if flip is not None:
        return _clause(seg, "flip", params=flip, exact=True)
    aspect = _detect_aspect(t)
    if isinstance(aspect, str):
        return aspect
    if aspect is not None:
        return _clause(seg, "aspect", params=aspect, exact=True)
    zoom = _detect_zoom(t)
    if zoom is not None:
        op, amount, params, exact = zoom
        mentions = [m for m in _mentions(t) if m.region not in TONAL_REGIONS]
        region = mentions[0].region if mentions else None
        return _clause(
            seg, op, amount=amount, region=region, params=params, exact=exact
        )
    shift = _detect_shift(t)
    if shift is not None:
        op, amount, params, exact = shift
        return _clause(seg, op, amount=amount, params=params, exact=exact)
    return _parse_tonal(seg)


def _parse_tonal(seg: _Segment) -> Clause | str | None:
    t = seg.text
    whole = _WHOLE.search(t) is not None
    mentions = _mentions(t)
    blanked = _blank(t, mentions)
    spatial = [m.region for m in mentions if m.region not in TONAL_REGIONS]
    tones = [m.region for m in mentions if m.region in TONAL_REGIONS]
    tone_named = bool(tones)

    found: tuple[str, float, dict[str, Any], bool] | None = None
    for detect in (
        _detect_vignette,
        _detect_monochrome,
        _detect_sepia,
        _detect_grain,
        _detect_cast,
        _detect_warmth,
        _detect_saturation,
        _detect_contrast,
        _detect_brightness,
        _detect_sharpness,
    ):
        # Vignettes are found in the raw text: their cue words are region words.
        found = detect(t if detect is _detect_vignette else blanked)
        if found is not None:
            break
    if found is None:
        found = _detect_blur(blanked, tone_named)
    if found is None:
        found = _detect_reflections(blanked)
    region: str | None
    if found is not None:
        region = (spatial + tones)[0] if (spatial or tones) else None
        if found[0] == "vignette":
            region = spatial[0] if spatial and spatial[0] != "edges" else None
    elif tones:
        found = _detect_tone(t, tones[0], blanked)
        region = spatial[0] if spatial else None
        if found is not None and found[0] == "brightness":
            region = tones[0]
    else:
        region = None
    if found is None:
        return _region_only(seg, spatial[0], blanked) if spatial else None
    if whole and region is None:
        region = WHOLE
    op, amount, params, exact = found
    return _clause(seg, op, amount=amount, region=region, params=params, exact=exact)


_REGION_ONLY_WORDS = re.compile(
    r"^(?:(?:please|now|then|and|but|just|only|focus|focusing|work|working|apply|"
    r"applied|changes?|edits?|limit|limited|restrict|restricted|target|targeting|on|"
    r"in|to|at|the|for|of|this|that|it|area|region|part|image|photo|picture)\s*)*$"
)


def _region_only(seg: _Segment, region: str, blanked: str) -> Clause | None:
    if _REGION_ONLY_WORDS.match(blanked.strip()):
        return _clause(seg, "focus", region=region)
    return None


# ---------------------------------------------------------------------------
# The whole instruction

_INHERITABLE_VERB = re.compile(
    r"^(?:please\s+)?(increase|decrease|reduce|boost|raise|lower|add|enhance|improve|"
    r"lift|deepen|soften|sharpen|blur|brighten|darken|strengthen|intensify|remove|"
    r"make|bring out|tone down|warm|cool|restore)\b"
)


def _names_an_attribute(seg: _Segment) -> bool:
    probe = _Segment("increase " + seg.text, seg.start, seg.end, seg.sentence)
    outcome = _parse_segment(probe)
    return outcome is not None and not isinstance(outcome, str)


def _with_text(clause: Clause, original: str, start: int, end: int) -> Clause:
    text = " ".join(original[start:end].split())
    if len(text) > MAX_CLAUSE_TEXT:
        text = text[: MAX_CLAUSE_TEXT - 1] + "…"
    return replace(clause, text=text, start=start, end=end)


def _quote(original: str, seg: _Segment, reason: str | None = None) -> str:
    text = " ".join(original[seg.start : seg.end].split())
    if len(text) > MAX_CLAUSE_TEXT:
        text = text[: MAX_CLAUSE_TEXT - 1] + "…"
    return f"{text} ({reason})" if reason else text


def parse_instruction(text: str) -> Parsed:
    """Split an instruction into the clauses the local backend understands.

    Returns a :class:`Parsed` with the understood clauses (each with operation,
    signed amount, region, parameters and the source text span) and the clauses it
    did not understand, quoted from the instruction. Never raises on any text.
    """
    parsed = Parsed()
    segments = _segments(text)
    sentence_region: dict[int, tuple[str, _Segment, bool]] = {}
    keep_regions: list[str] = []
    previous: Clause | None = None
    previous_seg: _Segment | None = None
    for seg in segments:
        outcome = _parse_segment(seg)
        if outcome is None and previous is not None and previous_seg is not None:
            verb = _INHERITABLE_VERB.match(previous_seg.text)
            # "increase contrast and saturation": the bare noun borrows the verb,
            # but only a fragment that names something adjustable on its own.
            if (
                verb
                and seg.sentence == previous_seg.sentence
                and _names_an_attribute(seg)
            ):
                borrowed = _Segment(
                    verb.group(1) + " " + seg.text, seg.start, seg.end, seg.sentence
                )
                outcome = _parse_segment(borrowed)
        if isinstance(outcome, str):
            parsed.not_understood.append(_quote(text, seg, outcome))
            previous, previous_seg = None, None
            continue
        if outcome is None:
            parsed.not_understood.append(_quote(text, seg))
            previous, previous_seg = None, None
            continue
        clauses = outcome if isinstance(outcome, list) else [outcome]
        for clause in clauses:
            if clause.op == "focus" and clause.region is not None:
                sentence_region[seg.sentence] = (clause.region, seg, False)
                continue
            if clause.op == "keep" and clause.region is not None:
                keep_regions.append(clause.region)
            region = clause.region
            if (
                region is None
                and previous is not None
                and previous_seg is not None
                and previous_seg.sentence == seg.sentence
                and _has(r"\b(?:it|them|there|that area)\b", seg.text)
                and clause.op not in GEOMETRIC
            ):
                region = previous.region
            if region is None and seg.sentence in sentence_region:
                name, focus_seg, _ = sentence_region[seg.sentence]
                sentence_region[seg.sentence] = (name, focus_seg, True)
                region = name
            if region != clause.region:
                clause = replace(clause, region=region)
            # "increase detail and sharpness" is one change described twice.
            if (
                previous is not None
                and previous_seg is not None
                and previous_seg.sentence == seg.sentence
                and previous.op == clause.op
                and previous.region == clause.region
                and previous.op not in ("restore", "keep")
                and parsed.clauses
                and parsed.clauses[-1] is previous
            ):
                merged = _with_text(previous, text, previous.start, seg.end)
                parsed.clauses[-1] = merged
                previous = merged
                continue
            clause = _with_text(clause, text, seg.start, seg.end)
            parsed.clauses.append(clause)
            previous = clause
        previous_seg = seg
    for _name, focus_seg, used in sentence_region.values():
        if not used:
            parsed.not_understood.append(
                _quote(text, focus_seg, "a region with no change to make in it")
            )
    return _apply_keep_regions(parsed, keep_regions)


_COMPLEMENT = {
    "background": "subject",
    "subject": "background",
    "left-half": "right-half",
    "right-half": "left-half",
    "top-half": "bottom-half",
    "bottom-half": "top-half",
}
GEOMETRIC = frozenset({"rotate", "flip", "aspect", "zoom", "crop", "shift", "centre"})


def _apply_keep_regions(parsed: Parsed, keep_regions: list[str]) -> Parsed:
    """ "Leave the background unchanged" limits the other changes to the subject."""
    targets = {_COMPLEMENT[r] for r in keep_regions if r in _COMPLEMENT}
    if len(targets) != 1:
        return parsed
    target = targets.pop()
    clauses = []
    for clause in parsed.clauses:
        if clause.region is None and clause.op not in GEOMETRIC | {"keep"}:
            clause = replace(clause, region=target)
        clauses.append(clause)
    return Parsed(clauses, parsed.not_understood)
