"""Small copies of round images, made once, so a redraw never decodes a 4K file.

A round's image can be a 4K PNG of tens of megabytes; the terminal shows it in a
panel a few hundred pixels wide. The first time a round is shown its image is
downscaled with Pillow and written to ``<home>/cache/previews/<sha>-<size>.png``;
later views, in this run or the next, decode that copy. The most recent copies also
stay decoded in memory, so switching between two rounds costs no decoding at all.
Images are content-addressed, so a cached copy never goes stale.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image, UnidentifiedImageError

PREVIEW_SIZES = {"halfcell": 384, "unicode": 384, "sixel": 1280, "tgp": 1280}
MEMORY_ITEMS = 24


class PreviewUnavailable(Exception):
    """A round's image cannot be shown; the message says why, for the user."""


class PreviewCache:
    """Downscaled previews on disk and the latest few decoded in memory."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder = folder
        self.size = size
        self._memory: OrderedDict[str, Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    def path_for(self, sha: str) -> Path:
        return self.folder / f"{sha}-{self.size}.png"

    def cached(self, sha: str) -> Image.Image | None:
        """The decoded preview if it is in memory (cheap: safe on the main thread)."""
        with self._lock:
            image = self._memory.get(sha)
            if image is not None:
                self._memory.move_to_end(sha)
            return image

    def load(self, sha: str, source: Path) -> Image.Image:
        """The preview of ``source`` (whose content hash is ``sha``), made if needed.

        Raises PreviewUnavailable with a sentence for the user when the image file
        is missing or cannot be decoded.
        """
        image = self.cached(sha)
        if image is not None:
            return image
        target = self.path_for(sha)
        image = _open(target) if target.exists() else None
        if image is None:
            image = self._make(source, target)
        with self._lock:
            self._memory[sha] = image
            while len(self._memory) > MEMORY_ITEMS:
                self._memory.popitem(last=False)
        return image

    def _make(self, source: Path, target: Path) -> Image.Image:
        if not source.exists():
            raise PreviewUnavailable(f"The image file is missing: {source}")
        try:
            with Image.open(source) as opened:
                opened.draft("RGB", (self.size, self.size))
                image = opened.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise PreviewUnavailable(
                f"The image file cannot be decoded ({type(exc).__name__}): {source}"
            ) from None
        image.thumbnail((self.size, self.size), Image.Resampling.LANCZOS)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                image.save(out, format="PNG")
            os.replace(temporary, target)
        except OSError:
            pass  # a read-only cache only costs the next run a downscale
        return image


def _open(path: Path) -> Image.Image | None:
    try:
        with Image.open(path) as opened:
            return opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
