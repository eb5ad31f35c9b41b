"""The one door every user-given image comes through.

People hand ripen whatever they have: phone photos in HEIC that are stored sideways
with an EXIF note to turn them, CMYK JPEGs from a print shop, 16-bit scans, palette
GIFs with a transparent background, PNGs renamed .jpg, files cut short by a failed
download and files that are not images at all. Everything after ingest (the store,
the backends, the previews) can then assume one thing: an 8-bit sRGB image in mode
"RGB" or "RGBA", already the right way up, within the size limit, with notes saying
what was done to it. Anything that cannot become that is refused here with a
``BadInput`` that names the file and says why, before anything is stored.

Formats are recognised from content, never from the extension. The pixel size is
checked from the header before any pixels are decoded, so a huge or hostile file
costs nothing to refuse.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from PIL import Image, ImageCms, ImageOps, JpegImagePlugin, UnidentifiedImageError

from core.errors import BadInput

log = logging.getLogger(__name__)

DEFAULT_MAX_MEGAPIXELS = 50.0
MAX_INPUTS = 3

# What the extension promises, so a mismatch with the content can be mentioned.
_SUFFIX_FORMATS = {
    ".avif": "AVIF",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".heic": "HEIF",
    ".heif": "HEIF",
    ".hif": "HEIF",
    ".jfif": "JPEG",
    ".jpe": "JPEG",
    ".jpeg": "JPEG",
    ".jpg": "JPEG",
    ".png": "PNG",
    ".apng": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}

SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(sorted(_SUFFIX_FORMATS))
"""Lower-case extensions a file picker should offer for reference images."""

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_ORIENTATION_TAG = 0x0112
_ORIENTATIONS = {
    2: "mirrored left to right",
    3: "rotated 180°",
    4: "mirrored top to bottom",
    5: "rotated 90° and mirrored",
    6: "rotated 90° clockwise",
    7: "rotated 90° and mirrored",
    8: "rotated 90° counter-clockwise",
}
_SIDEWAYS = {5, 6, 7, 8}
_ANIMATED_NAMES = {
    "GIF": "animated GIF",
    "PNG": "animated PNG",
    "WEBP": "animated WebP",
}


@dataclass(frozen=True)
class IngestedImage:
    """A user's image made safe to use: loaded, upright, 8-bit RGB or RGBA.

    ``source`` is the file name only (it is shown and exported, the folder is not).
    ``original_size`` is the upright size before any downscaling. ``notes`` are
    sentences for the user about what was changed on the way in.
    """

    image: Image.Image
    source: str
    format: str
    original_size: tuple[int, int]
    notes: list[str] = field(default_factory=list)


def check_inputs(paths: Sequence[Path | str]) -> None:
    """Refuse more reference images than the models accept in one request."""
    if len(paths) > MAX_INPUTS:
        raise BadInput(f"at most three reference images; got {len(paths)}")


def ingest_image(
    path: Path | str,
    *,
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
    downscale: bool = False,
) -> IngestedImage:
    """Load one user image as upright 8-bit RGB(A), or raise ``BadInput`` saying why.

    Images over ``max_megapixels`` are refused unless ``downscale`` is set, in
    which case they are shrunk (Lanczos) to fit.
    """
    path = Path(path)
    name = path.name or str(path)
    if not max_megapixels > 0:
        raise BadInput(f"the megapixel limit must be above zero; got {max_megapixels}")
    head = _read_head(path, name)
    kind = _sniff(head)
    if kind == "HEIF" and not _heif_available():
        raise BadInput(f"{name} is a HEIF photo, which needs the pillow-heif package")

    # Pillow reports odd files through warnings; none of them may reach the user's
    # terminal, and the decompression-bomb one is judged below from the header.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opened = _open(path, name, head, kind, downscale)
        with opened:
            try:
                return _ingest(opened, path, name, max_megapixels, downscale)
            except BadInput:
                raise
            except MemoryError:
                raise BadInput(
                    f"{name} is too large to convert in the memory available"
                ) from None
            except Exception as exc:
                log.warning("could not convert %s", name, exc_info=True)
                raise BadInput(
                    f"{name} could not be converted ({_detail(exc, path, name)})"
                ) from None


# Reading and recognising -------------------------------------------------------


def _read_head(path: Path, name: str) -> bytes:
    """The first bytes of the file, after the checks a file system can answer."""
    if not path.exists():
        if path.is_symlink():
            raise BadInput(f"{name} is a link to a file that does not exist")
        raise BadInput(f"{name} does not exist")
    if path.is_dir():
        raise BadInput(f"{name} is a folder, not an image")
    if not path.is_file():
        raise BadInput(f"{name} is not a regular file")
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except PermissionError:
        raise BadInput(f"{name} cannot be read (permission denied)") from None
    except OSError as exc:
        raise BadInput(f"{name} cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise BadInput(f"{name} is empty")
    return head


def _sniff(head: bytes) -> str | None:
    """The image format the first bytes announce, if any; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIF"
        if brand in _AVIF_BRANDS:
            return "AVIF"
    if head.startswith(b"BM") and len(head) >= 26 and not _looks_like_text(head):
        return "BMP"
    return None


