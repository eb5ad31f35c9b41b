"""The local backend's other modes: layout drafts, collages, edits and promotion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.backends.base import GenerationRequest, GenerationResult
from core.backends.local import LocalBackend
from core.backends.local.draft import PLACEHOLDER_FILL
from core.cancel import CancelToken, no_progress
from core.errors import BadInput
from tests.test_local_operations import (
    MemoryBlobs,
    luminance,
    photo,
    pixels,
    save_turn,
)

WATCH = (
    "Professional product photography of a luxury watch on a dark wooden surface, "
    "dramatic side lighting creating strong shadows, minimalist composition with "
    "watch positioned in the lower right third, bokeh background, elegant and "
    "sophisticated mood"
)


def run(request: GenerationRequest) -> GenerationResult:
    return LocalBackend().generate(request, MemoryBlobs(), no_progress, CancelToken())


def draft(prompt: str, aspect: str | None = None) -> GenerationResult:
    return run(GenerationRequest(mode="generate", instruction=prompt, aspect=aspect))


def size_of(result: GenerationResult) -> tuple[int, int]:
    assert isinstance(result.image, Image.Image)
    return result.image.size


def placeholder_centre(result: GenerationResult) -> tuple[float, float]:
    """Where the placeholder subject's flat fill lies, in fractions of the frame."""
    a = pixels(result)
    mask = (a == np.array(PLACEHOLDER_FILL)).all(axis=2)
    assert mask.sum() > 2000, "no placeholder drawn"
    ys, xs = np.nonzero(mask)
    return xs.mean() / a.shape[1], ys.mean() / a.shape[0]


def test_backend_contract() -> None:
    backend = LocalBackend()
    assert backend.name == "local"
    assert backend.credits_for("common") == backend.credits_for("ultra") == 0
    assert backend.model_for("common") == "pillow"
    assert backend.model_for("ultra") == "pillow-upscale"


def test_layout_draft_places_the_subject_where_the_prompt_says() -> None:
    result = draft(WATCH, aspect="16:9")
    assert isinstance(result.image, Image.Image) and result.image.size == (1024, 576)
    x, y = placeholder_centre(result)
    assert x > 2 / 3 and y > 2 / 3  # inside the lower right third
    assert "placeholder 'luxury watch' in the lower right third" in result.applied
    for prompt, (low_x, high_x) in [
        ("a red bicycle on the left, warm sunset over the beach", (0.0, 0.45)),
        ("a vase centered on a marble table", (0.4, 0.6)),
        ("a cat in the upper right third against a green wall", (2 / 3, 1.0)),
    ]:
        x, y = placeholder_centre(draft(prompt))
        assert low_x < x < high_x, prompt


def test_layout_draft_takes_colours_and_light_from_the_words() -> None:
    wood = pixels(draft(WATCH, aspect="16:9"))
    surface = wood[int(0.7 * 576) :, int(0.3 * 1024) : int(0.6 * 1024)]
    assert surface[..., 0].mean() > surface[..., 2].mean() + 15  # brown
    assert luminance(surface).mean() < 110  # dark
    nebula = pixels(draft("an astronaut floating against a blue nebula"))
    assert nebula[..., 2].mean() > nebula[..., 0].mean() + 20
    right_lit = luminance(pixels(draft("a teapot with soft light from the right")))
    assert right_lit[:, -200:].mean() > right_lit[:, :200].mean() + 10
    left_lit = luminance(pixels(draft("a teapot with soft light from the left")))
    assert left_lit[:, :200].mean() > left_lit[:, -200:].mean() + 10
    warm = pixels(draft("a teapot in warm sunset light"))
    assert warm[..., 0].mean() > warm[..., 2].mean() + 20


def test_layout_draft_sizes_follow_aspect_and_tier() -> None:
    assert size_of(draft("a lamp", aspect="9:16")) == (576, 1024)
    assert size_of(draft("a lamp, 3:2")) == (1024, 683)
    ultra = run(
        GenerationRequest(mode="generate", instruction="a lamp", quality="ultra")
    )
    assert size_of(ultra) == (2048, 2048)
    with pytest.raises(BadInput, match="aspect ratio 'wide'"):
        draft("a lamp", aspect="wide")


