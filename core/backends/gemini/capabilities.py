"""What each Gemini image model can do, checked before anything is sent.

A refused request costs nothing and says exactly what to change; a request the service
would refuse costs a round trip and often a confusing message. So the sizes, aspect
ratios and number of reference images each model accepts live in one table, and
:func:`check` turns a mismatch into a :class:`~core.errors.BadRequest` up front. The
same table decides whether a received image is the size that was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.backends.base import ASPECTS
from core.errors import BadRequest


@dataclass(frozen=True)
class Capabilities:
    """The limits of one image model."""

    sizes: tuple[str, ...]
    """Values of ``image_size`` the model renders; the first is its default."""
    max_images: int
    """Input images (photos plus references) one request may carry."""
    sends_size: bool
    """Whether ``image_size`` goes into the request (the flash model has one size)."""


FLASH = Capabilities(sizes=("1K",), max_images=3, sends_size=False)
PRO = Capabilities(sizes=("1K", "2K", "4K"), max_images=14, sends_size=True)

_KNOWN = {
    "gemini-2.5-flash-image": FLASH,
    "gemini-2.5-flash-image-preview": FLASH,
    "gemini-3-pro-image-preview": PRO,
}

LONG_SIDE = {"1K": 1024, "2K": 2048, "4K": 4096}


def capabilities(model: str) -> Capabilities:
    """The table row for ``model``; unknown names are judged by their family."""
    if model in _KNOWN:
        return _KNOWN[model]
    return PRO if "pro" in model else FLASH


def check(
    model: str,
    *,
    aspect: str | None,
    image_size: str | None,
    images: int,
) -> None:
    """Refuse, before sending, a request ``model`` cannot serve."""
    caps = capabilities(model)
    if aspect is not None and aspect not in ASPECTS:
        raise BadRequest(
            f"Aspect ratio {aspect} is not one Gemini renders; "
            f"choose one of {', '.join(ASPECTS)}."
        )
    if image_size is not None and image_size not in caps.sizes:
        if image_size in LONG_SIDE:
            raise BadRequest(
                f"{model} renders at {' or '.join(caps.sizes)} only, not "
                f"{image_size}; use the Ultra tier for {image_size}."
            )
        raise BadRequest(f"Image size {image_size} is not one of 1K, 2K or 4K.")
    if images > caps.max_images:
        raise BadRequest(
            f"{model} takes at most {caps.max_images} input images in one request; "
            f"this one has {images}. Attach fewer references."
        )


def size_class(width: int, height: int) -> str:
    """Which of 1K, 2K or 4K a received image's longer side belongs to."""
    long_side = max(width, height)
    if long_side >= 3000:
        return "4K"
    if long_side >= 1500:
        return "2K"
    return "1K"


def aspect_matches(aspect: str, width: int, height: int) -> bool:
    """Whether ``width`` x ``height`` is ``aspect`` within the models' rounding."""
    across, down = (int(side) for side in aspect.split(":"))
    wanted = across / down
    return abs(width / height - wanted) / wanted < 0.04
