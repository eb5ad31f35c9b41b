"""Reading a ``generateContent`` answer: the image, the words, or why there is none.

An answer can hold a finished image, interim *thought* images the model sketched on
the way (never the result), text, nothing at all with a finish reason saying why, or
no candidate and a prompt-feedback block. :func:`read_answer` accepts only a decoded,
complete image from a non-thought part and turns every other outcome into the typed
error the user should see, keeping the service's own reason and message.
"""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass
from typing import Any

from google.genai import types
from PIL import Image

from core.backends.gemini.failures import malformed
from core.errors import Blocked, GenerationError, NoImage

BLOCK_REASONS = frozenset(
    {
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "SAFETY",
        "PROHIBITED_CONTENT",
        "RECITATION",
        "BLOCKLIST",
        "SPII",
    }
)
"""Finish reasons that mean the service declined to draw, for policy reasons."""

FINISHED = frozenset({"STOP", "MAX_TOKENS", "FINISH_REASON_UNSPECIFIED", ""})
"""Finish reasons under which an image in the answer is the result."""


@dataclass
class Answer:
    """A successful answer: every part as received and the result image among them."""

    parts: list[types.Part]
    image_index: int
    image: bytes
    mime: str
    width: int
    height: int
    text: str
    finish_reason: str


def read_answer(response: types.GenerateContentResponse) -> Answer:
    """The result image of ``response``, or the typed error explaining its absence."""
    if not response.candidates:
        feedback = response.prompt_feedback
        reason = _raw(feedback.block_reason) if feedback else ""
        if reason:
            message = (feedback.block_reason_message or "") if feedback else ""
            raise Blocked(
                _blocked_text("refused the prompt", reason, message), reason=reason
            )
        raise GenerationError("Gemini answered with no candidate and gave no reason.")

    candidate = response.candidates[0]
    reason = _raw(candidate.finish_reason)
    finish_message = candidate.finish_message or ""
    parts = list(candidate.content.parts or []) if candidate.content else []
    text = "\n".join(
        part.text for part in parts if part.text and not part.thought
    ).strip()

    if reason in BLOCK_REASONS:
        raise Blocked(
            _blocked_text("declined to draw", reason, finish_message), reason=reason
        )
    if reason not in FINISHED:
        known = reason in types.FinishReason.__members__
        what = "an unexpected reason" if known else "a reason ripen does not know"
        detail = f": {finish_message}" if finish_message else "."
        raise GenerationError(f"Gemini stopped for {what}, {reason}{detail}")

    index = _result_index(parts)
    if index is None:
        if text:
            raise NoImage(f"The model answered with text only: {text}", text=text)
        raise NoImage("The model answered with neither an image nor any text.")

    blob = parts[index].inline_data
    assert blob is not None
    data = blob.data or b""
    width, height = _decoded_size(data)
    return Answer(
        parts=parts,
        image_index=index,
        image=data,
        mime=blob.mime_type or "image/png",
        width=width,
        height=height,
        text=text,
        finish_reason=reason,
    )


def _result_index(parts: list[types.Part]) -> int | None:
    """The last non-thought image part: the answer's result."""
    found = None
    for index, part in enumerate(parts):
        blob = part.inline_data
        if part.thought or blob is None:
            continue
        if (blob.mime_type or "").startswith("image/"):
            found = index
    return found


def _decoded_size(data: bytes) -> tuple[int, int]:
    if not data:
        raise malformed("empty image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise malformed("truncated or undecodable image") from None


def _blocked_text(what: str, reason: str, message: str) -> str:
    text = f"Gemini {what}: {reason}."
    if message.strip():
        text += f" {message.strip()}"
    return text


def _raw(value: Any) -> str:
    """The reason string as the service sent it, known to the SDK or not."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)
