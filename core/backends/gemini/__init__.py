"""The ``gemini`` backend: Google's image models through the google-genai SDK.

The package is split by concern: :mod:`.capabilities` (what each model accepts),
:mod:`.turns` (the stored model turn and its replay), :mod:`.context` (which rounds a
request carries, under the byte budget), :mod:`.answer` (reading an answer),
:mod:`.failures` (typed errors and retry decisions), :mod:`.pricing` (tokens to
dollars) and :mod:`.client` (the backend itself).
"""

from __future__ import annotations

from core.backends.gemini.client import GeminiBackend

__all__ = ["GeminiBackend"]
