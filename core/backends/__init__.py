"""Image backends: ``local`` (Pillow, offline, free) and ``gemini`` (the service)."""

from __future__ import annotations

from core.backends.base import Backend
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
