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

from core.backends.local.regions import TONAL_REGIONS
from core.backends.local.vocabulary import (
    KEEP,
    WHOLE_WORDS,
    blank,
    detect_aspect,
    detect_blur,
    detect_brightness,
    detect_cast,
    detect_contrast,
    detect_flip,
    detect_grain,
    detect_monochrome,
    detect_reflections,
    detect_restore,
    detect_rotate,
    detect_saturation,
    detect_sepia,
    detect_sharpness,
    detect_shift,
    detect_tone,
    detect_vignette,
    detect_warmth,
    detect_zoom,
    has,
    mentions,
    percent,
    unreadable_number,
)
from core.text import clean_text

MAX_CLAUSE_TEXT = 160

WHOLE = "whole"
"""Region value for a clause that explicitly names the whole image ("overall")."""


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
    text: str  # lowered, whitespace collapsed
    start: int
    end: int
    sentence: int


# ---------------------------------------------------------------------------
# Splitting into clauses

_MARKER = re.compile(r"(?m)^[ \t]*(?:\(?\d{1,3}[.)]|[-*•·–—]|\(?[a-h][.)])[ \t]+")
_SENTENCE_END = re.compile(r"\n|;|[.!?](?=\s|$)")
# The lookbehind keeps a long run of spaces from being rescanned at every position.
_CLAUSE_SPLIT = re.compile(
    r",|:(?!\d)|(?<=\S)\s+(?:and then|then|plus|also|as well as|while|but|whereas|"
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
            # Detectors read one space between words; spans stay on the original.
            out.append(
                _Segment(" ".join(stripped.split()), s, s + len(stripped), sentence)
            )
        piece_start = b


def _clause(seg: _Segment, op: str, **kwargs: Any) -> Clause:
    clause = Clause(op=op, text="", start=seg.start, end=seg.end, **kwargs)
    asked = percent(seg.text) if clause.exact and op != "zoom" else None
    if asked is not None and abs(abs(clause.amount) - asked) > 1e-9:
        # The amount was held to the operation's limit: say what was asked for.
        params = {**clause.params, "requested": f"{asked * 100:g}%"}
        clause = replace(clause, params=params)
    return clause


# ---------------------------------------------------------------------------
# One segment


def _parse_segment(seg: _Segment) -> Clause | list[Clause] | str | None:
    """A clause, several clauses, a reason the words were refused, or None."""
    t = seg.text
    # A number that cannot be read whole is refused, never read as another one.
    odd = unreadable_number(t)
    if odd is not None:
        return odd
    if KEEP.search(t):
        spatial = [m.region for m in mentions(t) if m.region not in TONAL_REGIONS]
        return _clause(seg, "keep", region=spatial[0] if spatial else None)

    restore = detect_restore(t)
    if isinstance(restore, str):
        return restore
    if restore:
        named = [m for m in mentions(t) if m.region not in TONAL_REGIONS]
        region = named[0].region if named else None
        return [_clause(seg, "restore", region=region, params=p) for p in restore]

    rotate = detect_rotate(t)
    if isinstance(rotate, str):
        return rotate
    if rotate is not None:
        return _clause(seg, "rotate", params=rotate, exact=True)
    flip = detect_flip(t)
    if flip is not None:
        return _clause(seg, "flip", params=flip, exact=True)
    aspect = detect_aspect(t)
    if isinstance(aspect, str):
        return aspect
    if aspect is not None:
        return _clause(seg, "aspect", params=aspect, exact=True)
    zoom = detect_zoom(t)
    if isinstance(zoom, str):
        return zoom
    if zoom is not None:
        op, amount, params, exact = zoom
        named = [m for m in mentions(t) if m.region not in TONAL_REGIONS]
        region = named[0].region if named else None
        return _clause(
            seg, op, amount=amount, region=region, params=params, exact=exact
        )
    shift = detect_shift(t)
    if shift is not None:
        op, amount, params, exact = shift
        return _clause(seg, op, amount=amount, params=params, exact=exact)
    return _parse_tonal(seg)


def _parse_tonal(seg: _Segment) -> Clause | str | None:
    t = seg.text
    whole = WHOLE_WORDS.search(t) is not None
    named = mentions(t)
    blanked = blank(t, named)
    spatial = [m.region for m in named if m.region not in TONAL_REGIONS]
    tones = [m.region for m in named if m.region in TONAL_REGIONS]
    tone_named = bool(tones)

    found = detect_vignette(t, blanked)
    for detect in (
        detect_monochrome,
        detect_sepia,
        detect_grain,
        detect_cast,
        detect_warmth,
        detect_saturation,
        detect_contrast,
        detect_brightness,
        detect_sharpness,
    ):
        if found is not None:
            break
        found = detect(blanked)
    if found is None:
        found = detect_blur(blanked, tone_named)
    if found is None:
        found = detect_reflections(blanked)
    region: str | None
    if found is not None:
        region = (spatial + tones)[0] if (spatial or tones) else None
        if found[0] == "vignette":
            region = spatial[0] if spatial and spatial[0] != "edges" else None
    elif tones:
        found = detect_tone(t, tones[0], blanked)
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


_REGION_ONLY_WORDS = frozenset(
    "please now then and but just only focus focusing work working apply applied "
    "change changes edit edits limit limited restrict restricted target targeting on "
    "in to at the for of this that it area region part image photo picture".split()
)


def _region_only(seg: _Segment, region: str, blanked: str) -> Clause | None:
    """A clause such as "only the background:" names where the next changes go."""
    if all(word in _REGION_ONLY_WORDS for word in blanked.split()):
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


def _shown(text: str) -> str:
    """Words quoted back to the user, without terminal controls, on one line."""
    return clean_text(text, single_line=True)


def _with_text(clause: Clause, original: str, start: int, end: int) -> Clause:
    text = _shown(original[start:end])
    if len(text) > MAX_CLAUSE_TEXT:
        text = text[: MAX_CLAUSE_TEXT - 1] + "…"
    return replace(clause, text=text, start=start, end=end)


def _quote(original: str, seg: _Segment, reason: str | None = None) -> str:
    text = _shown(original[seg.start : seg.end])
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
                and has(r"\b(?:it|them|there|that area)\b", seg.text)
                and clause.op not in GEOMETRIC
            ):
                region = previous.region
            if region is None and seg.sentence in sentence_region:
                name, focus_seg, _ = sentence_region[seg.sentence]
                sentence_region[seg.sentence] = (name, focus_seg, True)
                region = name
            if region != clause.region:
                clause = replace(clause, region=region)
            # "increase detail and sharpness" is one change described twice;
            # "10% brighter and 10% darker" is two, carried out in order.
            if (
                previous is not None
                and (previous.amount >= 0) == (clause.amount >= 0)
                and not (previous.exact and clause.exact)
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
    """A kept region ("leave the background unchanged") limits the other changes."""
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
