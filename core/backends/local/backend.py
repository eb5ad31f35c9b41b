"""The ``local`` backend: ripen's whole workflow offline, at zero credits.

It is the default when no API key is set, so a fresh install can start a session,
refine it round by round, branch, compare and promote without a network. Where a
model would interpret an instruction, this backend reads it with
:func:`~core.backends.local.parser.parse_instruction` and carries out the clauses it
understands exactly; it says which it applied, with the numbers used, and which it
could not. Results depend only on the request, so the same round renders the same
pixels every time.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from core.backends.base import (
    BlobStore,
    GenerationRequest,
    GenerationResult,
    Quality,
    Turn,
    Usage,
)
from core.backends.local.draft import (
    clean_text,
    draw_collage,
    draw_draft,
    load_reference,
    plan_draft,
)
from core.backends.local.operations import Context, apply_clause, effective_region
from core.backends.local.parser import GEOMETRIC, Parsed, parse_instruction
from core.backends.local.regions import validate_region
from core.cancel import CancelToken, Progress, ProgressCallback, Stopwatch
from core.errors import BadInput, GenerationError, NotUnderstood
from core.text import clean_text as safe_text

MAX_CHANGES = 12
"""Changes carried out per round; the guide's advice is two or three."""

_LONG_SIDES = {"1K": 1024, "2K": 2048, "4K": 4096}
_RATIO = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*:\s*(\d{1,3}(?:\.\d+)?)(?![\d.])")


