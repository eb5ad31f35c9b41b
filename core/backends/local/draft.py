"""Offline drafts: a layout sketch from a text prompt, a collage from references.

Without a model, the local backend cannot paint a watch on a wooden table, but it
can block out the composition the prompt describes before any credits are spent:
the backdrop and surface in the colours the words name, a glow from the side the
light comes from, and a labelled placeholder where the subject should sit ("lower
right third"). Two or three references become a labelled collage, so the round that
starts a compose session shows what was handed in.

Everything is drawn with Pillow and is fully determined by the prompt and the size.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

from core.backends.local.regions import canonical_region, region_centre

RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

PLACEHOLDER_FILL: RGB = (238, 233, 222)
"""The flat colour of the placeholder subject, so a draft can be measured."""

_COLOURS: dict[str, RGB] = {
    "wood": (116, 76, 44),
    "wooden": (116, 76, 44),
    "oak": (150, 110, 66),
    "walnut": (92, 60, 38),
    "mahogany": (104, 44, 30),
    "marble": (226, 223, 216),
    "concrete": (132, 132, 128),
    "stone": (120, 116, 108),
    "slate": (72, 76, 82),
    "granite": (96, 94, 92),
    "velvet": (92, 22, 44),
    "linen": (218, 208, 188),
    "leather": (110, 66, 40),
    "sand": (214, 192, 150),
    "beach": (214, 192, 150),
    "grass": (70, 130, 56),
    "forest": (34, 74, 40),
    "jungle": (30, 84, 44),
    "ocean": (30, 92, 132),
    "sea": (30, 92, 132),
    "water": (40, 104, 140),
    "sky": (132, 178, 228),
    "snow": (236, 240, 246),
    "studio": (196, 196, 196),
    "paper": (236, 232, 222),
    "black": (18, 18, 20),
    "white": (240, 240, 236),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "silver": (180, 182, 188),
    "blue": (40, 70, 150),
    "navy": (22, 32, 72),
    "red": (160, 32, 32),
    "green": (40, 112, 60),
    "gold": (200, 160, 60),
    "golden": (200, 160, 60),
    "pink": (228, 150, 180),
    "purple": (104, 58, 156),
    "violet": (110, 60, 170),
    "orange": (228, 128, 40),
    "yellow": (228, 200, 60),
    "teal": (30, 128, 128),
    "turquoise": (50, 170, 170),
    "brown": (110, 74, 44),
    "beige": (222, 206, 176),
    "cream": (238, 228, 204),
    "nebula": (44, 26, 92),
    "space": (8, 8, 24),
    "galaxy": (20, 14, 48),
    "night": (14, 20, 44),
    "sunset": (236, 132, 64),
    "sunrise": (240, 160, 100),
    "dusk": (92, 62, 112),
}
_SPACE_WORDS = ("nebula", "space", "galaxy", "cosmos", "cosmic", "starry", "stars")
_SKY_GRADIENTS: dict[str, tuple[RGB, RGB]] = {
    "sunset": ((88, 48, 112), (250, 150, 70)),
    "sunrise": ((120, 150, 210), (250, 180, 120)),
    "dusk": ((30, 30, 70), (170, 90, 110)),
    "golden hour": ((120, 110, 150), (250, 190, 110)),
}
_SURFACE_NOUNS = (
    r"surface|table|tabletop|desk|floor|ground|counter|countertop|shelf|plinth|"
    r"pedestal|slab|board|podium|rock|sand|beach|grass|tray|cloth|bench"
)
_LIGHT_COLOURS: list[tuple[str, RGB, str]] = [
    (r"\bneon\b", (255, 96, 210), "neon"),
    (
        r"\bwarm\w*|\bgolden\b|\bsunset\b|\bcandle\w*|\btungsten\b|\bamber\b",
        (255, 196, 128),
        "warm",
    ),
    (
        r"\bcool\w*|\bcold\b|\bmoon\w*|\bicy\b|\bblue hour\b|\bblue\b",
        (170, 200, 255),
        "cool",
    ),
]
_SHAPES = {
    "tall": r"\b(?:bottle|vase|glass|person|woman|man|girl|boy|figure|tower|tree|"
    r"lamp|candle|statue|model|dancer|portrait|perfume|can|cup|mug)\b",
    "wide": r"\b(?:car|sofa|couch|bed|boat|truck|train|table|bench|landscape|"
    r"skyline|bridge|keyboard|laptop)\b",
}
_SUBJECT = re.compile(
    r"\b(?:photo(?:graph|graphy)?|shot|image|picture|render(?:ing)?|illustration|"
    r"painting|portrait|close[\s-]?up|still life|view|drawing|scene|macro)\s+of\s+"
    r"(?:an?\s+|the\s+)?(.{1,60}?)(?=\s+(?:on|in|at|with|against|over|under|near|"
    r"beside|by|sitting|standing|positioned|placed|floating|lying|resting|"
    r"surrounded|from|and)\b|[,.;:]|$)"
)
_LEADING_SUBJECT = re.compile(
    r"^(?:an?\s+|the\s+)(.{1,60}?)(?=\s+(?:on|in|at|with|against|over|under|near|"
    r"beside|by|sitting|standing|positioned|placed|floating|lying|resting|"
    r"surrounded|from|and)\b|[,.;:]|$)"
)
_PLACEMENT = re.compile(
    r"\b(?:in|on|at|to|towards)\s+the\s+((?:(?:top|upper|bottom|lower|middle|center|"
    r"centre)[\s-]+)?(?:left|right|center|centre|middle|top|bottom)(?:[\s-]+(?:third|"
    r"corner|half|side))?)\b"
)


@dataclass(frozen=True)
class DraftPlan:
    """What the layout draft will show, read from the prompt's words."""

    size: tuple[int, int]
    backdrop: str
    backdrop_colour: RGB
    surface: str | None
    surface_colour: RGB | None
    sky: tuple[RGB, RGB] | None
    space: bool
    light_colour: RGB
    light_name: str
    light_side: str
    dramatic: bool
    subject: str
    shape: str
    centre: tuple[float, float]
    placement: str
    scale: float