def _what_it_is(head: bytes) -> str:
    """A short description of content that is not an image, for the refusal."""
    lowered = head[:256].lower()
    if head.startswith(b"%PDF"):
        return "found a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "found a ZIP archive"
    if head.startswith(b"\x1f\x8b"):
        return "found gzip-compressed data"
    if head[4:8] == b"ftyp":
        return "found a video or other media file"
    if _looks_like_text(head):
        if b"<svg" in lowered:
            return "found an SVG drawing; export it as PNG first"
        if b"<html" in lowered or b"<!doctype html" in lowered:
            return "found a web page, not the image it may link to"
        return "found text"
    return "found data of an unknown kind"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the read is still text.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    return all(char.isprintable() or char in "\t\n\r\f\v" for char in text)


@functools.cache
def _heif_available() -> bool:
    """Teach Pillow HEIF once, the first time a HEIF file turns up."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _open(
    path: Path, name: str, head: bytes, kind: str | None, downscale: bool
) -> Image.Image:
    """Open the file lazily (header only), turning every failure into BadInput."""
    try:
        return Image.open(path)
    except UnidentifiedImageError:
        if kind == "AVIF":
            raise BadInput(
                f"{name} is an AVIF image, which this installation cannot read"
            ) from None
        if kind is not None:
            raise BadInput(
                f"{name} is truncated or damaged (its {kind} header cannot be read)"
            ) from None
        raise BadInput(f"{name} is not an image ({_what_it_is(head)})") from None
    except Image.DecompressionBombError as exc:
        if downscale and kind == "JPEG":
            # A JPEG can be decoded at an eighth of its size or less, so a huge
            # camera file can still be shrunk safely: open it without Pillow's
            # size guard and let ``_ingest`` choose a reduced decode.
            try:
                return JpegImagePlugin.JpegImageFile(path)
            except Exception as reopen:
                raise _decode_error(name, path, reopen) from None
        raise BadInput(_bomb_message(name, _pixels_in(str(exc)))) from None
    except PermissionError:
        raise BadInput(f"{name} cannot be read (permission denied)") from None
    except MemoryError:
        raise BadInput(f"{name} is too large to open in the memory available") from None
    except Exception as exc:
        raise _decode_error(name, path, exc) from None


def _decode_error(name: str, path: Path, exc: BaseException) -> BadInput:
    text = str(exc).lower()
    if isinstance(exc, EOFError) or "truncated" in text or "end of file" in text:
        return BadInput(f"{name} is truncated (its image data ends early)")
    return BadInput(f"{name} is damaged ({_detail(exc, path, name)})")


def _detail(exc: BaseException, path: Path, name: str) -> str:
    """Pillow's own words about a failure, without the folder the file lives in."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text.replace(str(path), name)
    return text or type(exc).__name__


def _pixels_in(message: str) -> int | None:
    match = re.search(r"\((\d+) pixels\)", message)
    return int(match.group(1)) if match else None


# Size limits ---------------------------------------------------------------------


