"""Fixtures every test gets: an isolated data folder and no real credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

pytest_plugins = ["tests.gemini_server"]

_KEY_VARIABLES = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "RIPEN_GEMINI_BASE_URL",
    "RIPEN_BACKEND",
    "RIPEN_IMAGES",
)


@pytest.fixture(autouse=True)
def ripen_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point all state at a fresh folder and hide any key from the environment."""
    home = tmp_path / "ripen-home"
    home.mkdir()
    monkeypatch.setenv("RIPEN_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for name in _KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield home


def sample(name: str, size: int | None = None) -> Image.Image:
    """A real photograph from scikit-image's bundled samples, optionally downscaled."""
    from skimage import data

    image = Image.fromarray(getattr(data, name)())
    if image.mode != "RGB":
        image = image.convert("RGB")
    if size is not None:
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return image


@pytest.fixture
def coffee_path(tmp_path: Path) -> Path:
    """scikit-image's coffee photograph saved as a JPEG a user might have."""
    path = tmp_path / "coffee.jpg"
    sample("coffee").save(path, quality=92)
    return path
