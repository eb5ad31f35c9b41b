"""The contract between the engine and an image backend.

The engine owns storage, ids, credits and attempts; a backend only turns a
:class:`GenerationRequest` into a :class:`GenerationResult` or raises a
:class:`~core.errors.GenerationError`. Everything a backend needs to rebuild model
context after a restart travels in :attr:`Turn.model_turn`, an opaque JSON value the
backend itself produced for that round, and in the content-addressed blob store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from PIL import Image

from core.cancel import CancelToken, ProgressCallback

Mode = Literal["generate", "edit", "compose", "refine", "promote"]
Quality = Literal["common", "ultra"]

MODES: tuple[Mode, ...] = ("generate", "edit", "compose", "refine", "promote")
QUALITIES: tuple[Quality, ...] = ("common", "ultra")
ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


class BlobStore(Protocol):
    """Content-addressed storage for image bytes, keyed by SHA-256 hex."""

    def put_bytes(self, data: bytes) -> str: ...

    def get_bytes(self, sha: str) -> bytes: ...

    def path(self, sha: str) -> Path: ...


@dataclass(frozen=True)
class Turn:
    """One earlier round on the branch, oldest first, as the backend sees it."""

    round_id: str
    number: int
    mode: Mode
    instruction: str
    quality: Quality
    backend: str
    model: str
    region: str | None
    image: Path
    image_sha: str
    model_turn: Any = None
    inputs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Reference:
    """An earlier round's image attached to a request (``--ref``)."""

    round_id: str
    number: int
    image: Path
    instruction: str


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a backend needs to produce one round."""

    mode: Mode
    instruction: str
    quality: Quality = "common"
    aspect: str | None = None
    region: str | None = None
    keep: bool = False
    image_size: str | None = None  # "1K", "2K" or "4K"; None for the tier default
    inputs: tuple[Path, ...] = ()  # the user's photo or references (new sessions)
    history: tuple[Turn, ...] = ()  # path from the root to the parent, oldest first
    refs: tuple[Reference, ...] = ()
    session_id: str = ""
    context_policy: str | None = None  # None: the backend's configured default


@dataclass
class Usage:
    """Tokens by kind; None means the service did not say (unknown is not 0)."""

    input: int | None = None
    output: int | None = None
    image: int | None = None
    thoughts: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {
            "input": self.input,
            "output": self.output,
            "image": self.image,
            "thoughts": self.thoughts,
        }


@dataclass
class GenerationResult:
    """A successful generation: the image and what the backend knows about it."""

    image: Image.Image | bytes  # encoded bytes are stored as PNG if they are not
    model: str
    text: str = ""
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    usd: float | None = None
    model_turn: Any = None
    warnings: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """An image backend: ``local`` (Pillow, offline) or ``gemini``."""

    name: str

    def model_for(self, quality: Quality) -> str:
        """The model name this backend uses for a quality tier."""
        ...

    def credits_for(self, quality: Quality) -> int:
        """Credits one round costs on this backend at a quality tier."""
        ...

    def generate(
        self,
        request: GenerationRequest,
        blobs: BlobStore,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> GenerationResult:
        """Produce one round or raise a GenerationError subclass."""
        ...