def _megapixels(value: float) -> str:
    """50 -> "50", 89.478485 -> "89.5", 0.03 -> "0.03": three figures at most."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _size_in_megapixels(pixels: int) -> str:
    """63000000 -> "63.0", 106800 -> "0.107": small sizes keep their figures."""
    return f"{pixels / 1e6:.1f}" if pixels >= 1e6 else f"{pixels / 1e6:.3g}"


def _bomb_limit() -> int | None:
    return Image.MAX_IMAGE_PIXELS


def _bomb_message(name: str, pixels: int | None, size: str = "") -> str:
    limit = _bomb_limit()
    amount = (
        f"{_size_in_megapixels(pixels)} megapixels" if pixels else "too many pixels"
    )
    shown = f"{size} pixels ({amount})" if size else amount
    safe = f" (over {_megapixels(2 * limit / 1e6)} megapixels)" if limit else ""
    return (
        f"{name} is {shown}: too large to open safely{safe}, even to downscale; "
        "shrink it with another tool first"
    )


def _target_size(size: tuple[int, int], limit: float) -> tuple[int, int]:
    """The largest size with the same aspect that holds at most ``limit`` pixels."""
    width, height = size
    scale = math.sqrt(limit / (width * height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


# Converting ----------------------------------------------------------------------


def _ingest(
    opened: Image.Image,
    path: Path,
    name: str,
    max_megapixels: float,
    downscale: bool,
) -> IngestedImage:
    notes: list[str] = []
    suffix = path.suffix.lower()
    fmt = "JPEG" if opened.format == "MPO" else (opened.format or "unknown")
    promised = _SUFFIX_FORMATS.get(suffix)
    if promised and promised != fmt:
        notes.append(f"read as {fmt}: the content is {fmt} despite the {suffix} name")

    frames = getattr(opened, "n_frames", 1)
    if frames > 1 and opened.format == "HEIF":
        notes.append(f"HEIF with {frames} images: used the primary one")
    elif frames > 1 and opened.format == "TIFF":
        notes.append(f"multi-page TIFF: used the first of {frames} pages")
    elif frames > 1 and opened.format != "MPO":
        # Phones' MPO files carry a preview or depth map after the photo itself,
        # which is what the user means; animations are worth a word.
        kind = _ANIMATED_NAMES.get(fmt, f"{fmt} with several frames")
        notes.append(f"{kind}: used the first of {frames} frames")

    width, height = opened.size
    pixels = width * height
    limit = max_megapixels * 1e6
    bomb = _bomb_limit()
    if bomb is not None:
        limit = min(limit, bomb)
    if pixels > limit and not downscale:
        raise BadInput(
            f"{name} is {width}x{height} pixels "
            f"({_size_in_megapixels(pixels)} megapixels), "
            f"over the {_megapixels(limit / 1e6)}-megapixel limit; "
            "pass --downscale to shrink it to fit"
        )
    target = _target_size((width, height), limit) if pixels > limit else None
    if target is not None and fmt == "JPEG":
        # Decoding at 1/2, 1/4 or 1/8 scale keeps memory in proportion to the
        # result, not to the file.
        opened.draft(opened.mode, target)
    decoded = opened.size[0] * opened.size[1]
    if bomb is not None and decoded > 2 * bomb:
        raise BadInput(_bomb_message(name, pixels, f"{width}x{height}"))

    try:
        opened.load()
    except MemoryError:
        raise BadInput(
            f"{name} is too large to decode in the memory available"
        ) from None
    except Exception as exc:
        raise _decode_error(name, path, exc) from None

    icc = opened.info.get("icc_profile")
    image = _upright(opened, notes)
    stored_mode = image.mode
    image = _to_eight_bit(image, icc, notes)
    if icc and stored_mode in ("RGB", "RGBA", "P"):
        image = _to_srgb(image, icc, notes)

    sideways = image.size != opened.size and image.size == opened.size[::-1]
    original = (height, width) if sideways else (width, height)
    if target is not None:
        final = target[::-1] if sideways else target
        image = image.resize(final, Image.Resampling.LANCZOS)
        notes.append(
            f"downscaled from {original[0]}x{original[1]} to {final[0]}x{final[1]} "
            f"to fit the {_megapixels(limit / 1e6)}-megapixel limit"
        )

    # Nothing from the file's metadata travels on: the orientation has been
    # applied and the colours are sRGB, so neither may be applied again later.
    image.info = {}
    return IngestedImage(
        image=image, source=name, format=fmt, original_size=original, notes=notes
    )


def _upright(image: Image.Image, notes: list[str]) -> Image.Image:
    """Apply the EXIF orientation once; the result carries no orientation tag."""
    # pillow-heif turns HEIF photos itself while decoding and keeps the old value.
    already = image.info.get("original_orientation")
    if isinstance(already, int) and already in _ORIENTATIONS:
        notes.append(f"applied EXIF orientation ({_ORIENTATIONS[already]})")
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
        upright = ImageOps.exif_transpose(image)
    except Exception:
        notes.append("its EXIF data is unreadable; kept the picture as stored")
        return image.copy()
    if orientation in _ORIENTATIONS:
        notes.append(f"applied EXIF orientation ({_ORIENTATIONS[orientation]})")
    return upright


def _to_eight_bit(
    image: Image.Image, icc: bytes | None, notes: list[str]
) -> Image.Image:
    """Any Pillow mode to 8-bit "RGB", or "RGBA" when some pixel is see-through."""
    mode = image.mode
    if mode == "CMYK":
        return _cmyk_to_rgb(image, icc, notes)
    if mode == "LAB":
        lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
        converted = _transform(image, lab, "RGB")
        return converted if converted is not None else image.convert("RGB")
    if mode in _SIXTEEN_BIT_MODES:
        notes.append("reduced 16-bit levels to 8 bits")
        return _rescale(image.convert("I"), 0, 65535).convert("RGB")
    if mode in ("I", "F"):
        return _levels_to_eight_bit(image, notes).convert("RGB")

    has_alpha = (
        mode in _ALPHA_MODES
        or "transparency" in image.info
        or (mode == "P" and image.palette is not None and image.palette.mode == "RGBA")
    )
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getextrema() == (255, 255):
        return rgba.convert("RGB")
    return rgba


def _levels_to_eight_bit(image: Image.Image, notes: list[str]) -> Image.Image:
    """32-bit integer or floating-point levels to "L", keeping every distinct level."""
    # Single-band images report one (low, high) pair.
    low, high = cast(tuple[float, float], image.getextrema())
    if image.mode == "I" and low >= 0 and high <= 255:
        return image.convert("L")
    if image.mode == "I" and low >= 0 and high <= 65535:
        notes.append("reduced 16-bit levels to 8 bits")
        return _rescale(image, 0, 65535)
    if image.mode == "F" and low >= 0 and high <= 1:
        notes.append("converted floating-point levels (0 to 1) to 8 bits")
        return _rescale(image, 0, 1)
    notes.append(f"stretched its levels ({low:g} to {high:g}) to 8 bits")
    return _rescale(image, low, high)


def _rescale(image: Image.Image, low: float, high: float) -> Image.Image:
    """Map ``low..high`` linearly onto 0..255, rounding rather than clipping."""
    if high <= low:
        return Image.new("L", image.size, min(255, max(0, round(low))))
    scale = 255 / (high - low)
    offset = 0.5 - low * scale
    return image.point(lambda value: value * scale + offset).convert("L")


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _profile(icc: bytes) -> ImageCms.ImageCmsProfile | None:
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _transform(
    image: Image.Image,
    source: ImageCms.ImageCmsProfile,
    mode: str,
) -> Image.Image | None:
    try:
        return ImageCms.profileToProfile(image, source, _srgb(), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None


def _cmyk_to_rgb(
    image: Image.Image, icc: bytes | None, notes: list[str]
) -> Image.Image:
    """CMYK through its own profile when it has a usable one, else Pillow's formula."""
    if icc:
        profile = _profile(icc)
        if profile is not None and profile.profile.xcolor_space.strip() == "CMYK":
            converted = _transform(image, profile, "RGB")
            if converted is not None:
                notes.append(
                    "converted CMYK to RGB through its embedded colour profile"
                )
                return converted
        notes.append("its colour profile is unusable; converted CMYK to RGB directly")
    else:
        notes.append("converted CMYK to RGB (no colour profile embedded)")
    return image.convert("RGB")


def _to_srgb(image: Image.Image, icc: bytes, notes: list[str]) -> Image.Image:
    """Bring RGB from a wider space (a phone's Display P3, Adobe RGB) into sRGB."""
    profile = _profile(icc)
    if profile is None:
        notes.append("ignored its unreadable colour profile")
        return image
    if profile.profile.xcolor_space.strip() != "RGB":
        return image
    description = (profile.profile.profile_description or "").strip()
    if "srgb" in description.lower():
        return image
    converted = _transform(image, profile, image.mode)
    if converted is None:
        notes.append("ignored its unusable colour profile")
        return image
    notes.append(f"converted colours from {description or 'its profile'} to sRGB")
    return converted
