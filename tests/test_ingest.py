"""What a user gets from the files they hand ripen, good, awkward or broken."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.errors import BadInput
from core.ingest import (
    SUPPORTED_SUFFIXES,
    IngestedImage,
    check_inputs,
    ingest_image,
)
from tests import badimages
from tests.badimages import AWKWARD_INPUTS, BAD_INPUTS, BAD_REASONS
from tests.conftest import sample


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(int)


def at(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """One pixel as a tuple of channel values."""
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def awkward(name: str, folder: Path, **options: object) -> IngestedImage:
    return ingest_image(AWKWARD_INPUTS[name](folder), **options)  # type: ignore[arg-type]


# Refused -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_refused_naming_the_file_and_the_reason(
    tmp_path: Path, name: str
) -> None:
    path = BAD_INPUTS[name](tmp_path)

    with pytest.raises(BadInput) as caught:
        ingest_image(path)

    message = caught.value.message
    assert message.startswith(path.name + " ")
    assert BAD_REASONS[name] in message
    assert str(tmp_path) not in message
    assert caught.value.kind == "bad_input"


def test_over_limit_message_gives_size_limit_and_the_way_out(tmp_path: Path) -> None:
    path = badimages.make_over_limit(tmp_path)

    with pytest.raises(BadInput) as caught:
        ingest_image(path)

    assert caught.value.message == (
        "huge.png is 9000x7000 pixels (63.0 megapixels), over the 50-megapixel "
        "limit; pass --downscale to shrink it to fit"
    )


def test_configured_limit_is_the_one_named(tmp_path: Path) -> None:
    path = tmp_path / "coffee.png"
    sample("coffee", 400).save(path)

    with pytest.raises(
        BadInput, match=r"400x267 pixels \(0\.107 megapixels\), over the 0\.1-"
    ):
        ingest_image(path, max_megapixels=0.1)


def test_bomb_is_refused_even_when_downscaling(tmp_path: Path) -> None:
    path = badimages.make_bomb(tmp_path)

    with pytest.raises(BadInput, match="bomb.png is 1600.0 megapixels: too large"):
        ingest_image(path, downscale=True)


def test_unreadable_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as the superuser, who reads any file whatever its mode.
    path = tmp_path / "locked.png"
    Image.new("RGB", (4, 4)).save(path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(BadInput, match=r"^locked.png cannot be read \(permission"):
        ingest_image(path)


def test_dangling_link_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "latest.jpg"
    link.symlink_to(tmp_path / "deleted.jpg")

    with pytest.raises(BadInput, match="latest.jpg is a link to a file that does"):
        ingest_image(link)


def test_more_than_three_references_are_refused() -> None:
    paths = [Path(f"ref{index}.png") for index in range(4)]

    with pytest.raises(BadInput, match=r"^at most three reference images; got 4$"):
        check_inputs(paths)
    check_inputs(paths[:3])


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from(["PNG", "JPEG", "GIF", "WEBP"]),
    cuts=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
    keep=st.floats(0.05, 1.0),
)
def test_damaged_files_never_raise_anything_but_bad_input(
    tmp_path: Path, kind: str, cuts: list[tuple[int, int]], keep: float
) -> None:
    path = tmp_path / f"damaged.{kind.lower()}"
    sample("chelsea", 48).save(path, kind)
    data = bytearray(path.read_bytes())
    for offset, value in cuts:
        data[offset % len(data)] = value
    path.write_bytes(bytes(data[: max(1, int(len(data) * keep))]))

    try:
        result = ingest_image(path)
    except BadInput as refused:
        assert refused.message.startswith("damaged.")
    else:
        assert result.image.mode in ("RGB", "RGBA")


# Accepted and converted -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(AWKWARD_INPUTS))
def test_awkward_input_comes_out_upright_8_bit_and_quiet(
    tmp_path: Path, name: str
) -> None:
    path = AWKWARD_INPUTS[name](tmp_path)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ingest_image(path)

    assert result.image.mode in ("RGB", "RGBA")
    assert result.source == path.name
    assert result.image.info == {}
    assert not result.image.getexif().get(0x0112)
    assert not [str(warning.message) for warning in caught]
    assert all(str(tmp_path) not in note for note in result.notes)


def test_png_named_jpg_is_read_as_png(tmp_path: Path) -> None:
    result = awkward("png-named-jpg", tmp_path)

    assert result.format == "PNG"
    assert at(result.image, (5, 5)) == badimages.GREEN
    assert result.notes == ["read as PNG: the content is PNG despite the .jpg name"]


def test_cmyk_cyan_comes_out_low_red_high_green_and_blue(tmp_path: Path) -> None:
    result = awkward("cmyk-jpeg", tmp_path)

    red, green, blue = at(result.image, (4, 8))
    assert result.image.mode == "RGB"
    assert red < 20 and green > 235 and blue > 235
    assert min(at(result.image, (28, 8))) > 245
    assert result.notes == ["converted CMYK to RGB (no colour profile embedded)"]


def test_cmyk_with_a_profile_is_converted_through_it(tmp_path: Path) -> None:
    path = badimages.make_cmyk_jpeg_with_profile(tmp_path)

    result = ingest_image(path)
    with Image.open(path) as raw:
        naive = at(raw.convert("RGB"), (28, 8))

    red, green, blue = at(result.image, (4, 8))
    assert red < 80 and green > 200 and blue > 200
    # The profile prints half black at 90% of the textbook lightness: 114, not 127.
    grey = at(result.image, (28, 8))
    assert all(abs(channel - 114) <= 4 for channel in grey)
    assert all(channel >= 124 for channel in naive)
    assert "converted CMYK to RGB through its embedded colour profile" in result.notes


def test_cmyk_with_a_broken_profile_falls_back_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "odd.jpg"
    image = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    image.save(path, quality=95, icc_profile=b"not a colour profile" * 8)

    result = ingest_image(path)

    red, green, blue = at(result.image, (8, 8))
    assert red < 20 and green > 235 and blue > 235
    assert result.notes == [
        "its colour profile is unusable; converted CMYK to RGB directly"
    ]


def test_16_bit_grey_ramp_keeps_all_256_levels(tmp_path: Path) -> None:
    path = badimages.make_gray16_ramp(tmp_path)
    with Image.open(path) as raw:
        source = pixels(raw)
    assert len(np.unique(source)) == 256 and source.max() == 65535

    result = ingest_image(path)

    row = pixels(result.image)[0, :, 0]
    assert len(np.unique(row)) == 256
    assert row[0] == 0 and row[-1] == 255
    assert (np.diff(row) == 1).all()
    assert result.notes == ["reduced 16-bit levels to 8 bits"]


def test_32_bit_levels_in_16_bit_range_keep_their_levels(tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    ramp = Image.new("I", (256, 2))
    ramp.putdata([column * 257 for column in range(256)] * 2)
    ramp.save(path)

    row = pixels(ingest_image(path).image)[0, :, 0]

    assert (row == np.arange(256)).all()


def test_out_of_range_levels_are_stretched_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "signed.tif"
    levels = Image.new("I", (3, 1))
    levels.putdata([-1000, 0, 1000])
    levels.save(path)

    result = ingest_image(path)

    assert list(pixels(result.image)[0, :, 0]) == [0, 128, 255]
    assert result.notes == ["stretched its levels (-1000 to 1000) to 8 bits"]


def test_floating_point_levels_span_black_to_white(tmp_path: Path) -> None:
    result = awkward("float-tiff", tmp_path)

    row = pixels(result.image)[0, :, 0]
    assert row[0] <= 2 and row[-1] >= 253
    assert (np.diff(row) >= 0).all()


def test_opaque_palette_stays_rgb_with_exact_colours(tmp_path: Path) -> None:
    result = awkward("palette", tmp_path)

    assert result.image.mode == "RGB"
    assert at(result.image, (2, 2)) == badimages.RED
    assert at(result.image, (27, 2)) == badimages.BLUE


@pytest.mark.parametrize("name", ["palette-transparent", "palette-transparent-png"])
def test_transparent_palette_pixel_keeps_alpha_zero(tmp_path: Path, name: str) -> None:
    result = awkward(name, tmp_path)

    assert result.image.mode == "RGBA"
    assert at(result.image, (2, 2))[3] == 0
    assert at(result.image, (27, 2)) == (*badimages.RED, 255)


def test_grey_with_alpha_keeps_transparency_and_grey(tmp_path: Path) -> None:
    result = awkward("la", tmp_path)

    assert result.image.mode == "RGBA"
    assert at(result.image, (2, 2))[3] == 0
    assert at(result.image, (27, 2)) == (128, 128, 128, 255)


def test_fully_opaque_alpha_is_dropped(tmp_path: Path) -> None:
    result = awkward("opaque-rgba", tmp_path)

    assert result.image.mode == "RGB"
    assert at(result.image, (1, 1)) == badimages.GREEN


@pytest.mark.parametrize(
    ("name", "what"),
    [("grey", (77, 77, 77)), ("bilevel", (255, 255, 255)), ("webp", badimages.BLUE)],
)
def test_other_modes_come_out_as_rgb(
    tmp_path: Path, name: str, what: tuple[int, int, int]
) -> None:
    result = awkward(name, tmp_path)

    assert result.image.mode == "RGB"
    got = at(result.image, (result.image.width - 2, 2))
    assert all(abs(a - b) <= 1 for a, b in zip(got, what, strict=True))


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("animated-gif", "animated GIF"),
        ("animated-png", "animated PNG"),
        ("animated-webp", "animated WebP"),
    ],
)
def test_animation_uses_frame_zero_and_says_so(
    tmp_path: Path, name: str, label: str
) -> None:
    result = awkward(name, tmp_path)

    colour = at(result.image, (10, 5))
    assert all(abs(a - b) <= 3 for a, b in zip(colour, badimages.RED, strict=True))
    assert result.notes == [f"{label}: used the first of 3 frames"]


def test_exif_orientation_6_turns_the_photo_exactly_once(tmp_path: Path) -> None:
    result = awkward("exif-rotated", tmp_path)

    assert result.image.size == (32, 64)
    assert result.original_size == (32, 64)
    # The marker stored top-left ends top-right after a quarter turn clockwise.
    assert _near(at(result.image, (29, 2)), badimages.MARK)
    assert _near(at(result.image, (2, 2)), badimages.RED)
    assert result.notes == ["applied EXIF orientation (rotated 90° clockwise)"]

    # Saved and brought back in, it must not turn again.
    again = tmp_path / "again.png"
    result.image.save(again)
    second = ingest_image(again)
    assert second.image.size == (32, 64)
    assert second.notes == []


def test_heic_photo_opens_at_its_size(tmp_path: Path) -> None:
    photo = sample("coffee", 160)

    result = awkward("heic", tmp_path)

    assert result.format == "HEIF"
    assert result.source == "IMG_0001.HEIC"
    assert result.image.size == photo.size == (160, 107)
    assert np.abs(pixels(result.image) - pixels(photo)).mean() < 6


def test_rotated_heic_is_turned_once(tmp_path: Path) -> None:
    result = awkward("heic-rotated", tmp_path)

    assert result.image.size == (32, 64)
    assert _near(at(result.image, (29, 2)), badimages.MARK, 12)
    assert result.notes == ["applied EXIF orientation (rotated 90° clockwise)"]


def test_downscale_fits_the_limit_and_keeps_the_aspect(tmp_path: Path) -> None:
    path = tmp_path / "coffee.png"
    photo = sample("coffee", 400)
    photo.save(path)

    result = ingest_image(path, max_megapixels=0.03, downscale=True)

    width, height = result.image.size
    assert width * height <= 30_000
    assert width * height > 29_000
    assert abs(width / height - 400 / 267) < 0.01
    assert result.original_size == (400, 267)
    assert result.notes == [
        f"downscaled from 400x267 to {width}x{height} to fit the 0.03-megapixel limit"
    ]
    reference = photo.resize((width, height), Image.Resampling.LANCZOS)
    assert np.abs(pixels(result.image) - pixels(reference)).mean() < 1


def test_downscaled_jpeg_matches_a_full_decode(coffee_path: Path) -> None:
    result = ingest_image(coffee_path, max_megapixels=0.01, downscale=True)

    width, height = result.image.size
    assert width * height <= 10_000
    assert abs(width / height - 1.5) < 0.02
    with Image.open(coffee_path) as raw:
        reference = raw.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    assert np.abs(pixels(result.image) - pixels(reference)).mean() < 3


def test_downscale_of_a_sideways_photo_keeps_it_upright(tmp_path: Path) -> None:
    result = awkward("exif-rotated", tmp_path, max_megapixels=0.0005, downscale=True)

    width, height = result.image.size
    assert height == 2 * width or abs(height / width - 2) < 0.1
    assert width * height <= 500
    assert result.original_size == (32, 64)


def test_jpeg_past_pillows_safety_limit_is_downscaled_while_decoding(
    coffee_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shrink Pillow's guard so the 0.24-megapixel photo counts as a bomb.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)

    with pytest.raises(BadInput, match="coffee.jpg is 0.24 megapixels: too large"):
        ingest_image(coffee_path)
    result = ingest_image(coffee_path, downscale=True)

    assert result.image.width * result.image.height <= 10_000
    assert result.original_size == (600, 400)


def test_pillows_bomb_warning_is_a_refusal_not_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "coffee.png"
    sample("coffee", 400).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60_000)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(BadInput, match=r"over the 0\.06-megapixel limit; pass"):
            ingest_image(path)
        result = ingest_image(path, downscale=True)

    assert not caught
    assert result.image.width * result.image.height <= 60_000


def test_source_is_the_file_name_without_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "private" / "holidays"
    folder.mkdir(parents=True)
    path = folder / "beach.jpg"
    sample("astronaut", 64).save(path)

    result = ingest_image(str(path))

    assert result.source == "beach.jpg"
    assert result.format == "JPEG"
    assert result.original_size == (64, 64)


def test_rgb_with_an_srgb_profile_is_left_as_it_is(tmp_path: Path) -> None:
    from PIL import ImageCms

    path = tmp_path / "tagged.png"
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (8, 8), (200, 100, 50)).save(path, icc_profile=profile)

    result = ingest_image(path)

    assert at(result.image, (1, 1)) == (200, 100, 50)
    assert result.notes == []


def test_wide_gamut_colours_are_brought_into_srgb(tmp_path: Path) -> None:
    result = awkward("wide-gamut", tmp_path)

    red, green, blue = at(result.image, (8, 8))
    stored_red, _, stored_blue = badimages.ORANGE
    assert red >= stored_red + 10 and blue <= stored_blue - 15
    assert result.notes == [
        f"converted colours from {badimages.WIDE_PROFILE_NAME} to sRGB"
    ]


def test_file_pickers_offer_phone_and_web_formats() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".gif"} <= set(
        SUPPORTED_SUFFIXES
    )
    assert all(s.startswith(".") and s == s.lower() for s in SUPPORTED_SUFFIXES)


def _near(got: tuple[int, ...], want: tuple[int, int, int], tolerance: int = 6) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(got, want, strict=False))