def clean_text(text: str, limit: int = 80) -> str:
    """Printable, single-line, at most ``limit`` characters: safe to draw as a label."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    single = " ".join(printable.split())
    if len(single) > limit:
        single = single[: limit - 1].rstrip() + "…"
    return single


def _font(size: int) -> Font:
    return ImageFont.load_default(size=max(8, size))


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Font, width: float) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…" if text else ""


def _colour_of(phrase: str) -> RGB | None:
    words = re.findall(r"[a-z]+", phrase)
    found = [_COLOURS[w] for w in words if w in _COLOURS]
    if not found:
        return None
    base = found[-1]
    if len(found) > 1:
        # "white marble", "blue velvet": the colour word tints the material.
        base = _mix(found[0], base, 0.5)
    if re.search(r"\b(?:dark|deep|black|moody|shadowy)\b", phrase):
        base = _darker(base, 0.5)
    elif re.search(r"\b(?:light|pale|bright|pastel|white)\b", phrase):
        base = _mix(base, (255, 255, 255), 0.4)
    return base


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _darker(colour: RGB, factor: float) -> RGB:
    return (
        round(colour[0] * factor),
        round(colour[1] * factor),
        round(colour[2] * factor),
    )


def plan_draft(prompt: str, size: tuple[int, int]) -> DraftPlan:
    """Read backdrop, light, subject and placement from a text prompt."""
    text = " ".join(prompt.lower().split())
    surface_match = re.search(
        rf"\b(?:on|atop|upon)\s+(?:an?\s+|the\s+)?([\w\s-]{{0,40}}?)\b({_SURFACE_NOUNS})\b",
        text,
    )
    surface = surface_colour = None
    if surface_match:
        surface = clean_text(f"{surface_match.group(1)} {surface_match.group(2)}", 40)
        surface_colour = _colour_of(surface) or (150, 140, 128)

    backdrop_match = re.search(
        r"\b([\w-]+(?:\s+[\w-]+)?)\s+(?:background|backdrop|wall)\b|"
        r"\bagainst\s+(?:an?\s+|the\s+)?([\w\s-]{1,30}?)(?=[,.;]|$|\s+with\b)",
        text,
    )
    sky = next((g for w, g in _SKY_GRADIENTS.items() if w in text), None)
    space = any(re.search(rf"\b{w}\b", text) for w in _SPACE_WORDS)
    backdrop_colour: RGB | None = None
    backdrop = ""
    if backdrop_match:
        phrase = backdrop_match.group(1) or backdrop_match.group(2) or ""
        backdrop_colour = _colour_of(phrase)
        backdrop = clean_text(phrase, 30) if backdrop_colour else ""
    if backdrop_colour is None and space:
        # "blue nebula": the words just before the space word colour it.
        phrase = re.search(
            rf"((?:[a-z-]+\s+){{0,2}})({'|'.join(_SPACE_WORDS)})\b", text
        )
        backdrop = clean_text(phrase.group(0), 30) if phrase else "space"
        backdrop_colour = _darker(_colour_of(backdrop) or _COLOURS["space"], 0.7)
    if backdrop_colour is None and sky is not None:
        backdrop, backdrop_colour = "sky", sky[1]
    elif sky is not None:
        sky = None  # a named backdrop or space wins over the sky's gradient
    if backdrop_colour is None and surface_colour is not None:
        backdrop, backdrop_colour = "shade of the surface", _darker(surface_colour, 0.5)
    if backdrop_colour is None:
        backdrop_colour = _colour_of(text)
        backdrop = "colour from the prompt" if backdrop_colour else "neutral studio"
    if backdrop_colour is None:
        backdrop_colour = (74, 76, 82)

    light_colour: RGB = (255, 246, 232)
    light_name = "neutral"
    for pattern, colour, name in _LIGHT_COLOURS:
        if re.search(pattern, text):
            light_colour, light_name = colour, name
            break
    light_side = _light_side(text)
    dramatic = bool(
        re.search(
            r"\b(?:dramatic|harsh|hard light|strong shadows|chiaroscuro|moody)\b", text
        )
    )

    subject_match = _SUBJECT.search(text) or _LEADING_SUBJECT.search(text)
    subject = clean_text(subject_match.group(1), 32) if subject_match else "subject"
    shape = "round"
    for name, pattern in _SHAPES.items():
        if re.search(pattern, subject):
            shape = name
            break

    centre, placement = (0.5, 0.56), "centre"
    placed = _PLACEMENT.search(text)
    if placed:
        region = canonical_region(placed.group(1))
        if region is not None:
            placement = region.replace("-", " ")
            if region.startswith(("upper-", "centre-", "lower-")):
                placement += " third"
            centre = _placement_centre(region)
    elif re.search(r"\b(?:centered|centred|in the middle)\b", text):
        placement = "centre"
    elif re.search(r"\brule of thirds\b", text):
        centre, placement = (2 / 3, 2 / 3), "lower right thirds point"
    scale = 0.3
    if re.search(r"\b(?:close[\s-]?up|macro|fills? the frame|large)\b", text):
        scale = 0.46
    elif re.search(r"\b(?:small|tiny|distant|far away|minimalist|minimal)\b", text):
        scale = 0.22
    return DraftPlan(
        size=size,
        backdrop=backdrop or "backdrop",
        backdrop_colour=backdrop_colour,
        surface=surface,
        surface_colour=surface_colour,
        sky=sky,
        space=space,
        light_colour=light_colour,
        light_name=light_name,
        light_side=light_side,
        dramatic=dramatic,
        subject=subject,
        shape=shape,
        centre=centre,
        placement=placement,
        scale=scale,
    )


def _placement_centre(region: str) -> tuple[float, float]:
    halves = {
        "left-half": (0.3, 0.56),
        "right-half": (0.7, 0.56),
        "top-half": (0.5, 0.32),
        "bottom-half": (0.5, 0.7),
    }
    return halves.get(region) or region_centre(region)


def _light_side(text: str) -> str:
    side = re.search(
        r"\b(?:light\w*|lit|sun\w*|window)\b[\w\s-]{0,30}?\bfrom\s+(?:the\s+)?"
        r"(left|right|above|top|below|behind|back)\b|\b(left|right)[\s-]+side\b[\w\s-]{0,12}?"
        r"\blight|\bfrom\s+(?:the\s+)?(left|right|above|behind)\b",
        text,
    )
    if side:
        word = next(g for g in side.groups() if g)
        return {"above": "top", "back": "behind"}.get(word, word)
    if re.search(
        r"\b(?:backlit|back[\s-]?light\w*|rim[\s-]?light\w*|silhouett\w*)\b", text
    ):
        return "behind"
    if re.search(r"\b(?:overhead|top[\s-]?light\w*|from above)\b", text):
        return "top"
    if re.search(r"\bside[\s-]?light\w*|\bwindow light\b", text):
        return "left"
    return "upper left"


# ---------------------------------------------------------------------------
# Drawing the layout draft


def _vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    strip = Image.new("RGB", (1, 256))
    strip.putdata(
        [
            tuple(
                round(a + (b - a) * y / 255) for a, b in zip(top, bottom, strict=True)
            )
            for y in range(256)
        ]
    )
    return strip.resize(size, Image.Resampling.BILINEAR)


def _glow(
    size: tuple[int, int], centre: tuple[float, float], radius: float
) -> Image.Image:
    """A soft round ``L`` mask at ``centre`` (fractions), ``radius`` × short side."""
    width, height = size
    scale = min(1.0, 256 / max(size))
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    mask = Image.new("L", small, 0)
    r = radius * min(small)
    x, y = centre[0] * small[0], centre[1] * small[1]
    ImageDraw.Draw(mask).ellipse((x - r, y - r, x + r, y + r), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(r * 0.6))
    return mask.resize(size, Image.Resampling.BILINEAR)


_LIGHT_POSITIONS = {
    "left": (-0.05, 0.4),
    "right": (1.05, 0.4),
    "top": (0.5, -0.05),
    "below": (0.5, 1.05),
    "bottom": (0.5, 1.05),
    "upper left": (0.05, 0.0),
}


def draw_draft(
    plan: DraftPlan, seed: str
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Render a plan; returns the image and the placeholder's bounding box in pixels."""
    width, height = plan.size
    short = min(width, height)
    horizon = round(height * 0.64)
    backdrop = plan.backdrop_colour
    if plan.sky is not None:
        canvas = _vertical_gradient(plan.size, plan.sky[0], plan.sky[1])
    else:
        canvas = _vertical_gradient(plan.size, _darker(backdrop, 0.8), backdrop)
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    if plan.space:
        _draw_space(canvas, rng)
    if plan.surface_colour is not None:
        surface = _vertical_gradient(
            (width, height - horizon),
            plan.surface_colour,
            _darker(plan.surface_colour, 0.7),
        )
        canvas.paste(surface, (0, horizon))
        if re.search(r"wood|oak|walnut|mahogany|timber", plan.surface or ""):
            _draw_wood_grain(canvas, horizon, plan.surface_colour, rng)

    # Light: a broad glow from the named side, and shade on the far side if dramatic.
    if plan.light_side == "behind":
        light_at = (plan.centre[0], plan.centre[1] - 0.05)
        glow = _glow(plan.size, light_at, plan.scale * 0.9)
    else:
        light_at = _LIGHT_POSITIONS.get(plan.light_side, (0.05, 0.0))
        glow = _glow(plan.size, light_at, 0.7)
    strength = 0.55 if plan.dramatic else 0.4
    glow = glow.point([round(v * strength) for v in range(256)])
    # Screen blending brightens towards the light colour without greying out
    # the backdrop's own colour.
    light = Image.new("RGB", plan.size, (0, 0, 0))
    light.paste(Image.new("RGB", plan.size, plan.light_colour), (0, 0), glow)
    canvas = ImageChops.screen(canvas, light)
    if plan.dramatic and plan.light_side != "behind":
        far = (1 - light_at[0], 1 - light_at[1])
        shade = _glow(plan.size, far, 0.8).point([round(v * 0.6) for v in range(256)])
        canvas = Image.composite(Image.new("RGB", plan.size, (0, 0, 0)), canvas, shade)

    draw = ImageDraw.Draw(canvas, "RGBA")
    for i in (1, 2):
        draw.line(
            [(width * i / 3, 0), (width * i / 3, height)], fill=(255, 255, 255, 38)
        )
        draw.line(
            [(0, height * i / 3), (width, height * i / 3)], fill=(255, 255, 255, 38)
        )

    box = _subject_box(plan)
    if plan.surface is not None:
        _draw_contact_shadow(canvas, box, plan)
    draw = ImageDraw.Draw(canvas, "RGBA")
    outline = (40, 40, 44)
    line = max(2, short // 300)
    if plan.shape == "round":
        draw.ellipse(box, fill=PLACEHOLDER_FILL, outline=outline, width=line)
    else:
        radius = min(box[2] - box[0], box[3] - box[1]) // 4
        draw.rounded_rectangle(
            box, radius, fill=PLACEHOLDER_FILL, outline=outline, width=line
        )
    font = _font(max(12, (box[2] - box[0]) // 9))
    label = _fit(draw, plan.subject, font, (box[2] - box[0]) * 0.8)
    draw.text(
        ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
        label,
        fill=outline,
        font=font,
        anchor="mm",
    )
    _draw_caption(canvas, plan)
    return canvas, box


def _subject_box(plan: DraftPlan) -> tuple[int, int, int, int]:
    width, height = plan.size
    short = min(width, height)
    base = plan.scale * short
    w, h = {"tall": (base * 0.62, base * 1.25), "wide": (base * 1.5, base * 0.7)}.get(
        plan.shape, (base, base)
    )
    h = min(h, height * 0.8)
    w = min(w, width * 0.8)
    cx = min(max(plan.centre[0] * width, w / 2 + 4), width - w / 2 - 4)
    cy = min(max(plan.centre[1] * height, h / 2 + 4), height - h / 2 - 4)
    return (round(cx - w / 2), round(cy - h / 2), round(cx + w / 2), round(cy + h / 2))


def _draw_contact_shadow(
    canvas: Image.Image, box: tuple[int, int, int, int], plan: DraftPlan
) -> None:
    light_x = _LIGHT_POSITIONS.get(plan.light_side, (0.5, 0.0))[0]
    offset = (0.5 - light_x) * (box[2] - box[0]) * 0.5
    mask = Image.new("L", canvas.size, 0)
    w = box[2] - box[0]
    ImageDraw.Draw(mask).ellipse(
        (
            box[0] + offset,
            box[3] - w * 0.08,
            box[2] + offset + w * 0.1,
            box[3] + w * 0.12,
        ),
        fill=150 if plan.dramatic else 100,
    )
    mask = mask.filter(ImageFilter.GaussianBlur(max(2, w // 14)))
    canvas.paste(Image.new("RGB", canvas.size, (0, 0, 0)), (0, 0), mask)


def _draw_space(canvas: Image.Image, rng: random.Random) -> None:
    width, height = canvas.size
    for colour in ((70, 90, 220), (150, 60, 200), (220, 80, 160)):
        centre = (rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85))
        glow = _glow(canvas.size, centre, rng.uniform(0.25, 0.45)).point(
            [v * 2 // 5 for v in range(256)]
        )
        canvas.paste(Image.new("RGB", canvas.size, colour), (0, 0), glow)
    draw = ImageDraw.Draw(canvas)
    for _ in range(max(40, width * height // 6000)):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        level = rng.randint(150, 255)
        draw.point((x, y), fill=(level, level, level))


def _draw_wood_grain(
    canvas: Image.Image, horizon: int, colour: RGB, rng: random.Random
) -> None:
    draw = ImageDraw.Draw(canvas, "RGBA")
    width, height = canvas.size
    dark = _darker(colour, 0.7)
    for _ in range(24):
        y = rng.uniform(horizon + 4, height)
        draw.line(
            [(0, y), (width, y + rng.uniform(-6, 6))],
            fill=(*dark, 90),
            width=max(1, height // 400),
        )


def _draw_caption(canvas: Image.Image, plan: DraftPlan) -> None:
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas, "RGBA")
    size = max(11, min(width, height) // 40)
    font = _font(size)
    band = round(size * 2.1)
    draw.rectangle((0, 0, width, band), fill=(0, 0, 0, 150))
    surface = f" · surface: {plan.surface}" if plan.surface else ""
    caption = (
        f"LAYOUT DRAFT · backdrop: {plan.backdrop}{surface} · light: "
        f"{plan.light_name}, from the {plan.light_side} · subject: {plan.placement}"
    )
    draw.text(
        (size * 0.6, band / 2),
        _fit(draw, caption, font, width - size * 1.2),
        fill=(245, 245, 245),
        font=font,
        anchor="lm",
    )


# ---------------------------------------------------------------------------
# Collage of references


def draw_collage(
    images: list[Image.Image], names: list[str], prompt: str, size: tuple[int, int]
) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """Lay two or three references side by side (or stacked), each labelled."""
    width, height = size
    canvas = Image.new("RGB", size, (34, 35, 38))
    draw = ImageDraw.Draw(canvas)
    text_size = max(11, min(width, height) // 40)
    font = _font(text_size)
    header = round(text_size * 2.2)
    label_band = round(text_size * 1.9)
    margin = max(8, min(width, height) // 48)
    header_text = "COMPOSE DRAFT · " + clean_text(prompt, 300)
    draw.text(
        (margin, header / 2),
        _fit(draw, header_text, font, width - 2 * margin),
        fill=(240, 240, 240),
        font=font,
        anchor="lm",
    )
    count = len(images)
    across = width >= height
    panels = []
    for index, (image, name) in enumerate(zip(images, names, strict=True)):
        if across:
            cell_w = (width - margin * (count + 1)) / count
            x0 = margin + index * (cell_w + margin)
            cell = (x0, float(header), x0 + cell_w, float(height - margin))
        else:
            cell_h = (height - header - margin * count) / count
            y0 = header + index * (cell_h + margin)
            cell = (float(margin), y0, float(width - margin), y0 + cell_h)
        box_w = max(1, round(cell[2] - cell[0]))
        box_h = max(1, round(cell[3] - cell[1] - label_band))
        fitted = ImageOps.contain(image.convert("RGB"), (box_w, box_h))
        px = round(cell[0] + (box_w - fitted.width) / 2)
        py = round(cell[1] + (box_h - fitted.height) / 2)
        canvas.paste(fitted, (px, py))
        panels.append((px, py, px + fitted.width, py + fitted.height))
        label = f"reference {index + 1} · {clean_text(name, 60)}"
        draw.text(
            ((cell[0] + cell[2]) / 2, py + fitted.height + label_band / 2),
            _fit(draw, label, font, cell[2] - cell[0]),
            fill=(220, 220, 220),
            font=font,
            anchor="mm",
        )
    return canvas, panels


def load_reference(path: Path) -> Image.Image:
    """An input image as RGB, transparent parts laid on a neutral grey."""
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            base = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
            return Image.alpha_composite(base, rgba).convert("RGB")
        return image.convert("RGB")
