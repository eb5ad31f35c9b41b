"""Where an adjustment applies: region names, their validation and feathered masks.

A region reaches the local backend from two places: the interface's region picker
(``request.region``, one of :data:`REGION_NAMES` or a ``box:`` of fractions) and the
words of an instruction ("only the background", "in the lower right third"). Both
end up as one canonical name, and every name becomes an ``L`` mask the size of the
image, where 255 means "change this pixel" and 0 means "leave it exactly as it was".

Spatial masks are drawn small and blurred, then scaled up: the feathered edge costs
almost nothing at any image size, and the inside and the far outside stay exactly
255 and 0, so untouched pixels are untouched to the level. Tonal masks (highlights,
shadows, midtones) are curves over the image's own luminance histogram, so "the
highlights" of a dark photo are its brighter tones, not an empty set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from core.errors import BadInput

REGION_NAMES: tuple[str, ...] = (
    "subject",
    "background",
    "upper-left",
    "upper-centre",
    "upper-right",
    "centre-left",
    "centre",
    "centre-right",
    "lower-left",
    "lower-centre",
    "lower-right",
    "left-half",
    "right-half",
    "top-half",
    "bottom-half",
    "left-third",
    "right-third",
    "top-third",
    "bottom-third",
    "edges",
    "highlights",
    "shadows",
    "midtones",
)
"""The regions the interface offers, besides ``box:x0,y0,x1,y1`` in fractions 0..1."""

TONAL_REGIONS = frozenset({"highlights", "shadows", "midtones"})

# Words that carry no meaning for a region name ("only the lower right third").
_FILLER = frozenset(
    "the only a an of in on at to into for image photo picture frame shot area areas "
    "part parts region portion section zone side sides corner bit".split()
)
_VERTICAL = {"top": "upper", "upper": "upper", "bottom": "lower", "lower": "lower"}
_HORIZONTAL = {"left": "left", "right": "right"}
_MIDDLE = frozenset({"centre", "center", "middle", "central", "centred", "centered"})
_SINGLE = {
    "background": "background",
    "backdrop": "background",
    "bg": "background",
    "subject": "subject",
    "foreground": "subject",
    "fg": "subject",
    "main subject": "subject",
    "foreground subject": "subject",
    "edges": "edges",
    "edge": "edges",
    "corners": "edges",
    "border": "edges",
    "borders": "edges",
    "periphery": "edges",
    "highlights": "highlights",
    "highlight": "highlights",
    "brights": "highlights",
    "shadows": "shadows",
    "shadow": "shadows",
    "darks": "shadows",
    "midtones": "midtones",
    "midtone": "midtones",
    "mid tones": "midtones",
    "mid tone": "midtones",
    "middle tones": "midtones",
}
_BOX = re.compile(r"box\s*:\s*([^,]+),([^,]+),([^,]+),([^,]+)")

# Cell boxes in fractions of the frame, for the grid and the halves.
_THIRDS = {"left": (0.0, 1 / 3), "centre": (1 / 3, 2 / 3), "right": (2 / 3, 1.0)}
_ROWS = {"upper": (0.0, 1 / 3), "centre": (1 / 3, 2 / 3), "lower": (2 / 3, 1.0)}
_BOXES: dict[str, tuple[float, float, float, float]] = {
    "left-half": (0.0, 0.0, 0.5, 1.0),
    "right-half": (0.5, 0.0, 1.0, 1.0),
    "top-half": (0.0, 0.0, 1.0, 0.5),
    "bottom-half": (0.0, 0.5, 1.0, 1.0),
    "left-third": (0.0, 0.0, 1 / 3, 1.0),
    "right-third": (2 / 3, 0.0, 1.0, 1.0),
    "top-third": (0.0, 0.0, 1.0, 1 / 3),
    "bottom-third": (0.0, 2 / 3, 1.0, 1.0),
}
for _row, (_y0, _y1) in _ROWS.items():
    for _col, (_x0, _x1) in _THIRDS.items():
        _name = "centre" if _row == _col == "centre" else f"{_row}-{_col}"
        _BOXES[_name] = (_x0, _y0, _x1, _y1)

# The subject is assumed to sit in the middle: an ellipse this wide and tall.
SUBJECT_RADII = (0.30, 0.36)
_MASK_LONG_SIDE = 256
_MASK_MIN_SIDE = 32
_FEATHER = 0.04  # of the short side; the soft band is about twice this wide


@dataclass(frozen=True)
class Box:
    """A rectangle in fractions of the frame: left, top, right, bottom."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


