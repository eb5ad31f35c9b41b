"""The stored form of a Gemini round, and its way back into a request.

A refined image only stays refinable if the model sees its own earlier answers again
exactly as it gave them: the text, every image, which parts were thoughts and the
opaque ``thought_signature`` bytes that carry its reasoning from one turn to the next.
So each round keeps a *model turn*: a JSON value holding both halves of the exchange
(the user parts ripen sent and the model parts it received), with images replaced by
the SHA-256 of their bytes in the blob store and signatures as base64.

Every request is assembled from these records, never from live SDK objects, so the
request built today and the one rebuilt from the database after a restart are the
same bytes. The layout, one JSON object per round::

    {"backend": "gemini", "format": 1, "model": "gemini-2.5-flash-image",
     "user": [part, ...], "reply": [part, ...], "image_part": 1,
     "finish_reason": "STOP", "asked": {...}, "received": {...}}

and a part is ``{"text": ...}`` or ``{"inline_data": {"mime_type": ..., "sha": ...}}``,
with ``"thought"`` and ``"thought_signature"`` only when the service sent them.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from google.genai import types
from PIL import Image

from core.backends.base import BlobStore
from core.backends.gemini.answer import decode_base64
from core.errors import BadRequest

FORMAT = 1

Record = dict[str, Any]

_MIME_BY_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"RIFF", "image/webp"),
)


def mime_of(data: bytes) -> str | None:
    """The image MIME type the service accepts for ``data``, judged by its magic."""
    for magic, mime in _MIME_BY_MAGIC:
        if data.startswith(magic):
            return mime
    return None


def text_record(text: str) -> Record:
    return {"text": text}


def image_record(data: bytes, blobs: BlobStore) -> Record:
    """A user image part: the bytes go to the blob store, the record keeps the sha.

    Formats the service does not take (HEIC, TIFF, ...) are sent as PNG.
    """
    mime = mime_of(data)
    if mime is None:
        try:
            with Image.open(io.BytesIO(data)) as image:
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, format="PNG")
        except (OSError, ValueError, SyntaxError) as exc:
            raise BadRequest(f"An input image could not be read: {exc}.") from None
        data, mime = buffer.getvalue(), "image/png"
    return {"inline_data": {"mime_type": mime, "sha": blobs.put_bytes(data)}}


def received_record(
    part: dict[str, Any], data: bytes | None, blobs: BlobStore
) -> Record:
    """A part of the answer, kept whole: text, image, thought flag, signature.

    ``part`` is the part's JSON as received and ``data`` its decoded inline bytes;
    the signature is kept as standard base64 of the bytes the service sent.
    """
    record: Record = {}
    if "text" in part:
        record["text"] = part["text"]
    if data is not None:
        record["inline_data"] = {
            "mime_type": part["inlineData"].get("mimeType"),
            "sha": blobs.put_bytes(data),
        }
    if "thought" in part:
        record["thought"] = part["thought"]
    if "thoughtSignature" in part:
        signature = decode_base64(part["thoughtSignature"])
        record["thought_signature"] = base64.b64encode(signature).decode()
    return record


def to_part(record: Record, blobs: BlobStore) -> types.Part:
    """The SDK part a record stands for, with its image bytes read back."""
    inline = record.get("inline_data")
    blob = None
    if inline is not None:
        blob = types.Blob(
            mime_type=inline["mime_type"], data=blobs.get_bytes(inline["sha"])
        )
    signature = record.get("thought_signature")
    return types.Part(
        text=record.get("text"),
        inline_data=blob,
        thought=record.get("thought"),
        thought_signature=None if signature is None else base64.b64decode(signature),
    )


def is_gemini_turn(model_turn: Any) -> bool:
    """Whether a stored turn came from this backend and can be replayed verbatim."""
    return (
        isinstance(model_turn, dict)
        and model_turn.get("backend") == "gemini"
        and model_turn.get("format") == FORMAT
        and isinstance(model_turn.get("user"), list)
        and isinstance(model_turn.get("reply"), list)
    )


def reply_for(model_turn: Record, model: str) -> tuple[list[Record], bool]:
    """The reply parts to resend to ``model``, and whether they had to be adapted.

    Thought signatures are only meaningful to the model that wrote them, so a turn
    made on the other tier is resent without its thought parts and signatures: that
    is a request either model accepts, at the cost of the earlier reasoning.
    """
    parts: list[Record] = model_turn["reply"]
    if model_turn.get("model") == model:
        return parts, False
    adapted = [
        {key: value for key, value in part.items() if key != "thought_signature"}
        for part in parts
        if not part.get("thought")
    ]
    return adapted, True


def shas_in(records: list[Record]) -> list[str]:
    """The blob shas a list of part records refers to, in order."""
    return [r["inline_data"]["sha"] for r in records if r.get("inline_data")]
