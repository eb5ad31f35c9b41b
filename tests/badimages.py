"""A corpus of bad and awkward image files, generated on demand into a folder.

Users hand ripen whatever their camera, phone or downloads folder holds: PNGs named
.jpg, CMYK JPEGs from print shops, 16-bit scans, palette GIFs with transparency,
rotated phone photos, HEIC files and plain broken files. Ingest tests, engine tests
and CLI tests all need the same files, so each one is made here by a small function
that takes a folder and returns the path it wrote (or, for "missing", the path it
left absent). Everything is drawn with Pillow, so the corpus costs nothing to ship
and every pixel value a test asserts on is known in advance.

``BAD_INPUTS`` must be refused; ``BAD_REASONS`` holds the fragment of the message
that says why. ``AWKWARD_INPUTS`` must be accepted and converted.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from PIL import Image

Maker = Callable[[Path], Path]

# Colours the awkward files are drawn in, so tests can look for them after ingest.
RED = (220, 30, 40)
GREEN = (30, 200, 60)
BLUE = (20, 40, 210)
MARK = (250, 220, 0)

OVER_LIMIT_SIZE = (9000, 7000)
BOMB_SIZE = (40000, 40000)
RAMP_WIDTH = 256
ANIMATION_COLOURS = (RED, GREEN, BLUE)
# The generated CMYK profile prints every ink at this fraction of the lightness the
# textbook formula gives, so its result can be told apart from a naive conversion.
PROFILE_LIGHTNESS = 0.9
HALF_BLACK = (0, 0, 0, 128)
WIDE_PROFILE_NAME = "Wide-gamut test RGB"
ORANGE = (200, 100, 50)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _marked(size: tuple[int, int] = (64, 32)) -> Image.Image:
    """A red picture with a yellow block in its top-left corner, to follow rotations."""
    image = Image.new("RGB", size, RED)
    image.paste(MARK, (0, 0, size[0] // 4, size[1] // 4))
    return image


# Bad inputs ------------------------------------------------------------------


def make_empty(folder: Path) -> Path:
    path = folder / "empty.png"
    path.write_bytes(b"")
    return path


def make_text_as_png(folder: Path) -> Path:
    path = folder / "notes.png"
    path.write_text("Shopping list\n- coffee\n- milk\n", encoding="utf-8")
    return path


def make_pdf_as_jpeg(folder: Path) -> Path:
    path = folder / "invoice.jpg"
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
    return path


def make_binary_junk(folder: Path) -> Path:
    path = folder / "random.webp"
    path.write_bytes(bytes((i * 97 + 13) % 256 for i in range(4096)))
    return path


def make_truncated_png(folder: Path) -> Path:
    path = folder / "cut-short.png"
    data = _png_bytes(Image.effect_noise((128, 128), 60).convert("RGB"))
    path.write_bytes(data[: len(data) // 2])
    return path


def make_truncated_png_header(folder: Path) -> Path:
    """Cut inside the header, before Pillow can even tell the size."""
    path = folder / "header-only.png"
    path.write_bytes(_png_bytes(Image.new("RGB", (8, 8), RED))[:20])
    return path


def make_truncated_jpeg(folder: Path) -> Path:
    path = folder / "cut-short.jpg"
    buffer = io.BytesIO()
    Image.effect_noise((128, 128), 60).convert("RGB").save(buffer, "JPEG")
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_over_limit(folder: Path) -> Path:
    """A 63-megapixel PNG that takes a few kilobytes: one bit per pixel, one colour."""
    path = folder / "huge.png"
    Image.new("1", OVER_LIMIT_SIZE, 1).save(path)
    return path


def make_bomb(folder: Path) -> Path:
    """A tiny PNG whose header claims 1,600 megapixels, as a decompression bomb does."""
    path = folder / "bomb.png"
    data = bytearray(_png_bytes(Image.new("1", (1, 1))))
    # IHDR's width and height sit right after the signature, the chunk length and
    # the chunk type; its CRC must be recomputed or Pillow rejects the header.
    struct.pack_into(">II", data, 16, *BOMB_SIZE)
    crc = zlib.crc32(bytes(data[12:29]))
    struct.pack_into(">I", data, 29, crc)
    path.write_bytes(bytes(data))
    return path


def make_directory(folder: Path) -> Path:
    path = folder / "holiday.jpg"
    path.mkdir()
    return path


def make_missing(folder: Path) -> Path:
    return folder / "not-there.png"


def make_unreadable(folder: Path) -> Path:
    path = folder / "locked.png"
    Image.new("RGB", (8, 8), RED).save(path)
    path.chmod(0)
    return path


def _permissions_enforced() -> bool:
    # The superuser reads a file whatever its mode, so a locked file proves nothing.
    return not hasattr(os, "geteuid") or os.geteuid() != 0


BAD_INPUTS: dict[str, Maker] = {
    "empty": make_empty,
    "text-as-png": make_text_as_png,
    "pdf-as-jpeg": make_pdf_as_jpeg,
    "binary-junk": make_binary_junk,
    "truncated-png": make_truncated_png,
    "truncated-png-header": make_truncated_png_header,
    "truncated-jpeg": make_truncated_jpeg,
    "over-limit": make_over_limit,
    "bomb": make_bomb,
    "directory": make_directory,
    "missing": make_missing,
}
if _permissions_enforced():
    BAD_INPUTS["unreadable"] = make_unreadable

BAD_REASONS: dict[str, str] = {
    "empty": "is empty",
    "text-as-png": "is not an image (found text)",
    "pdf-as-jpeg": "is not an image (found a PDF document)",
    "binary-junk": "is not an image",
    "truncated-png": "is truncated",
    "truncated-png-header": "is truncated",
    "truncated-jpeg": "is truncated",
    "over-limit": "9000x7000 pixels (63.0 megapixels)",
    "bomb": "too large to open safely",
    "directory": "is a folder",
    "missing": "does not exist",
    "unreadable": "cannot be read",
}


# Awkward inputs ----------------------------------------------------------------


def make_png_named_jpg(folder: Path) -> Path:
    path = folder / "really-a-png.jpg"
    path.write_bytes(_png_bytes(Image.new("RGB", (40, 30), GREEN)))
    return path


def make_cmyk_jpeg(folder: Path) -> Path:
    """Pure cyan on the left half, paper white on the right, with no colour profile."""
    path = folder / "print-shop.jpg"
    image = Image.new("CMYK", (32, 16), (0, 0, 0, 0))
    image.paste((255, 0, 0, 0), (0, 0, 16, 16))
    image.save(path, quality=95)
    return path


def make_cmyk_jpeg_with_profile(folder: Path) -> Path:
    """Pure cyan on the left, half black on the right, carrying ``cmyk_profile()``."""
    path = folder / "print-shop-profiled.jpg"
    image = Image.new("CMYK", (32, 16), HALF_BLACK)
    image.paste((255, 0, 0, 0), (0, 0, 16, 16))
    image.save(path, quality=95, icc_profile=cmyk_profile())
    return path


def make_gray16_ramp(folder: Path) -> Path:
    """256 steps of 16-bit grey, 0 to 65535, one step per column."""
    path = folder / "scan-16bit.png"
    ramp = Image.linear_gradient("L").rotate(90, expand=True).resize((RAMP_WIDTH, 4))
    wide = ramp.convert("I").point(lambda value: value * 257)
    wide.convert("I;16").save(path)
    return path


def make_palette(folder: Path) -> Path:
    path = folder / "palette.png"
    image = Image.new("RGB", (30, 20), RED)
    image.paste(BLUE, (15, 0, 30, 20))
    image.convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(path)
    return path


def make_palette_transparent(folder: Path) -> Path:
    """A palette GIF whose left half uses the transparent palette entry."""
    path = folder / "sticker.gif"
    image = Image.new("P", (30, 20), 1)
    image.putpalette([0, 0, 0, *RED, *BLUE] + [0] * (256 - 3) * 3)
    image.paste(0, (0, 0, 15, 20))
    image.save(path, transparency=0)
    return path


def make_palette_transparent_png(folder: Path) -> Path:
    path = folder / "sticker.png"
    image = Image.new("P", (30, 20), 1)
    image.putpalette([0, 0, 0, *RED, *BLUE] + [0] * (256 - 3) * 3)
    image.paste(0, (0, 0, 15, 20))
    image.save(path, transparency=bytes([0, 255, 255]))
    return path


def _animation(folder: Path, name: str) -> Path:
    path = folder / name
    frames = [Image.new("RGB", (20, 10), colour) for colour in ANIMATION_COLOURS]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)
    return path


def make_animated_gif(folder: Path) -> Path:
    return _animation(folder, "loop.gif")


def make_animated_png(folder: Path) -> Path:
    return _animation(folder, "loop.png")


def make_animated_webp(folder: Path) -> Path:
    return _animation(folder, "loop.webp")


def make_exif_rotated(folder: Path) -> Path:
    """Stored 64x32 landscape with orientation 6: a phone held upright."""
    path = folder / "upright.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    _marked().save(path, quality=95, exif=exif)
    return path


def make_heic(folder: Path) -> Path:
    """A real photograph saved as HEIC, the way a phone saves it."""
    import pillow_heif

    from tests.conftest import sample

    pillow_heif.register_heif_opener()
    path = folder / "IMG_0001.HEIC"
    sample("coffee", 160).save(path, format="HEIF", quality=90)
    return path


def make_heic_rotated(folder: Path) -> Path:
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = folder / "IMG_0002.heic"
    exif = Image.Exif()
    exif[0x0112] = 6
    _marked().save(path, format="HEIF", quality=90, exif=exif.tobytes())
    return path


def make_la(folder: Path) -> Path:
    """Grey with alpha: the left half fully transparent, the right a mid grey."""
    path = folder / "grey-alpha.png"
    image = Image.new("LA", (30, 20), (128, 255))
    image.paste((0, 0), (0, 0, 15, 20))
    image.save(path)
    return path


def make_webp(folder: Path) -> Path:
    path = folder / "download.webp"
    Image.new("RGB", (48, 24), BLUE).save(path, lossless=True)
    return path


def make_grey(folder: Path) -> Path:
    path = folder / "grey.jpg"
    Image.new("L", (24, 24), 77).save(path, quality=95)
    return path


def make_bilevel(folder: Path) -> Path:
    path = folder / "fax.png"
    image = Image.new("1", (24, 24), 0)
    image.paste(1, (12, 0, 24, 24))
    image.save(path)
    return path


def make_float_tiff(folder: Path) -> Path:
    """Floating-point levels rising from 0.0 at the left to 1.0 at the right."""
    path = folder / "linear.tif"
    ramp = Image.linear_gradient("L").rotate(90, expand=True).resize((64, 8))
    ramp = ramp.convert("F")
    ramp.point(lambda value: value / 255).save(path)
    return path


def make_opaque_rgba(folder: Path) -> Path:
    path = folder / "screenshot.png"
    Image.new("RGBA", (30, 20), (*GREEN, 255)).save(path)
    return path


def make_wide_gamut(folder: Path) -> Path:
    """An orange PNG tagged with a Display P3-like profile, as a phone exports it."""
    path = folder / "phone-export.png"
    Image.new("RGB", (16, 16), ORANGE).save(path, icc_profile=wide_rgb_profile())
    return path


AWKWARD_INPUTS: dict[str, Maker] = {
    "png-named-jpg": make_png_named_jpg,
    "cmyk-jpeg": make_cmyk_jpeg,
    "cmyk-jpeg-icc": make_cmyk_jpeg_with_profile,
    "gray16-ramp": make_gray16_ramp,
    "palette": make_palette,
    "palette-transparent": make_palette_transparent,
    "palette-transparent-png": make_palette_transparent_png,
    "animated-gif": make_animated_gif,
    "animated-png": make_animated_png,
    "animated-webp": make_animated_webp,
    "exif-rotated": make_exif_rotated,
    "heic": make_heic,
    "heic-rotated": make_heic_rotated,
    "la": make_la,
    "webp": make_webp,
    "grey": make_grey,
    "bilevel": make_bilevel,
    "float-tiff": make_float_tiff,
    "opaque-rgba": make_opaque_rgba,
    "wide-gamut": make_wide_gamut,
}


# A small CMYK colour profile -----------------------------------------------------


def cmyk_profile() -> bytes:
    """An ICC v2 printer profile for CMYK, as bytes, built from first principles.

    No CMYK profile ships with Pillow, so this builds the smallest one littlecms
    accepts: a header, a description, a white point and an 8-bit CMYK-to-Lab table
    (lut8Type) sampled on a 5-point grid. Its colours follow the textbook formula
    (red = (1 - cyan)(1 - black)) at nine-tenths of their lightness, so a test can
    tell whether a converter used the profile or ignored it: half black comes out
    near 114 rather than the formula's 127. (littlecms keeps bare paper white.)
    """
    grid = 5
    clut = bytearray()
    steps = [index / (grid - 1) for index in range(grid)]
    # The first input channel (cyan) varies slowest, as lut8Type lays out its grid.
    for cyan in steps:
        for magenta in steps:
            for yellow in steps:
                for black in steps:
                    rgb = [(1 - ink) * (1 - black) for ink in (cyan, magenta, yellow)]
                    clut += _lab8(_srgb_to_lab(rgb))
    identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    linear = bytes(range(256))
    lut = (
        b"mft1"
        + bytes(4)
        + bytes([4, 3, grid, 0])
        + b"".join(_s15f16(value) for value in identity)
        + linear * 4
        + bytes(clut)
        + linear * 3
    )
    return _icc(
        b"prtr",
        b"CMYK",
        b"Lab ",
        [
            (b"desc", _description("ripen test CMYK")),
            (b"wtpt", _xyz(*_D50)),
            (b"A2B0", lut),
        ],
    )


def wide_rgb_profile() -> bytes:
    """An ICC v2 RGB profile with Display P3's primaries, the gamut phones shoot in.

    Numbers stored in it mean more saturated colours than the same numbers in
    sRGB, so a correct conversion raises red and lowers blue in an orange.
    """
    gamma = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256))
    return _icc(
        b"mntr",
        b"RGB ",
        b"XYZ ",
        [
            (b"desc", _description(WIDE_PROFILE_NAME)),
            (b"wtpt", _xyz(*_D50)),
            (b"rXYZ", _xyz(0.5151, 0.2412, -0.0011)),
            (b"gXYZ", _xyz(0.2920, 0.6922, 0.0419)),
            (b"bXYZ", _xyz(0.1571, 0.0666, 0.7841)),
            (b"rTRC", gamma),
            (b"gTRC", gamma),
            (b"bTRC", gamma),
        ],
    )


_D50 = (0.9642, 1.0, 0.8249)


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15f16(x) + _s15f16(y) + _s15f16(z)


def _description(text: str) -> bytes:
    """A v2 textDescriptionType holding ``text`` in ASCII, with no translations."""
    ascii_text = text.encode("ascii") + b"\0"
    return (
        b"desc"
        + bytes(4)
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + bytes(4 + 4 + 2 + 1 + 67)
    )


def _icc(
    device_class: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]
) -> bytes:
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries = b""
    body = b""
    for signature, data in tags:
        padded = data + bytes(-len(data) % 4)
        entries += signature + struct.pack(">II", offset + len(body), len(data))
        body += padded
    size = 128 + table_size + len(body)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + device_class
        + space
        + pcs
        + bytes(12)
        + b"acsp"
        + bytes(4 + 4 + 4 + 4 + 8 + 4)
        + b"".join(_s15f16(value) for value in _D50)
        + bytes(4 + 16 + 28)
    )
    return header + struct.pack(">I", len(tags)) + entries + body


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _srgb_to_lab(rgb: list[float]) -> tuple[float, float, float]:
    """sRGB (0..1) to CIELAB relative to D65 white, scaled by the profile's factor."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    red, green, blue = linear
    x = 0.4124 * red + 0.3576 * green + 0.1805 * blue
    y = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    z = 0.0193 * red + 0.1192 * green + 0.9505 * blue

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = f(x / 0.9505), f(y), f(z / 1.0890)
    scale = PROFILE_LIGHTNESS
    return (116 * fy - 16) * scale, 500 * (fx - fy) * scale, 200 * (fy - fz) * scale


def _lab8(lab: tuple[float, float, float]) -> bytes:
    lightness, a, b = lab
    values = (lightness * 255 / 100, a + 128, b + 128)
    return bytes(min(255, max(0, math.floor(value + 0.5))) for value in values)
