"""Image backends: ``local`` (Pillow, offline, free) and ``gemini`` (the service)."""

from __future__ import annotations

from core.backends.base import Backend, Quality
from core.config import Config
from core.errors import BadInput

BACKEND_NAMES = ("local", "gemini")


def make_backend(name: str, config: Config) -> Backend:
    """Construct a backend by name; imports are lazy so each costs only when used."""
    if name == "local":
        from core.backends.local import LocalBackend

        return LocalBackend()
    if name == "gemini":
        from core.backends.gemini import GeminiBackend

        return GeminiBackend(config)
    raise BadInput(f"Unknown backend {name!r}; choose one of: local, gemini.")


def credits_for(name: str, config: Config, quality: Quality) -> int:
    """Credits one round at ``quality`` costs on backend ``name``, without building it.

    The interface prices the next round as soon as a session opens; building the
    gemini backend would import the SDK first, about half a second.
    """
    if name == "local":
        return 0
    return config.credits_ultra if quality == "ultra" else config.credits_common