class LocalBackend:
    """Pillow-only backend: layout drafts, collages and exact photographic edits."""

    name = "local"

    def model_for(self, quality: Quality) -> str:
        """The model name: pillow, or pillow-upscale for Ultra (promote's tier)."""
        return "pillow-upscale" if quality == "ultra" else "pillow"

    def credits_for(self, quality: Quality) -> int:
        """Always 0: nothing leaves the machine."""
        return 0

    def generate(
        self,
        request: GenerationRequest,
        blobs: BlobStore,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> GenerationResult:
        """Produce one round for any mode, or raise a ripen error explaining why not."""
        clock = Stopwatch()
        cancel.raise_if_cancelled()
        region = validate_region(request.region) if request.region else None
        run = _Run(request, blobs, progress, cancel, clock, region)
        if request.mode == "generate":
            result = run.draft()
        elif request.mode == "compose":
            result = run.collage()
        elif request.mode == "edit":
            result = run.edit()
        elif request.mode == "refine":
            result = run.refine()
        elif request.mode == "promote":
            result = run.promote()
        else:
            raise BadInput(f"The local backend has no mode {request.mode!r}.")
        cancel.raise_if_cancelled()
        progress(Progress("done", "Done.", result.model, clock.elapsed))
        return result


def _ratio(text: str) -> tuple[float, float] | None:
    match = _RATIO.search(text)
    if not match:
        return None
    width, height = float(match.group(1)), float(match.group(2))
    if width <= 0 or height <= 0 or not 0.1 <= width / height <= 10:
        return None
    return width, height


def _canvas_size(request: GenerationRequest, fallback: str) -> tuple[int, int]:
    if request.aspect:
        ratio = _ratio(request.aspect)
        if ratio is None:
            raise BadInput(
                f"The aspect ratio {request.aspect!r} is not understood: use W:H, "
                "for example 16:9, between 1:10 and 10:1."
            )
    else:
        ratio = _ratio(request.instruction) or _ratio(fallback)
    assert ratio is not None
    long_side = _LONG_SIDES.get(request.image_size or "")
    if long_side is None:
        long_side = 2048 if request.quality == "ultra" else 1024
    width, height = ratio
    if width >= height:
        return long_side, max(1, round(long_side * height / width))
    return max(1, round(long_side * width / height)), long_side


def _open_rgb(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Split an image into RGB and its alpha channel, if it has real transparency."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema() == (255, 255):
            return rgba.convert("RGB"), None
        return rgba.convert("RGB"), alpha
    if image.mode.startswith("I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return image.convert("RGB"), None


def _quote_all(items: list[str]) -> str:
    return "; ".join(f"'{item}'" for item in items)


class _Run:
    """One generation: the request and its reporting, shared by the mode handlers."""

    def __init__(
        self,
        request: GenerationRequest,
        blobs: BlobStore,
        progress: ProgressCallback,
        cancel: CancelToken,
        clock: Stopwatch,
        region: str | None,
    ) -> None:
        self.request = request
        self.blobs = blobs
        self.progress = progress
        self.cancel = cancel
        self.clock = clock
        self.region = region
        self.model = "pillow"
        self.warnings: list[str] = []
        self.clauses: list[dict[str, object]] = []

    def report(self, phase: str, message: str) -> None:
        self.progress(Progress(phase, message, self.model, self.clock.elapsed))

    # -- modes ---------------------------------------------------------------

    def draft(self) -> GenerationResult:
        request = self.request
        size = _canvas_size(request, "1:1")
        self.report("waiting", f"Drawing a {size[0]}×{size[1]} layout draft.")
        plan = plan_draft(request.instruction, size)
        image, box = draw_draft(plan, f"{request.session_id}|{request.instruction}")
        applied = [
            f"layout draft {size[0]}×{size[1]}",
            f"backdrop: {plan.backdrop}"
            + (f", surface: {plan.surface}" if plan.surface else ""),
            f"light: {plan.light_name}, from the {plan.light_side}"
            + (" (dramatic)" if plan.dramatic else ""),
            f"placeholder '{plan.subject}' in the {plan.placement}",
        ]
        text = (
            "Layout draft drawn offline: backdrop, light and a placeholder subject "
            "where the prompt puts it. Use it to block the composition; a model "
            "backend paints the real image."
        )
        return self.result(image, applied, [], text, {"subject_box": list(box)})

    def collage(self) -> GenerationResult:
        request = self.request
        if not 2 <= len(request.inputs) <= 3:
            raise BadInput(
                f"Compose takes two or three reference images; got "
                f"{len(request.inputs)}."
            )
        images = []
        for path in request.inputs:
            self.cancel.raise_if_cancelled()
            self.report("decoding", f"Reading {Path(path).name}.")
            images.append(_read_input(Path(path)))
        size = _canvas_size(request, "16:9")
        self.report("waiting", f"Laying out {len(images)} references.")
        names = [Path(path).name for path in request.inputs]
        image, panels = draw_collage(images, names, request.instruction, size)
        applied = [f"collage of {len(images)} references, {size[0]}×{size[1]}"]
        text = (
            f"Draft collage of the {len(images)} references, labelled in order. "
            "A model backend composes them into one image."
        )
        return self.result(
            image, applied, [], text, {"panels": [list(p) for p in panels]}
        )

    def edit(self) -> GenerationResult:
        request = self.request
        if len(request.inputs) != 1:
            raise BadInput(f"Edit takes one photo; got {len(request.inputs)}.")
        self.report("decoding", f"Reading {Path(request.inputs[0]).name}.")
        photo = _read_photo(Path(request.inputs[0]))
        parsed = parse_instruction(request.instruction)
        if not parsed.changes:
            skipped = list(parsed.not_understood)
            text = (
                "Your photo is the base round, unchanged: the local backend carries "
                "out adjustments, not descriptions."
            )
            if skipped:
                text += f" Not acted on: {_quote_all(skipped)}."
            return self.result(photo, [], skipped, text, {})
        return self.adjust(photo, parsed, "your photo")

    def refine(self) -> GenerationResult:
        parent = self.parent()
        parsed = parse_instruction(self.request.instruction)
        if not parsed.changes:
            raise NotUnderstood(self.not_understood_message(parsed))
        self.report("decoding", f"Reading round {parent.number}.")
        image = _read_turn(parent, self.blobs)
        return self.adjust(image, parsed, f"round {parent.number}")

    def promote(self) -> GenerationResult:
        parent = self.parent()
        self.model = "pillow-upscale"
        self.report("decoding", f"Reading round {parent.number}.")
        image = _read_turn(parent, self.blobs)
        parsed = parse_instruction(self.request.instruction)
        rgb, alpha = _open_rgb(image)
        applied: list[str] = []
        skipped = list(parsed.not_understood)
        if parsed.changes:
            rgb, alpha, applied, extra = self.apply_all(rgb, alpha, parsed)
            skipped += extra
        self.cancel.raise_if_cancelled()
        size = (rgb.width * 2, rgb.height * 2)
        self.report("waiting", f"Upscaling to {size[0]}×{size[1]}.")
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        self.cancel.raise_if_cancelled()
        rgb = rgb.filter(ImageFilter.UnsharpMask(radius=1.5, percent=45, threshold=2))
        if alpha is not None:
            alpha = alpha.resize(size, Image.Resampling.LANCZOS)
            rgb.putalpha(alpha)
        applied.append(f"upscale 2× Lanczos to {size[0]}×{size[1]}")
        applied.append("light sharpening (unsharp mask 45%, radius 1.5 px)")
        text = f"Final render of round {parent.number}: upscaled twofold offline."
        return self.result(rgb, applied, skipped, text, {}, keep=parsed.keep)

    # -- shared --------------------------------------------------------------

    def parent(self) -> Turn:
        if not self.request.history:
            raise BadInput(f"{self.request.mode.capitalize()} needs a parent round.")
        return self.request.history[-1]

    def adjust(
        self, image: Image.Image, parsed: Parsed, source: str
    ) -> GenerationResult:
        rgb, alpha = _open_rgb(image)
        rgb, alpha, applied, extra = self.apply_all(rgb, alpha, parsed)
        if alpha is not None:
            rgb.putalpha(alpha)
        skipped = list(parsed.not_understood) + extra
        text = f"Applied to {source}: " + "; ".join(applied) + "."
        if skipped:
            text += f" Not understood: {_quote_all(skipped)}."
        return self.result(rgb, applied, skipped, text, {}, keep=parsed.keep)

    def apply_all(
        self, rgb: Image.Image, alpha: Image.Image | None, parsed: Parsed
    ) -> tuple[Image.Image, Image.Image | None, list[str], list[str]]:
        request = self.request
        last = request.history[-1].round_id if request.history else ""
        ctx = Context(
            history=request.history,
            refs=request.refs,
            blobs=self.blobs,
            seed=f"{request.session_id}|{last}",
        )
        changes = parsed.changes
        extra = [
            f"{clause.text} (more than {MAX_CHANGES} changes in one round)"
            for clause in changes[MAX_CHANGES:]
        ]
        changes = changes[:MAX_CHANGES]
        applied = []
        for index, clause in enumerate(changes, start=1):
            self.cancel.raise_if_cancelled()
            self.report("waiting", f"Change {index} of {len(changes)}: {clause.text}")
            region = effective_region(clause, self.region)
            if region and clause.op in GEOMETRIC - {"zoom", "aspect"}:
                self.warnings.append(
                    f"'{clause.text}' changes the whole frame; the region "
                    f"{region} was not used for it."
                )
                region = None
            self.clauses.append({**clause.to_json(), "region": region})
            step = apply_clause(rgb, clause, region, ctx)
            rgb = step.image
            if alpha is not None and step.transform is not None:
                alpha = step.transform(alpha)
            label = step.label
            if "requested" in clause.params:
                label += f" (asked for {clause.params['requested']}, held to the limit)"
            applied.append(label)
        return rgb, alpha, applied, extra

    def not_understood_message(self, parsed: Parsed) -> str:
        if parsed.keep and not parsed.not_understood:
            return (
                "Nothing to change: the instruction only asks to keep the image as "
                "it is."
            )
        if not parsed.not_understood:
            return "The instruction is empty: say what to change, e.g. 'more contrast'."
        return safe_text(
            "The local backend understood none of this instruction: "
            f"{_quote_all(parsed.not_understood)}. It understands adjustments such "
            "as brightness, contrast, saturation, warmth, shadows, highlights, "
            "sharpen, blur, vignette, grain, black and white, rotate, flip, crop, "
            "zoom, move the subject, aspect ratio and restore from a round."
        )

    def result(
        self,
        image: Image.Image,
        applied: list[str],
        skipped: list[str],
        text: str,
        context: dict[str, object],
        *,
        keep: bool = False,
    ) -> GenerationResult:
        if keep or self.request.keep:
            text += " Everything else kept unchanged."
        # Everything here is shown in a terminal and quotes the user's words.
        text = safe_text(text)
        applied = [safe_text(line) for line in applied]
        skipped = [safe_text(line) for line in skipped]
        warnings = [safe_text(line) for line in self.warnings]
        model_turn = {
            "backend": "local",
            "mode": self.request.mode,
            "instruction": clean_text(self.request.instruction, 2000),
            "region": self.region,
            "applied": applied,
            "skipped": skipped,
            "clauses": self.clauses,
        }
        return GenerationResult(
            image=image,
            model=self.model,
            text=text,
            applied=applied,
            skipped=skipped,
            usage=Usage(input=0, output=0, image=0, thoughts=0),
            usd=0.0,
            model_turn=model_turn,
            warnings=warnings,
            context=dict(context),
        )


def _read_photo(path: Path) -> Image.Image:
    """The user's photo as RGB, or RGBA when it has real transparency."""
    try:
        with Image.open(path) as opened:
            rgb, alpha = _open_rgb(ImageOps.exif_transpose(opened))
    except (OSError, ValueError) as error:
        raise BadInput(f"Cannot read the image {path.name}: {error}") from error
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb


def _read_input(path: Path) -> Image.Image:
    try:
        return load_reference(path)
    except (OSError, ValueError) as error:
        raise BadInput(f"Cannot read the image {path.name}: {error}") from error


def _read_turn(turn: Turn, blobs: BlobStore) -> Image.Image:
    """The image of an earlier round, from its path or else from the blob store."""
    try:
        with Image.open(turn.image) as opened:
            opened.load()
            return opened.copy()
    except OSError:
        pass
    try:
        with Image.open(io.BytesIO(blobs.get_bytes(turn.image_sha))) as opened:
            opened.load()
            return opened.copy()
    except Exception as error:
        raise GenerationError(
            f"The image of round {turn.number} cannot be read ({turn.image})."
        ) from error