def test_layout_draft_is_deterministic_and_free() -> None:
    first, second = draft(WATCH), draft(WATCH)
    assert np.array_equal(pixels(first), pixels(second))
    assert first.usd == 0.0 and first.model == "pillow"


def test_collage_of_three_references(tmp_path: Path) -> None:
    paths = []
    for name in ("coffee", "astronaut", "chelsea"):
        path = tmp_path / f"{name}.png"
        photo(name).save(path)
        paths.append(path)
    result = run(
        GenerationRequest(
            mode="compose", instruction="the cat beside the cup", inputs=tuple(paths)
        )
    )
    assert isinstance(result.image, Image.Image) and result.image.size == (1024, 576)
    panels = result.context["panels"]
    assert len(panels) == 3
    assert [p[0] for p in panels] == sorted(p[0] for p in panels)
    assert all(a[2] <= b[0] for a, b in zip(panels, panels[1:], strict=False))
    canvas = pixels(result)
    for (x0, y0, x1, y1), path in zip(panels, paths, strict=True):
        shown = canvas[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
        original = pixels(Image.open(path)).reshape(-1, 3).mean(axis=0)
        assert np.abs(shown - original).max() < 3, path.name
    assert result.applied == ["collage of 3 references, 1024×576"]
    with pytest.raises(BadInput, match="two or three"):
        run(GenerationRequest(mode="compose", instruction="x", inputs=tuple(paths[:1])))


def test_edit_with_a_descriptive_prompt_keeps_the_photo(tmp_path: Path) -> None:
    path = tmp_path / "coffee.png"
    photo().save(path)
    prompt = "A cosy cafe scene with a cup of espresso, morning mood"
    result = run(GenerationRequest(mode="edit", instruction=prompt, inputs=(path,)))
    assert np.array_equal(pixels(result), pixels(photo()))
    assert result.applied == []
    assert result.skipped == [
        "A cosy cafe scene with a cup of espresso",
        "morning mood",
    ]
    assert "unchanged" in result.text


def test_edit_applies_what_it_understands(tmp_path: Path) -> None:
    path = tmp_path / "coffee.png"
    photo().save(path)
    result = run(
        GenerationRequest(
            mode="edit", instruction="black and white, add a teapot", inputs=(path,)
        )
    )
    a = pixels(result)
    assert np.array_equal(a[..., 0], a[..., 2])
    assert result.applied == ["black and white"] and result.skipped == ["add a teapot"]


def test_promote_doubles_the_size_and_keeps_the_picture(tmp_path: Path) -> None:
    image = photo()
    turn = save_turn(image, tmp_path, 1)
    result = run(GenerationRequest(mode="promote", instruction="", history=(turn,)))
    assert isinstance(result.image, Image.Image)
    assert result.image.size == (image.width * 2, image.height * 2)
    assert result.model == "pillow-upscale"
    back = result.image.resize(image.size, Image.Resampling.LANCZOS)
    assert np.abs(pixels(back) - pixels(image)).mean() < 3
    assert result.applied[0] == "upscale 2× Lanczos to 1024×682"


def test_requests_are_checked(tmp_path: Path) -> None:
    turn = save_turn(photo(), tmp_path, 1)
    with pytest.raises(BadInput) as caught:
        run(
            GenerationRequest(
                mode="refine", instruction="brighten", region="sky", history=(turn,)
            )
        )
    assert "'sky'" in caught.value.message and "lower-right" in caught.value.message
    with pytest.raises(BadInput, match="needs a parent round"):
        run(GenerationRequest(mode="refine", instruction="brighten"))


def test_edit_keeps_transparency(tmp_path: Path) -> None:
    image = photo().convert("RGBA")
    image.putpixel((0, 0), (10, 20, 30, 0))
    path = tmp_path / "cut-out.png"
    image.save(path)
    kept = run(GenerationRequest(mode="edit", instruction="a cut-out", inputs=(path,)))
    assert isinstance(kept.image, Image.Image) and kept.image.mode == "RGBA"
    assert kept.image.getchannel("A").getpixel((0, 0)) == 0
    warmer = run(GenerationRequest(mode="edit", instruction="warmer", inputs=(path,)))
    assert isinstance(warmer.image, Image.Image)
    assert warmer.image.getchannel("A").getpixel((0, 0)) == 0
