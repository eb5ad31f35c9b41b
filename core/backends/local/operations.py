"""The local backend's photographic operations, each carried out with Pillow.

Every operation takes the image and one parsed clause and returns the new image
with a short description of exactly what was done ("contrast +20%", "blur radius
6.1 px"), so the user can see the numbers behind the words. Tonal operations are
limited to a region by compositing through a feathered mask; geometric ones (rotate,
flip, crop, zoom, reframe) return the transform they used as well, so the engine can
apply the same one to an alpha channel.

Speed matters because every round re-renders at full size: everything runs through
Pillow's C paths (lookup tables, ImageEnhance, kernels, composites, resampling), and
large blurs are computed on a reduced copy and scaled back, which looks the same and
costs a fraction of the time.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps, ImageStat

from core.backends.base import BlobStore, Reference, Turn
from core.backends.local.parser import WHOLE, Clause
from core.backends.local.regions import region_centre, region_mask
from core.errors import NotUnderstood

Transform = Callable[[Image.Image], Image.Image]


@dataclass(frozen=True)
class Context:
    """What an operation may need besides the image: the branch and the references."""

    history: tuple[Turn, ...] = ()
    refs: tuple[Reference, ...] = ()
    blobs: BlobStore | None = None
    seed: str = ""


@dataclass
class Step:
    """The outcome of one operation."""

    image: Image.Image
    label: str
    transform: Transform | None = None  # geometric operations only


def _pct(value: float) -> str:
    return f"{value * 100:+.3g}%"


def _lut(function: Callable[[float], float]) -> list[int]:
    """A 256-entry table of ``function`` over 0..1, rounded and clipped to 0..255."""
    return [min(255, max(0, round(255 * function(v / 255)))) for v in range(256)]


def _gains(image: Image.Image, gains: Sequence[float]) -> Image.Image:
    table: list[int] = []
    for gain in gains:
        table += [min(255, max(0, round(v * gain))) for v in range(256)]
    return image.point(table)


# ---------------------------------------------------------------------------
# Tone and colour


def brightness(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    factor = max(0.05, 1.0 + clause.amount)
    out = _gains(image, (factor, factor, factor))
    stops = clause.params.get("stops")
    if stops is not None:
        unit = "stop" if abs(stops) == 1 else "stops"
        return out, f"exposure {stops:+g} {unit} (brightness {_pct(factor - 1)})"
    return out, f"brightness {_pct(factor - 1)}"


def contrast(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    factor = max(0.1, 1.0 + clause.amount)
    label = f"contrast {_pct(factor - 1)}"
    if "why" in clause.params:
        label += f" ({clause.params['why']})"
    return ImageEnhance.Contrast(image).enhance(factor), label


def saturation(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    factor = max(0.0, 1.0 + clause.amount)
    return ImageEnhance.Color(image).enhance(factor), f"saturation {_pct(factor - 1)}"


WARM = (1.0, 0.25, -1.0)


def warmth(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    a = clause.amount
    out = _gains(image, [1.0 + a * v for v in WARM])
    word = "warmer" if a >= 0 else "cooler"
    return out, f"warmth {_pct(a)} ({word})"


def cast(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    a = clause.amount
    vector = clause.params.get("rgb", WARM)
    out = _gains(image, [1.0 + a * float(v) for v in vector])
    colour = clause.params.get("colour", "warm")
    if a < 0:
        return out, f"{colour} cast removed {_pct(-a)[1:]}"
    return out, f"{colour} cast {_pct(a)[1:]}"


def shadow_curve(a: float) -> Callable[[float], float]:
    """The tone curve for "lift" (a > 0) or "deepen" (a < 0) the shadows.

    Lifting adds a bump that peaks at a fifth of the tonal range and fades out by
    the highlights; deepening scales dark tones down towards black. Black stays
    black and white stays white, and the curve never folds back on itself.
    """
    if a >= 0:
        lift = a * 0.2 / 0.08192  # x(1-x)^4 peaks at 0.08192, at x = 0.2
        return lambda x: x + lift * x * (1 - x) ** 4
    depth = min(0.95, 2 * -a)
    return lambda x: x * (1 - depth * (1 - x) ** 3)


def highlight_curve(a: float) -> Callable[[float], float]:
    """Boost (a > 0) or recover (a < 0) the highlights: the shadow curve mirrored."""
    mirrored = shadow_curve(-a)
    return lambda x: 1 - mirrored(1 - x)


def shadows(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    a = clause.amount
    word = "lifted" if a >= 0 else "deepened"
    table = _lut(shadow_curve(a))
    return image.point(table * 3), f"shadows {word} {_pct(abs(a))[1:]}"


def highlights(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    a = clause.amount
    word = "boosted" if a >= 0 else "recovered"
    label = f"highlights {word} {_pct(abs(a))[1:]}"
    if "why" in clause.params:
        label += f" ({clause.params['why']})"
    return image.point(_lut(highlight_curve(a)) * 3), label


def _shadow_level(c: float) -> Callable[[float], float]:
    """A curve that moves the whole dark end, black included, for ``restore``."""
    if c >= 0:
        return lambda x: x + c * (1 - x) ** 2
    return lambda x: x * (1 + 2 * c * (1 - x) ** 2)


def shadow_level(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    return image.point(_lut(_shadow_level(clause.amount)) * 3), "shadow level"


def highlight_level(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    mirrored = _shadow_level(-clause.amount)
    table = _lut(lambda x: 1 - mirrored(1 - x))
    return image.point(table * 3), "highlight level"


def monochrome(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    grey = image.convert("L").convert("RGB")
    amount = min(1.0, max(0.0, clause.amount))
    if amount >= 1.0:
        return grey, "black and white"
    return Image.blend(image, grey, amount), f"black and white {amount:.0%}"


_SEPIA_STOPS = ((0, (20, 12, 4)), (128, (162, 122, 78)), (255, (255, 242, 214)))


def _sepia_table(channel: int) -> list[int]:
    (x0, c0), (x1, c1), (x2, c2) = _SEPIA_STOPS
    table = []
    for v in range(256):
        if v <= x1:
            t = (v - x0) / (x1 - x0)
            table.append(round(c0[channel] + t * (c1[channel] - c0[channel])))
        else:
            t = (v - x1) / (x2 - x1)
            table.append(round(c1[channel] + t * (c2[channel] - c1[channel])))
    return table


def sepia(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    grey = image.convert("L")
    toned = Image.merge("RGB", [grey.point(_sepia_table(c)) for c in range(3)])
    amount = min(1.0, max(0.0, clause.amount))
    if amount >= 1.0:
        return toned, "sepia"
    return Image.blend(image, toned, amount), f"sepia {amount:.0%}"


# ---------------------------------------------------------------------------
# Detail and blur


def _detail_layer(image: Image.Image, base: Image.Image, gain: float) -> Image.Image:
    """``image + gain * (image - base)``, done as three table and channel ops."""
    difference = ImageChops.subtract(image, base, 1.0, 128)
    scaled = difference.point(_lut(lambda x: 0.5 + gain * (x - 128 / 255)) * 3)
    return ImageChops.add(image, scaled, 1.0, -128)


def sharpen(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    k = max(0.0, clause.amount)
    # An unsharp mask against a 3x3 box, folded into one kernel pass.
    weights = [-k / 9] * 9
    weights[4] = 1 + k - k / 9
    out = image.filter(ImageFilter.Kernel((3, 3), weights, scale=1))
    return out, f"sharpen {k * 100:.0f}%"


def _soft_copy(image: Image.Image, radius: float) -> Image.Image:
    """A Gaussian blur of ``radius`` pixels; large radii run on a reduced copy."""
    if radius < 3:
        return image.filter(ImageFilter.GaussianBlur(radius))
    factor = max(1, min(16, int(radius / 2)))
    small = image.reduce(factor) if factor > 1 else image
    blurred = small.filter(ImageFilter.GaussianBlur(radius / factor))
    return blurred.resize(image.size, Image.Resampling.BICUBIC)


def clarity(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    radius = 0.02 * max(image.size)
    out = _detail_layer(image, _soft_copy(image, radius), clause.amount)
    label = f"clarity {_pct(clause.amount)}"
    if clause.params.get("why") == "texture":
        label += " (texture)"
    return out, label


def blur(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    radius = max(0.3, clause.amount * 0.02 * max(image.size))
    label = f"blur radius {radius:.1f} px"
    if "why" in clause.params:
        label += f" ({clause.params['why']})"
    return _soft_copy(image, radius), label


def denoise(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    # A 3x3 mean blended back in: cheap at any size, and gentle on edges.
    strength = min(1.0, max(0.0, 0.6 * clause.amount))
    smooth = image.filter(ImageFilter.BoxBlur(1))
    return Image.blend(image, smooth, strength), f"noise reduction {strength:.0%}"


def vignette(image: Image.Image, clause: Clause) -> tuple[Image.Image, str]:
    a = clause.amount
    factor = 1 - a if a >= 0 else 1 + abs(a)
    toned = _gains(image, (factor, factor, factor))
    # Pillow's radial gradient is 0 in the middle and 255 at the corners.
    gradient = Image.radial_gradient("L").resize(image.size, Image.Resampling.BILINEAR)
    ramp = _lut(lambda x: min(1.0, max(0.0, (x - 0.45) / 0.55)) ** 1.5)
    out = Image.composite(toned, image, gradient.point(ramp))
    if a < 0:
        return out, f"corners lightened {_pct(abs(a))[1:]}"
    return out, f"vignette {_pct(a)[1:]}"


_NORMAL = NormalDist()


def grain(image: Image.Image, clause: Clause, seed: str) -> tuple[Image.Image, str]:
    sigma = max(0.0, clause.amount) * 255
    width, height = image.size
    digest = hashlib.sha256(f"{seed}|{clause.text}|{width}x{height}".encode())
    noise_bytes = random.Random(digest.digest()).randbytes(width * height)
    noise = Image.frombytes("L", image.size, noise_bytes)
    # Uniform bytes through the inverse normal CDF give Gaussian grain centred on 128.
    shape = [
        min(255, max(0, round(128 + sigma * _NORMAL.inv_cdf((v + 0.5) / 256))))
        for v in range(256)
    ]
    noise = noise.point(shape)
    out = ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)
    return out, f"grain {sigma:.0f} levels"


# ---------------------------------------------------------------------------
# Geometry


def _resample(size: tuple[int, int]) -> Image.Resampling:
    # Bicubic where it is affordable, bilinear on very large frames.
    if size[0] * size[1] <= 2_500_000:
        return Image.Resampling.BICUBIC
    return Image.Resampling.BILINEAR


def _rotate_fill(angle_ccw: float) -> Transform:
    """Rotate by a small angle and scale up just enough to leave no empty corners."""

    def run(image: Image.Image) -> Image.Image:
        width, height = image.size
        radians = math.radians(angle_ccw)
        c, s = abs(math.cos(radians)), abs(math.sin(radians))
        scale = max((width * c + height * s) / width, (width * s + height * c) / height)
        theta = -radians
        a, b = math.cos(theta) / scale, math.sin(theta) / scale
        d, e = -math.sin(theta) / scale, math.cos(theta) / scale
        cx, cy = width / 2, height / 2
        matrix = (a, b, cx - (a * cx + b * cy), d, e, cy - (d * cx + e * cy))
        return image.transform(
            image.size, Image.Transform.AFFINE, matrix, _resample(image.size)
        )

    return run


_QUARTERS = {
    1: Image.Transpose.ROTATE_90,
    2: Image.Transpose.ROTATE_180,
    3: Image.Transpose.ROTATE_270,
}


def rotate(clause: Clause) -> tuple[Transform, str]:
    degrees = float(clause.params.get("degrees", 90.0)) % 360
    clockwise = bool(clause.params.get("clockwise", True))
    ccw = (-degrees if clockwise else degrees) % 360
    quarters = round(ccw / 90) % 4
    residual = ccw - 90 * round(ccw / 90)

    def run(image: Image.Image) -> Image.Image:
        if quarters:
            image = image.transpose(_QUARTERS[quarters])
        if abs(residual) > 1e-6:
            image = _rotate_fill(residual)(image)
        return image

    direction = "clockwise" if clockwise else "counter-clockwise"
    label = f"rotate {degrees:g}° {direction}"
    if abs(residual) > 1e-6:
        label += " (cropped to fill the frame)"
    return run, label


def flip(clause: Clause) -> tuple[Transform, str]:
    if clause.params.get("axis") == "vertical":
        return ImageOps.flip, "flip vertical"
    return ImageOps.mirror, "flip horizontal"


def _window(
    size: tuple[int, int], k: float, x0: float, y0: float
) -> tuple[float, float, float, float]:
    width, height = size
    x0 = min(max(0.0, x0), 1 - k)
    y0 = min(max(0.0, y0), 1 - k)
    return x0 * width, y0 * height, (x0 + k) * width, (y0 + k) * height


def _reframe(box_fractions: tuple[float, float, float]) -> Transform:
    k, x0, y0 = box_fractions

    def run(image: Image.Image) -> Image.Image:
        box = _window(image.size, k, x0, y0)
        return image.resize(image.size, _resample(image.size), box=box)

    return run


def zoom(clause: Clause, region: str | None) -> tuple[Transform, str]:
    a = clause.amount
    if a > 0:
        factor = 1 + a
        k = 1 / factor
        cx, cy = region_centre(region) if region else (0.5, 0.5)
        where = f" on the {region}" if region and region != "subject" else ""
        return _reframe((k, cx - k / 2, cy - k / 2)), f"zoom in {factor:.2f}×{where}"
    shrink = 1 / (1 + abs(a))

    def run(image: Image.Image) -> Image.Image:
        width, height = image.size
        inner = (max(1, round(width * shrink)), max(1, round(height * shrink)))
        small = image.resize(inner, Image.Resampling.LANCZOS)
        fill = _soft_copy(image, 0.03 * max(image.size))
        fill.paste(small, ((width - inner[0]) // 2, (height - inner[1]) // 2))
        return fill

    return run, f"zoom out {1 / shrink:.2f}× (blurred fill around the frame)"


def crop(clause: Clause) -> tuple[Transform, str]:
    side = str(clause.params.get("side", "edges"))
    a = min(0.45, max(0.0, clause.amount))
    none = 0.0
    cuts = {
        "top": (none, a, none, none),
        "bottom": (none, none, none, a),
        "left": (a, none, none, none),
        "right": (none, none, a, none),
        "sides": (a, none, a, none),
    }
    left, top, right, bottom = cuts.get(side, (a, a, a, a))

    def run(image: Image.Image) -> Image.Image:
        width, height = image.size
        box = (
            round(left * width),
            round(top * height),
            max(round(left * width) + 1, round((1 - right) * width)),
            max(round(top * height) + 1, round((1 - bottom) * height)),
        )
        return image.crop(box)

    return run, f"crop {side} {a:.0%}"


def aspect(
    clause: Clause, size: tuple[int, int], region: str | None
) -> tuple[Transform, str]:
    ratio_w, ratio_h = (float(v) for v in clause.params["ratio"])
    ratio = ratio_w / ratio_h
    width, height = size
    cx, cy = region_centre(region) if region else (0.5, 0.5)
    if width / height > ratio:
        new = (max(1, round(height * ratio)), height)
    else:
        new = (width, max(1, round(width / ratio)))
    x0 = min(max(0, round(cx * width - new[0] / 2)), width - new[0])
    y0 = min(max(0, round(cy * height - new[1] / 2)), height - new[1])

    def run(image: Image.Image) -> Image.Image:
        sx, sy = image.size[0] / width, image.size[1] / height
        return image.crop(
            (
                round(x0 * sx),
                round(y0 * sy),
                round((x0 + new[0]) * sx),
                round((y0 + new[1]) * sy),
            )
        )

    label = f"aspect {clause.params.get('label', f'{ratio:.3g}:1')}"
    return run, f"{label} (crop to {new[0]}×{new[1]})"


def _move(
    cx: float, cy: float, sx: float, sy: float
) -> tuple[tuple[float, float, float], float, float]:
    """A zoom window that moves content at (cx, cy) by (sx, sy) of the frame."""
    reach = max(abs(sx), abs(sy))
    k = 1 / (1 + 2 * reach)
    x0 = min(max(0.0, cx - k * (cx + sx)), 1 - k)
    y0 = min(max(0.0, cy - k * (cy + sy)), 1 - k)
    moved_x = (cx - x0) / k - cx
    moved_y = (cy - y0) / k - cy
    return (k, x0, y0), moved_x, moved_y


def _describe_move(moved_x: float, moved_y: float, k: float) -> str:
    parts = []
    if abs(moved_y) >= 0.005:
        parts.append(f"{'up' if moved_y < 0 else 'down'} {abs(moved_y):.0%}")
    if abs(moved_x) >= 0.005:
        parts.append(f"{'left' if moved_x < 0 else 'right'} {abs(moved_x):.0%}")
    where = ", ".join(parts) if parts else "nowhere (already there)"
    return f"subject moved {where} (reframed, zoom {1 / k:.2f}×)"


def shift(clause: Clause) -> tuple[Transform, str]:
    a = min(0.25, abs(clause.amount))
    sx = float(clause.params.get("dx", 0.0)) * a
    sy = float(clause.params.get("dy", 0.0)) * a
    window, moved_x, moved_y = _move(0.5, 0.5, sx, sy)
    return _reframe(window), _describe_move(moved_x, moved_y, window[0])


def subject_centre(image: Image.Image) -> tuple[float, float]:
    """Where the detail is, as a stand-in for where the subject is (fractions)."""
    small = image.convert("L")
    small.thumbnail((128, 128), Image.Resampling.BILINEAR)
    edges = small.filter(ImageFilter.FIND_EDGES).point(_lut(lambda x: x * x))
    width, height = edges.size
    columns = list(edges.resize((width, 1), Image.Resampling.BOX).tobytes())
    rows = list(edges.resize((1, height), Image.Resampling.BOX).tobytes())

    def centroid(values: list[int]) -> float:
        total = float(sum(values))
        if total <= 0:
            return 0.5
        return sum((i + 0.5) * v for i, v in enumerate(values)) / total / len(values)

    return centroid(columns), centroid(rows)


def centre(clause: Clause, image: Image.Image) -> tuple[Transform, str]:
    target_name = clause.params.get("target")
    tx, ty = region_centre(target_name) if target_name else (0.5, 0.5)
    cx, cy = subject_centre(image)
    fraction = min(1.0, abs(clause.amount))
    sx = max(-0.25, min(0.25, (tx - cx) * fraction))
    sy = max(-0.25, min(0.25, (ty - cy) * fraction))
    window, moved_x, moved_y = _move(cx, cy, sx, sy)
    goal = f"towards the {target_name}" if target_name else "towards the centre"
    label = _describe_move(moved_x, moved_y, window[0]).replace(
        "subject moved", f"subject moved {goal}:", 1
    )
    return _reframe(window), label


# ---------------------------------------------------------------------------
# Restore an attribute from an earlier round

_STAT_SIZE = 256


def _small(image: Image.Image) -> Image.Image:
    small = image.convert("RGB")
    small.thumbnail((_STAT_SIZE, _STAT_SIZE), Image.Resampling.BOX)
    return small


def _tail_mean(image: Image.Image, fraction: float, top: bool) -> float:
    """Mean luminance of the darkest (or brightest) ``fraction`` of the pixels."""
    histogram = image.convert("L").histogram()
    if top:
        levels = list(range(255, -1, -1))
    else:
        levels = list(range(256))
    want = fraction * sum(histogram)
    taken = 0.0
    total = 0.0
    for level in levels:
        if taken >= want:
            break
        count = min(histogram[level], want - taken)
        taken += count
        total += count * level
    return total / max(1.0, taken)


def statistic(attribute: str, image: Image.Image) -> float:
    """The number ``restore`` matches for an attribute, measured with ImageStat."""
    if attribute == "shadows":
        return _tail_mean(image, 0.2, top=False)
    if attribute == "highlights":
        return _tail_mean(image, 0.2, top=True)
    if attribute == "brightness":
        return float(ImageStat.Stat(image.convert("L")).mean[0])
    if attribute == "contrast":
        return float(ImageStat.Stat(image.convert("L")).stddev[0])
    if attribute == "saturation":
        return float(ImageStat.Stat(image.convert("HSV")).mean[1])
    if attribute == "warmth":
        means = ImageStat.Stat(image.convert("RGB")).mean
        return float(means[0] - means[2])
    raise ValueError(attribute)


_STAT_NAMES = {
    "shadows": "mean of the darkest fifth",
    "highlights": "mean of the brightest fifth",
    "brightness": "mean level",
    "contrast": "luminance spread",
    "saturation": "mean saturation",
    "warmth": "red minus blue",
}
Operation = Callable[[Image.Image, Clause], tuple[Image.Image, str]]
_MATCHERS: dict[str, tuple[Operation, float, float]] = {
    "shadows": (shadow_level, -0.45, 0.45),
    "highlights": (highlight_level, -0.45, 0.45),
    "brightness": (brightness, -0.9, 3.0),
    "contrast": (contrast, -0.9, 3.0),
    "saturation": (saturation, -1.0, 3.0),
    "warmth": (warmth, -0.6, 0.6),
}


def _apply_amount(attribute: str, image: Image.Image, amount: float) -> Image.Image:
    operation, _, _ = _MATCHERS[attribute]
    clause = Clause(op=attribute, text="", start=0, end=0, amount=amount)
    return operation(image, clause)[0]


def _match_amount(attribute: str, image: Image.Image, target: float) -> float:
    """The amount of the attribute's own operation that reaches ``target``.

    Searched on a small copy; every statistic rises with its operation's amount,
    so a bisection on the side of zero that the target lies on finds it, and a
    target already met gives zero rather than an arbitrary point of a plateau.
    """
    _, low, high = _MATCHERS[attribute]
    small = _small(image)

    def measure(amount: float) -> float:
        return statistic(attribute, _apply_amount(attribute, small, amount))

    now = measure(0.0)
    if abs(now - target) < 0.05:
        return 0.0
    if now < target:
        low = 0.0
        if measure(high) <= target:
            return high
    else:
        high = 0.0
        if measure(low) >= target:
            return low
    for _ in range(22):
        middle = (low + high) / 2
        if measure(middle) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _load(path: Path, sha: str, blobs: BlobStore | None) -> Image.Image:
    try:
        with Image.open(path) as opened:
            return opened.convert("RGB")
    except OSError:
        if blobs is None:
            raise
    with Image.open(io.BytesIO(blobs.get_bytes(sha))) as opened:
        return opened.convert("RGB")


def reference_image(clause: Clause, ctx: Context) -> tuple[Image.Image, str]:
    """The image a restore clause points at, and how to name it."""
    params = clause.params
    if params.get("reference"):
        if not ctx.refs:
            raise NotUnderstood(
                f"{clause.text!r} names a reference, but none is attached to this "
                "round (attach one with --ref ROUND)."
            )
        ref = ctx.refs[0]
        return _load(ref.image, "", None), f"reference round {ref.number}"
    if not ctx.history:
        raise NotUnderstood(
            f"{clause.text!r} needs an earlier round, and there is none."
        )
    if params.get("base"):
        turn = ctx.history[0]
        return _load(turn.image, turn.image_sha, ctx.blobs), "the base image"
    number = int(params["round"])
    for turn in ctx.history:
        if turn.number == number:
            return _load(turn.image, turn.image_sha, ctx.blobs), f"round {number}"
    on_branch = ", ".join(str(turn.number) for turn in ctx.history)
    raise NotUnderstood(
        f"Round {number} is not on this branch, so its {params['attribute']} cannot "
        f"be restored. Rounds on this branch: {on_branch}."
    )


def restore(
    image: Image.Image, clause: Clause, ctx: Context
) -> tuple[Image.Image, str]:
    attribute = str(clause.params["attribute"])
    reference, source = reference_image(clause, ctx)
    target = statistic(attribute, _small(reference))
    before = statistic(attribute, _small(image))
    amount = _match_amount(attribute, image, target)
    out = _apply_amount(attribute, image, amount)
    after = statistic(attribute, _small(out))
    label = (
        f"{attribute} restored from {source} "
        f"({_STAT_NAMES[attribute]} {before:.1f} → {after:.1f}, target {target:.1f})"
    )
    return out, label


# ---------------------------------------------------------------------------
# Dispatch

_TONAL: dict[str, Operation] = {
    "brightness": brightness,
    "contrast": contrast,
    "saturation": saturation,
    "warmth": warmth,
    "cast": cast,
    "shadows": shadows,
    "highlights": highlights,
    "monochrome": monochrome,
    "sepia": sepia,
    "sharpen": sharpen,
    "clarity": clarity,
    "blur": blur,
    "denoise": denoise,
    "vignette": vignette,
}
OPERATIONS = frozenset(
    [*_TONAL, "grain", "restore", "rotate", "flip", "zoom", "crop", "aspect"]
    + ["shift", "centre"]
)


def effective_region(clause: Clause, default: str | None) -> str | None:
    """The region a clause applies to: its own, else the request's, else its default."""
    if clause.region == WHOLE:
        return None
    if clause.region is not None:
        return clause.region
    if default is not None:
        return default
    fallback = clause.params.get("default_region")
    return str(fallback) if fallback else None


def apply_clause(
    image: Image.Image, clause: Clause, region: str | None, ctx: Context
) -> Step:
    """Carry out one clause on an RGB image, limited to ``region`` where it applies."""
    geometric = _geometric(image, clause, region)
    if geometric is not None:
        transform, label = geometric
        return Step(transform(image), label, transform)
    if clause.op == "grain":
        out, label = grain(image, clause, ctx.seed)
    elif clause.op == "restore":
        out, label = restore(image, clause, ctx)
    else:
        out, label = _TONAL[clause.op](image, clause)
    if region is not None:
        out = Image.composite(out, image, region_mask(region, image))
        label += f" ({region})"
    return Step(out, label)


def _geometric(
    image: Image.Image, clause: Clause, region: str | None
) -> tuple[Transform, str] | None:
    if clause.op == "rotate":
        return rotate(clause)
    if clause.op == "flip":
        return flip(clause)
    if clause.op == "zoom":
        return zoom(clause, region)
    if clause.op == "crop":
        return crop(clause)
    if clause.op == "aspect":
        return aspect(clause, image.size, region)
    if clause.op == "shift":
        return shift(clause)
    if clause.op == "centre":
        return centre(clause, image)
    return None
