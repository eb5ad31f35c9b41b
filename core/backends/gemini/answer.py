"""Reading a ``generateContent`` answer: the image, the words, or why there is none.

The backend asks the SDK for the raw response body and reads the JSON itself. That
keeps every part exactly as the service sent it (the SDK's parsed objects drop the
candidate's ``finishMessage`` and turn finish reasons it does not know into warnings
on the terminal), and lets a bad base64 string be reported as what it is.

An answer can hold a finished image, interim *thought* images the model sketched on
the way (never the result), text, nothing at all with a finish reason saying why, or
no candidate and a prompt-feedback block. :func:`read_answer` accepts only a decoded,
complete image from a non-thought part and turns every other outcome into the typed
error the user should see, keeping the service's own reason and message.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

from google.genai import types
from PIL import Image

from core.backends.gemini.failures import malformed
from core.errors import Blocked, GenerationError, NoImage
from core.text import clean_text

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

Part = dict[str, Any]


@dataclass
class Answer:
    """A successful answer: every part as received and the result image among them."""

    parts: list[Part]
    data: list[bytes | None]  # each part's decoded inline bytes, if it has any
    image_index: int
    mime: str
    width: int
    height: int
    text: str
    finish_reason: str

    @property
    def image(self) -> bytes:
        data = self.data[self.image_index]
        assert data is not None
        return data


def parse_body(body: str | None) -> dict[str, Any]:
    """The response JSON as a dict; anything else is a malformed answer."""
    try:
        payload = json.loads(body or "")
    except json.JSONDecodeError:
        raise GenerationError("Gemini's answer was not valid JSON.") from None
    if not isinstance(payload, dict):
        raise GenerationError("Gemini's answer was not a JSON object.")
    return payload


def malformed_answer(detail: str) -> GenerationError:
    """The error for an answer whose JSON does not have the documented shape."""
    return GenerationError(
        f"Gemini's answer was malformed ({detail}); nothing was saved. "
        "Retrying usually helps."
    )


def _object(value: Any, what: str) -> dict[str, Any]:
    """``value`` when it is a JSON object or absent, else a malformed answer."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise malformed_answer(f"{what} is not an object")
    return value


def _words(value: Any) -> str:
    """The service's own words, safe to show in a terminal."""
    if value is None:
        return ""
    return clean_text(str(value))


def read_answer(payload: dict[str, Any]) -> Answer:
    """The result image of a response, or the typed error explaining its absence."""
    candidates = payload.get("candidates")
    if candidates is not None and not isinstance(candidates, list):
        raise malformed_answer("candidates is not a list")
    if not candidates:
        feedback = _object(payload.get("promptFeedback"), "promptFeedback")
        reason = _words(feedback.get("blockReason"))
        if reason:
            message = _words(feedback.get("blockReasonMessage"))
            raise Blocked(
                _blocked_text("refused the prompt", reason, message), reason=reason
            )
        raise GenerationError("Gemini answered with no candidate and gave no reason.")

    candidate = candidates[0]
    if not isinstance(candidate, dict):
        raise malformed_answer("the first candidate is not an object")
    reason = _words(candidate.get("finishReason"))
    finish_message = _words(candidate.get("finishMessage"))
    content = _object(candidate.get("content"), "the candidate's content")
    raw_parts = content.get("parts")
    if raw_parts is not None and not isinstance(raw_parts, list):
        raise malformed_answer("the content's parts are not a list")
    parts: list[Part] = [p for p in raw_parts or [] if isinstance(p, dict)]
    text = _words(
        "\n".join(
            str(part["text"])
            for part in parts
            if part.get("text") and not part.get("thought")
        )
    )

    if reason in BLOCK_REASONS:
        raise Blocked(
            _blocked_text("declined to draw", reason, finish_message), reason=reason
        )
    if reason not in FINISHED:
        known = reason in types.FinishReason.__members__
        what = "an unexpected reason" if known else "a reason ripen does not know"
        detail = f": {finish_message}" if finish_message else "."
        raise GenerationError(f"Gemini stopped for {what}, {reason}{detail}")

    data = [_inline_bytes(part) for part in parts]
    index = _result_index(parts)
    if index is None:
        if text:
            raise NoImage(f"The model answered with text only: {text}", text=text)
        raise NoImage("The model answered with neither an image nor any text.")

    image = data[index] or b""
    width, height = _decoded_size(image)
    return Answer(
        parts=parts,
        data=data,
        image_index=index,
        mime=str(parts[index]["inlineData"].get("mimeType") or "image/png"),
        width=width,
        height=height,
        text=text,
        finish_reason=reason,
    )


def decode_base64(text: Any) -> bytes:
    """Bytes from the service's base64 (standard or URL-safe alphabet), strictly."""
    if not isinstance(text, str):
        raise malformed("bad base64")
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text.encode("ascii"))
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise malformed("bad base64") from None


def _inline_bytes(part: Part) -> bytes | None:
    inline = part.get("inlineData")
    if not isinstance(inline, dict):
        return None
    return decode_base64(inline.get("data", ""))


def _result_index(parts: list[Part]) -> int | None:
    """The last non-thought image part: the answer's result."""
    found = None
    for index, part in enumerate(parts):
        inline = part.get("inlineData")
        if part.get("thought") or not isinstance(inline, dict):
            continue
        if str(inline.get("mimeType") or "").startswith("image/"):
            found = index
    return found


def _decoded_size(data: bytes) -> tuple[int, int]:
    """The image's size, once it is known to be complete.

    A PNG is checked chunk by chunk (every CRC, through to the end marker), which
    catches a truncated file without decoding 2K pixels; other formats are decoded.
    """
    if not data:
        raise malformed("empty image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format == "PNG":
                image.verify()
            else:
                image.load()
            return image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise malformed("truncated or undecodable image") from None


def _blocked_text(what: str, reason: str, message: str) -> str:
    text = f"Gemini {what}: {reason}."
    if message.strip():
        text += f" {message.strip()}"
    return text