def _names_hint() -> str:
    return ", ".join(REGION_NAMES) + " or box:x0,y0,x1,y1 (fractions 0..1)"


def canonical_region(text: str) -> str | None:
    """The canonical name for a region phrase, or None when it names no region."""
    words = re.sub(r"[_\-/]+", " ", text.strip().lower()).split()
    words = [w for w in words if w not in _FILLER]
    if not words:
        return None
    phrase = " ".join(words)
    if phrase in _SINGLE:
        return _SINGLE[phrase]
    if phrase in ("whole", "everything", "all", "overall", "entire", "global"):
        return None
    vertical = [_VERTICAL[w] for w in words if w in _VERTICAL]
    horizontal = [_HORIZONTAL[w] for w in words if w in _HORIZONTAL]
    middle = [w for w in words if w in _MIDDLE]
    size = [w for w in words if w in ("half", "third")]
    known = len(vertical) + len(horizontal) + len(middle) + len(size)
    if known != len(words) or len(size) > 1 or len(vertical) > 1 or len(horizontal) > 1:
        return None
    kind = size[0] if size else ""
    if vertical and horizontal and middle:
        return None
    if vertical and horizontal:
        return f"{vertical[0]}-{horizontal[0]}" if kind != "half" else None
    if vertical and middle:
        return f"{vertical[0]}-centre" if kind != "half" else None
    if horizontal and middle:
        return f"centre-{horizontal[0]}" if kind != "half" else None
    if vertical:
        side = "top" if vertical[0] == "upper" else "bottom"
        return f"{side}-third" if kind == "third" else f"{side}-half"
    if horizontal:
        return f"{horizontal[0]}-third" if kind == "third" else f"{horizontal[0]}-half"
    if middle and kind != "half":
        return "centre"
    return None


def parse_box(text: str) -> Box | None:
    """A ``box:x0,y0,x1,y1`` region as a :class:`Box`, or None if it is not one."""
    match = _BOX.fullmatch(text.strip().lower())
    if not match:
        return None
    try:
        x0, y0, x1, y1 = (float(part) for part in match.groups())
    except ValueError:
        return None
    values = (x0, y0, x1, y1)
    if any(not 0.0 <= v <= 1.0 for v in values) or x1 - x0 < 0.01 or y1 - y0 < 0.01:
        return None
    return Box(x0, y0, x1, y1)


def validate_region(region: str) -> str:
    """Return the canonical form of a region, or raise BadInput naming the valid ones.

    Accepts the names in :data:`REGION_NAMES`, everyday spellings of them ("lower
    right third", "the background", "top centre", "center") and
    ``box:x0,y0,x1,y1`` with fractions 0..1 (left < right, top < bottom).
    """
    text = region.strip()
    if text.lower().startswith("box"):
        box = parse_box(text)
        if box is None:
            raise BadInput(
                f"The region {region!r} is not a valid box: use box:x0,y0,x1,y1 with "
                "fractions from 0 to 1, left smaller than right and top smaller than "
                "bottom."
            )
        return f"box:{box.x0:g},{box.y0:g},{box.x1:g},{box.y1:g}"
    name = canonical_region(text)
    if name is None:
        raise BadInput(f"Unknown region {region!r}. Valid regions: {_names_hint()}.")
    return name


def region_box(region: str) -> Box | None:
    """The rectangle a spatial region covers, or None for the subject, edges, tones."""
    if region.startswith("box:"):
        return parse_box(region)
    if region in _BOXES:
        return Box(*_BOXES[region])
    return None


def region_centre(region: str) -> tuple[float, float]:
    """Where a region sits in the frame, in fractions (used to aim zooms and moves)."""
    box = region_box(region)
    if box is not None:
        return box.centre
    return 0.5, 0.5


