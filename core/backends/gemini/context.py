"""Which earlier rounds a request carries, and how it stays under the size limit.

A round's request is its branch replayed as a chat: for each earlier round on the
path from the root, the user turn ripen sent and the model turn it got back, then the
new instruction. Sibling branches never appear, because the engine hands over only
the path. A chat that resends every image grows by megabytes a round, so a *policy*
decides how much is replayed verbatim:

``full``
    every round of the branch.
``window:K`` (the default, K=3)
    the last K rounds verbatim; the earlier ones folded into one user turn holding a
    short text summary of their instructions and the image that preceded the window.
``fresh``
    only the summary and the current image.

Whatever the policy, the request must fit ``gemini.request_budget_bytes``: the oldest
verbatim rounds are folded first, one at a time, and the round's record says so.

Rounds made by another backend (``local``) have no model turn to replay, and a round
whose stored images were since deleted cannot be replayed either. Such a round, and
everything before it, is always folded: the summary names the instructions and the
image that follows it is the latest folded round's result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.genai import types

from core.backends.base import BlobStore, GenerationRequest, Turn
from core.backends.gemini import turns as records
from core.backends.gemini.turns import Record
from core.errors import BadRequest, NotFound

DEFAULT_WINDOW = 3
_INSTRUCTION_CHARS = 240


@dataclass(frozen=True)
class Policy:
    """A context policy: how many earlier rounds are replayed verbatim."""

    name: str  # "full", "window" or "fresh"
    window: int | None  # None: no limit

    def __str__(self) -> str:
        return f"window:{self.window}" if self.name == "window" else self.name


def parse_policy(text: str) -> Policy:
    """``full``, ``fresh``, ``window`` or ``window:K`` as a :class:`Policy`."""
    word = text.strip().lower()
    if word == "full":
        return Policy("full", None)
    if word == "fresh":
        return Policy("fresh", 0)
    if word == "window":
        return Policy("window", DEFAULT_WINDOW)
    if word.startswith("window:"):
        count = word.removeprefix("window:")
        if count.isdigit():
            return Policy("window", int(count))
    raise BadRequest(
        f"Context policy {text!r} is not one of full, fresh or window:K "
        "(K a whole number of rounds, e.g. window:3)."
    )


@dataclass
class Plan:
    """A request ready to send, and what was decided to build it."""

    contents: list[types.Content]
    user: list[Record]
    context: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


# --- this round's own words -------------------------------------------------------

KEEP_CLAUSE = (
    "Keep everything else exactly as it is: the composition, the subject, the "
    "lighting, the colours and every detail not mentioned."
)


def instruction_text(request: GenerationRequest) -> str:
    """The instruction as sent, with the region scope and the keep clause applied."""
    text = request.instruction.strip()
    if request.region:
        region = request.region.strip()
        return (
            f"Change only {region} of the image: {text}\n"
            f"Leave everything outside {region} untouched. {KEEP_CLAUSE}"
        )
    if request.keep:
        return f"{text}\n{KEEP_CLAUSE}"
    return text


def promote_recipe(history: Sequence[Turn], note: str) -> str:
    """A condensed recipe of a branch, for its final render on the Ultra model."""
    steps: list[str] = []
    for turn in history:
        step = _describe(turn)
        if step not in steps:
            steps.append(step)
    lines = [f"{number}. {step}" for number, step in enumerate(steps, 1)]
    text = (
        "Final render. The attached image was refined step by step:\n"
        + "\n".join(lines)
        + "\nRender it again at the highest quality: the same composition, subject, "
        "lighting and colours, with every refinement above kept, finer detail and "
        "no artefacts."
    )
    if note.strip():
        text += f"\nAlso: {note.strip()}"
    return text


def own_parts(request: GenerationRequest, blobs: BlobStore) -> list[Record]:
    """The user parts this round adds: references, input images, then the words."""
    if request.mode == "promote":
        if not request.history:
            raise BadRequest("There is no round to promote.")
        parent = request.history[-1]
        return [
            records.text_record(promote_recipe(request.history, request.instruction)),
            records.image_record(_turn_image(parent, blobs), blobs),
        ]
    parts: list[Record] = []
    for ref in request.refs:
        label = (
            f"Reference: the image from round {ref.number} "
            f"({_clip(ref.instruction) or 'no instruction'})."
        )
        parts.append(records.text_record(label))
        parts.append(records.image_record(_read(ref.image), blobs))
    for path in request.inputs:
        parts.append(records.image_record(_read(path), blobs))
    parts.append(records.text_record(instruction_text(request)))
    return parts


# --- the branch -------------------------------------------------------------------


def plan_request(
    request: GenerationRequest,
    blobs: BlobStore,
    *,
    model: str,
    policy: Policy,
    budget: int,
    settings: dict[str, Any],
) -> Plan:
    """Build the request for ``request`` under ``policy`` and the byte budget.

    ``settings`` is the ``generationConfig`` object as it goes on the wire, counted
    in the request size.
    """
    own = own_parts(request, blobs)
    history = () if request.mode == "promote" else request.history
    replayable = 0
    for turn in reversed(history):
        if not _replayable(turn, blobs):
            break
        replayable += 1
    wanted = replayable if policy.window is None else min(policy.window, replayable)
    sizes = _SizeCache(blobs)

    verbatim = wanted
    while True:
        shape, adapted = _assemble(history, verbatim, own, model, blobs)
        size = _measure(shape, settings, sizes)
        if size <= budget or verbatim == 0:
            break
        verbatim -= 1

    if size > budget:
        raise BadRequest(
            f"This request would be {size / 1e6:.1f} MB, over the "
            f"{budget / 1e6:.1f} MB budget (gemini.request_budget_bytes), even with "
            "only the current image; attach fewer or smaller images."
        )
    dropped = wanted - verbatim
    warnings: list[str] = []
    if dropped:
        warnings.append(
            f"Context: the {dropped} oldest of the {wanted} rounds the {policy} "
            f"policy replays were folded into a summary to keep the request under "
            f"{budget / 1e6:.0f} MB."
        )
    context = {
        "policy": "promote" if request.mode == "promote" else str(policy),
        "turns": len(history),
        "verbatim": verbatim,
        "folded": len(history) - verbatim,
        "dropped_for_budget": dropped,
        "adapted": adapted,
        "request_bytes": size,
        "budget_bytes": budget,
    }
    contents = [
        types.Content(role=role, parts=[records.to_part(r, blobs) for r in parts])
        for role, parts in shape
    ]
    return Plan(contents=contents, user=own, context=context, warnings=warnings)


Shape = list[tuple[str, list[Record]]]


def _assemble(
    history: Sequence[Turn],
    verbatim: int,
    own: list[Record],
    model: str,
    blobs: BlobStore,
) -> tuple[Shape, int]:
    """Roles and part records of a request, consecutive same-role turns merged."""
    split = len(history) - verbatim
    folded, replayed = history[:split], history[split:]
    turns: Shape = []
    if folded:
        last = folded[-1]
        turns.append(
            (
                "user",
                [
                    records.text_record(_summary(folded)),
                    records.image_record(_turn_image(last, blobs), blobs),
                ],
            )
        )
    adapted = 0
    for turn in replayed:
        stored = turn.model_turn
        reply, changed = records.reply_for(stored, model)
        adapted += changed
        turns.append(("user", list(stored["user"])))
        turns.append(("model", reply))
    turns.append(("user", own))

    merged: Shape = []
    for role, parts in turns:
        if merged and merged[-1][0] == role:
            merged[-1] = (role, merged[-1][1] + parts)
        else:
            merged.append((role, list(parts)))
    return merged, adapted


def _replayable(turn: Turn, blobs: BlobStore) -> bool:
    """Whether a turn can be resent verbatim: ours, with all its images still kept."""
    if not records.is_gemini_turn(turn.model_turn):
        return False
    stored = turn.model_turn
    try:
        for sha in records.shas_in(stored["user"] + stored["reply"]):
            blobs.path(sha)
    except NotFound:
        return False
    return True


def _summary(folded: Sequence[Turn]) -> str:
    lines = [f"Round {turn.number}: {_describe(turn)}" for turn in folded]
    return (
        "Earlier rounds of this image, oldest first:\n"
        + "\n".join(lines)
        + f"\nThe image that follows is the result of round {folded[-1].number}; "
        "continue from it."
    )


def _describe(turn: Turn) -> str:
    text = _clip(turn.instruction) or "(no instruction)"
    if turn.mode == "generate":
        text = f"created from the prompt: {text}"
    if turn.region:
        text = f"{text} (only {turn.region})"
    return text


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _INSTRUCTION_CHARS:
        return text
    return text[: _INSTRUCTION_CHARS - 1].rstrip() + "…"


def _turn_image(turn: Turn, blobs: BlobStore) -> bytes:
    try:
        return blobs.get_bytes(turn.image_sha)
    except NotFound:
        return _read(turn.image)


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadRequest(f"Cannot read the image {path}: {exc.strerror}.") from None


# --- measuring ----------------------------------------------------------------------


class _SizeCache:
    """Byte sizes of blobs, looked up once per request."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs
        self._sizes: dict[str, int] = {}

    def __call__(self, sha: str) -> int:
        if sha not in self._sizes:
            self._sizes[sha] = self._blobs.path(sha).stat().st_size
        return self._sizes[sha]


def _measure(
    shape: Shape, settings: dict[str, Any], size_of: Callable[[str], int]
) -> int:
    """The request body's size in bytes, as the SDK will serialise it.

    Images are counted by their base64 length without encoding them; everything
    else is laid out the way the SDK writes it, so the figure matches the wire.
    """
    payload = 0
    skeleton: list[dict[str, Any]] = []
    for role, parts in shape:
        laid_out: list[dict[str, Any]] = []
        for record in parts:
            part: dict[str, Any] = {}
            inline = record.get("inline_data")
            if inline is not None:
                part["inlineData"] = {"data": "", "mime_type": inline["mime_type"]}
                payload += 4 * ((size_of(inline["sha"]) + 2) // 3)
            if "text" in record:
                part["text"] = record["text"]
            if "thought" in record:
                part["thought"] = record["thought"]
            if "thought_signature" in record:
                part["thoughtSignature"] = record["thought_signature"]
            laid_out.append(part)
        skeleton.append({"parts": laid_out, "role": role})
    body = {"contents": skeleton, "generationConfig": settings}
    return len(json.dumps(body).encode()) + payload
