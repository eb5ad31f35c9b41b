"""Where ripen keeps its state and how a user tunes it.

All state lives under one folder, ``$RIPEN_HOME`` or the platform's user data folder.
An optional ``config.toml`` there overrides the defaults below; unknown keys are
ignored and wrong types are refused with a message naming the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from core.errors import BadInput


def home_folder() -> Path:
    """The folder holding ``ripen.db``, ``images/`` and ``config.toml``."""
    env = os.environ.get("RIPEN_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("ripen", appauthor=False))


@dataclass
class GeminiConfig:
    common_model: str = "gemini-2.5-flash-image"
    ultra_model: str = "gemini-3-pro-image-preview"
    ultra_size: str = "2K"
    base_url: str | None = None
    timeout: float = 120.0
    context: str = "window:3"
    request_budget_bytes: int = 20_000_000
    max_retry_wait: float = 60.0
    max_retries: int = 5


@dataclass
class Config:
    home: Path
    credits_common: int = 20
    credits_ultra: int = 40
    budget: int = 140
    hard_budget: bool = False
    max_megapixels: float = 50.0
    backend: str | None = None  # None: gemini when a key is set, else local
    images: str = "auto"
    gemini: GeminiConfig = field(default_factory=GeminiConfig)
    pricing: dict[str, dict[str, float]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.home / "ripen.db"

    @property
    def images_dir(self) -> Path:
        return self.home / "images"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def log_path(self) -> Path:
        return self.home / "ripen.log"


def _typed(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table[key]
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise BadInput(
            f"config.toml: {where}{key} should be {kind.__name__}, got {value!r}."
        )
    return value


def _apply(target: Any, table: dict[str, Any], where: str) -> None:
    for name, default in list(vars(target).items()):
        if name in table and not isinstance(default, dict | GeminiConfig | Path):
            kind = type(default) if default is not None else str
            setattr(target, name, _typed(table, name, kind, where))


def load_config(home: Path | None = None) -> Config:
    """Read ``config.toml`` under the home folder over the defaults, then the env."""
    home = home or home_folder()
    config = Config(home=home)
    path = home / "config.toml"
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path} is not valid TOML: {exc}") from None
        config.raw = raw
        _apply(config, raw, "")
        if isinstance(raw.get("gemini"), dict):
            _apply(config.gemini, raw["gemini"], "gemini.")
        for section in ("pricing", "keys"):
            if isinstance(raw.get(section), dict):
                setattr(config, section, dict(raw[section]))
        tiers = raw.get("credits")
        if isinstance(tiers, dict):
            if "common" in tiers:
                config.credits_common = _typed(tiers, "common", int, "credits.")
            if "ultra" in tiers:
                config.credits_ultra = _typed(tiers, "ultra", int, "credits.")
    if config.budget <= 0 or config.budget > 1_000_000_000:
        raise BadInput(
            f"config.toml: budget must be a positive number of credits, "
            f"got {config.budget}."
        )
    if not config.max_megapixels > 0:  # also refuses NaN
        raise BadInput(
            f"config.toml: max_megapixels must be above zero, "
            f"got {config.max_megapixels}."
        )
    if not 0 < config.gemini.timeout <= 3600:  # also refuses NaN
        raise BadInput(
            f"config.toml: gemini.timeout must be between 0 and 3600 seconds, "
            f"got {config.gemini.timeout}."
        )
    if os.environ.get("RIPEN_GEMINI_BASE_URL"):
        config.gemini.base_url = os.environ["RIPEN_GEMINI_BASE_URL"]
    if os.environ.get("RIPEN_BACKEND"):
        config.backend = os.environ["RIPEN_BACKEND"]
    if os.environ.get("RIPEN_IMAGES"):
        config.images = os.environ["RIPEN_IMAGES"]
    return config


def api_key_present() -> bool:
    """Whether a Gemini key (or Vertex AI) is configured; the key itself is not read."""
    return bool(
        os.environ.get("GEMINI_API_KEY")
        or os.environ.get("GOOGLE_API_KEY")
        or os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() in ("1", "true")
    )


def default_backend(config: Config) -> str:
    if config.backend:
        return config.backend
    return "gemini" if api_key_present() else "local"