def region_mask(region: str, image: Image.Image) -> Image.Image:
    """A feathered ``L`` mask, the size of ``image``, of where ``region`` applies."""
    if region in TONAL_REGIONS:
        return tonal_mask(region, image)
    width, height = image.size
    scale = min(1.0, _MASK_LONG_SIDE / max(width, height))
    # Tiny or thin frames are drawn on a canvas of at least _MASK_MIN_SIDE a side:
    # a box a third of two pixels wide cannot be drawn, only scaled down to.
    small = (
        max(_MASK_MIN_SIDE, round(width * scale)),
        max(_MASK_MIN_SIDE, round(height * scale)),
    )
    feather = _FEATHER * min(small)
    mask = _draw_spatial(region, small, feather)
    mask = mask.filter(ImageFilter.GaussianBlur(feather))
    if mask.size != image.size:
        mask = mask.resize(image.size, Image.Resampling.BILINEAR)
    return mask


def _draw_spatial(region: str, size: tuple[int, int], feather: float) -> Image.Image:
    width, height = size
    inverse = region == "background"
    box = region_box(region)
    if region == "edges":
        # The border band: everything outside an inset rectangle.
        mask = Image.new("L", size, 255)
        inset = 0.16 * min(width, height)
        ImageDraw.Draw(mask).rectangle(
            (
                inset,
                inset,
                max(inset, width - 1 - inset),
                max(inset, height - 1 - inset),
            ),
            fill=0,
        )
        return mask
    mask = Image.new("L", size, 255 if inverse else 0)
    draw = ImageDraw.Draw(mask)
    fill = 0 if inverse else 255
    if region in ("subject", "background") or box is None:
        rx, ry = SUBJECT_RADII[0] * width, SUBJECT_RADII[1] * height
        draw.ellipse(
            (width / 2 - rx, height / 2 - ry, width / 2 + rx, height / 2 + ry),
            fill=fill,
        )
        return mask
    # A frame edge stays inside the region: extend boxes that touch it past the
    # border so that the blur does not fade the region out towards the edge.
    pad = 3 * feather
    x0 = box.x0 * width - (pad if box.x0 <= 0 else 0)
    y0 = box.y0 * height - (pad if box.y0 <= 0 else 0)
    x1 = box.x1 * width + (pad if box.x1 >= 1 else 0)
    y1 = box.y1 * height + (pad if box.y1 >= 1 else 0)
    draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), fill=fill)
    return mask


def luminance_percentiles(image: Image.Image, *points: float) -> list[int]:
    """Luminance levels below which the given fractions of the pixels lie."""
    histogram = image.convert("L").histogram()
    total = sum(histogram)
    results = []
    for point in points:
        target = point * total
        running = 0
        level = 255
        for index, count in enumerate(histogram):
            running += count
            if running >= target:
                level = index
                break
        results.append(level)
    return results


def _ramp(lo: float, hi: float) -> list[int]:
    """A smoothstep from 0 at ``lo`` to 255 at ``hi``, as a 256-entry table."""
    table = []
    for value in range(256):
        t = min(1.0, max(0.0, (value - lo) / max(1.0, hi - lo)))
        table.append(round(255 * t * t * (3 - 2 * t)))
    return table


def tonal_tables(image: Image.Image) -> dict[str, list[int]]:
    """Luminance-to-mask tables for highlights, shadows and midtones of this image."""
    p10, p40, p50, p60, p90 = luminance_percentiles(image, 0.1, 0.4, 0.5, 0.6, 0.9)
    del p50
    hl_lo = min(200, max(96, p60))
    hl_hi = min(255, max(p90, hl_lo + 32))
    sh_hi = min(160, max(56, p40))
    sh_lo = max(0, min(p10, sh_hi - 32))
    highlights = _ramp(hl_lo, hl_hi)
    shadows = [255 - v for v in _ramp(sh_lo, sh_hi)]
    midtones = [max(0, 255 - h - s) for h, s in zip(highlights, shadows, strict=True)]
    return {"highlights": highlights, "shadows": shadows, "midtones": midtones}


def tonal_mask(region: str, image: Image.Image) -> Image.Image:
    """The mask of the highlights, shadows or midtones of ``image``."""
    return image.convert("L").point(tonal_tables(image)[region])
