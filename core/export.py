"""Exporting a branch: the final image, a contact sheet, a report and its data.

A finished branch leaves ripen as four files a person can hand on: the image (a PNG
carries the branch's instructions and models in its text chunks, so the recipe
travels with the picture), a contact sheet of every round on the way with the
alternatives that were tried beside it, a Markdown report and the same facts as
JSON. Nothing written names the API key or a folder on the user's machine: the
files are meant to be shared.

File names come from the session title, which a user typed and may hold anything,
so they are reduced to words joined by hyphens, bounded in length; an existing file
is never replaced unless the caller says so.
"""

from __future__ import annotations

import io
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image, ImageDraw, ImageFont, ImageOps
from PIL.PngImagePlugin import PngInfo

from core.checklist import Checklist, checklist
from core.errors import BadInput
from core.library import write_atomic
from core.meter import format_usd, round_usd
from core.redact import redact

if TYPE_CHECKING:
    from core.engine import Engine
    from core.models import Round, Session

Format = Literal["png", "jpeg", "webp"]
FORMATS: dict[str, str] = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}

MAX_NAME_BYTES = 80
_WORD = re.compile(r"\w+", re.UNICODE)
# Names Windows reserves for devices; a file called ``con.png`` cannot be opened there.
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{kind}{n}" for kind in ("COM", "LPT") for n in range(1, 10)
}

TILE_WIDTH = 240
THUMB_HEIGHT = 160
CAPTION_HEIGHT = 44
TILE_HEIGHT = THUMB_HEIGHT + CAPTION_HEIGHT
GAP = 8
HEADER_HEIGHT = 28
_BACKGROUND = (24, 24, 28)
_TEXT = (232, 232, 232)
_MUTED = (150, 150, 160)
_PATH_BORDER = (235, 190, 70)
_DIM = 0.6  # how far a sibling tile is blended towards the background


@dataclass(frozen=True)
class Tile:
    """Where one round sits on the contact sheet."""

    round: str
    number: int
    row: int
    column: int
    dimmed: bool
    box: tuple[int, int, int, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "number": self.number,
            "row": self.row,
            "column": self.column,
            "dimmed": self.dimmed,
            "box": list(self.box),
        }


@dataclass(frozen=True)
class Export:
    """The files one export wrote."""

    image: Path
    sheet: Path
    report: Path
    data: Path
    tiles: list[Tile] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [self.image, self.sheet, self.report, self.data]

    def to_json(self) -> dict[str, Any]:
        return {
            "image": str(self.image.resolve()),
            "sheet": str(self.sheet.resolve()),
            "report": str(self.report.resolve()),
            "data": str(self.data.resolve()),
            "tiles": len(self.tiles),
        }


# -- names --------------------------------------------------------------------------


def safe_name(title: str, limit: int = MAX_NAME_BYTES) -> str:
    """A file name stem from a title: its words joined by hyphens, at most ``limit``
    bytes of UTF-8, never empty, never hidden, never a path."""
    words = _WORD.findall(unicodedata.normalize("NFKC", title))
    name = "-".join(words).encode("utf-8")[:limit].decode("utf-8", "ignore")
    name = name.strip("-_")
    if not name:
        return "ripen"
    if name.upper() in _RESERVED:
        return f"ripen-{name}"
    return name


def file_names(session: Session, r: Round, fmt: Format) -> dict[str, str]:
    """The four file names an export of round ``r`` writes."""
    stem = f"{safe_name(session.title)}-round-{r.number}"
    return {
        "image": stem + FORMATS[fmt],
        "sheet": f"{stem}-sheet.png",
        "report": f"{stem}.md",
        "data": f"{stem}.json",
    }


# -- the export --------------------------------------------------------------------


def export(
    engine: Engine,
    round_id: str,
    out: Path,
    *,
    fmt: str = "png",
    force: bool = False,
) -> Export:
    """Write the branch ending at ``round_id`` into the folder ``out``."""
    if fmt not in FORMATS:
        raise BadInput(f"Format {fmt!r} is not one of: {', '.join(FORMATS)}.")
    image_format: Format = fmt  # type: ignore[assignment]
    branch = engine.path(round_id)
    final = branch[-1]
    tree = engine.tree(final.session)
    session = tree.session
    names = file_names(session, final, image_format)
    targets = {key: out / name for key, name in names.items()}
    try:
        if out.exists() and not out.is_dir():
            raise BadInput(f"{out.name} is a file, not a folder to export into.")
        existing = [path.name for path in targets.values() if path.exists()]
        in_the_way = [path.name for path in targets.values() if path.is_dir()]
    except (OSError, ValueError) as exc:  # a NUL, a name too long, no permission
        raise BadInput(f"Cannot export into {str(out)!r}: {exc}.") from None
    if in_the_way:
        raise BadInput(
            f"{', '.join(in_the_way)} in {str(out)!r} is a folder, where the export "
            "would write a file; move it or choose another folder."
        )
    if existing and not force:
        raise BadInput(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''} "
            f"in {out.resolve()}; choose to overwrite them (--force) or another "
            "folder."
        )
    if not final.image.exists():
        raise BadInput(f"The image of round {final.number} is missing from the store.")

    checks = checklist(engine, final.id)
    data = report_data(engine, session, branch, tree.rounds, checks, names)
    sheet, tiles = contact_sheet(session, branch, tree.rounds)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    contents = {
        "image": _final_image(final, branch, session, image_format),
        "sheet": _png_bytes(sheet),
        "report": render_markdown(data).encode("utf-8"),
        "data": text.encode("utf-8"),
    }
    written: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for key, data_bytes in contents.items():
            write_atomic(targets[key], data_bytes)
            written.append(targets[key])
    except (OSError, ValueError) as exc:
        # Files this export added go again, so a failure leaves no half an export
        # (files it overwrote under --force are already the new ones).
        for path in written:
            if path.name not in existing:
                path.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise BadInput(f"Cannot write into {str(out)!r}: {reason}.") from None
    return Export(tiles=tiles, **targets)


def _shareable(text: str) -> str:
    """Text fit to leave the machine: no key, no home or data folder."""
    text = redact(text)
    for folder in (os.environ.get("RIPEN_HOME"), str(Path.home())):
        if folder and len(folder) > 1:
            text = text.replace(folder, "~")
    return text


def _chain(branch: list[Round]) -> list[dict[str, Any]]:
    return [
        {
            "number": r.number,
            "mode": r.mode,
            "instruction": _shareable(r.instruction),
            "quality": r.quality,
            "model": r.model,
        }
        for r in branch
    ]


def _final_image(
    final: Round, branch: list[Round], session: Session, fmt: Format
) -> bytes:
    with Image.open(final.image) as stored:
        image = stored.copy()
    buffer = io.BytesIO()
    if fmt == "png":
        chain = _chain(branch)
        models = sorted({r.model for r in branch if r.model})
        info = PngInfo()
        info.add_text("Software", "ripen")
        info.add_itxt("Title", _shareable(session.title))
        info.add_itxt(
            "Description",
            "\n".join(f"{c['number']}. {c['instruction']}" for c in chain),
        )
        info.add_itxt("ripen:instructions", json.dumps(chain, ensure_ascii=False))
        info.add_itxt("ripen:models", json.dumps(models))
        image.save(buffer, format="PNG", pnginfo=info)
    elif fmt == "jpeg":
        image.convert("RGB").save(buffer, format="JPEG", quality=95)
    else:
        image.save(buffer, format="WEBP", quality=95)
    return buffer.getvalue()


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# -- contact sheet ------------------------------------------------------------------


def sheet_rows(branch: list[Round], rounds: list[Round]) -> list[list[Round]]:
    """One row per round of the branch: the round, then its siblings off the path."""
    rows = []
    for r in branch:
        siblings = [
            other
            for other in rounds
            if other.parent == r.parent and other.id != r.id and r.parent is not None
        ]
        rows.append([r, *siblings])
    return rows


def contact_sheet(
    session: Session, branch: list[Round], rounds: list[Round]
) -> tuple[Image.Image, list[Tile]]:
    """The branch as a sheet of tiles, one row per round, alternatives dimmed."""
    rows = sheet_rows(branch, rounds)
    columns = max(len(row) for row in rows)
    width = GAP + columns * (TILE_WIDTH + GAP)
    height = HEADER_HEIGHT + len(rows) * (TILE_HEIGHT + GAP) + GAP
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    header = f"{_shareable(session.title)}: branch to round {branch[-1].number}"
    draw.text((GAP, 7), _fit(draw, header, width - 2 * GAP, font), _TEXT, font=font)
    tiles = []
    for row_number, row in enumerate(rows):
        for column, r in enumerate(row):
            x = GAP + column * (TILE_WIDTH + GAP)
            y = HEADER_HEIGHT + row_number * (TILE_HEIGHT + GAP)
            dimmed = column > 0
            sheet.paste(_tile(r, font, dimmed), (x, y))
            box = (x, y, x + TILE_WIDTH, y + TILE_HEIGHT)
            tiles.append(Tile(r.id, r.number, row_number, column, dimmed, box))
    return sheet, tiles


def _tile(
    r: Round, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, dimmed: bool
) -> Image.Image:
    tile = Image.new("RGB", (TILE_WIDTH, TILE_HEIGHT), _BACKGROUND)
    try:
        with Image.open(r.image) as stored:
            thumb = ImageOps.contain(
                stored.convert("RGB"), (TILE_WIDTH - 8, THUMB_HEIGHT - 8)
            )
        tile.paste(
            thumb,
            ((TILE_WIDTH - thumb.width) // 2, (THUMB_HEIGHT - thumb.height) // 2),
        )
    except OSError:
        pass  # a missing image leaves an empty frame with its caption
    draw = ImageDraw.Draw(tile)
    if not dimmed:
        draw.rectangle((0, 0, TILE_WIDTH - 1, THUMB_HEIGHT - 1), outline=_PATH_BORDER)
    title = f"#{r.number}  {r.stage}  {r.quality}"
    instruction = " ".join(_shareable(r.instruction).split()) or f"({r.mode})"
    draw.text(
        (4, THUMB_HEIGHT + 4), _fit(draw, title, TILE_WIDTH - 8, font), _TEXT, font=font
    )
    draw.text(
        (4, THUMB_HEIGHT + 23),
        _fit(draw, instruction, TILE_WIDTH - 8, font),
        _MUTED,
        font=font,
    )
    if dimmed:
        tile = Image.blend(tile, Image.new("RGB", tile.size, _BACKGROUND), _DIM)
    return tile


def _fit(
    draw: ImageDraw.ImageDraw,
    text: str,
    width: int,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> str:
    """``text`` cut to one line of ``width`` pixels, with an ellipsis when cut."""
    text = " ".join(text.split())  # Pillow measures one line only
    if draw.textlength(text, font=font) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if draw.textlength(text[:middle] + "…", font=font) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


# -- report -------------------------------------------------------------------------


def report_data(
    engine: Engine,
    session: Session,
    branch: list[Round],
    rounds: list[Round],
    checks: Checklist,
    names: dict[str, str],
) -> dict[str, Any]:
    """The facts of an export, as the JSON file holds them."""
    prices = [round_usd(r) for r in branch]
    unknown = sum(1 for usd in prices if usd is None)
    known = sum(usd for usd in prices if usd is not None)
    alternatives = sum(len(row) - 1 for row in sheet_rows(branch, rounds))
    return {
        "session": session.id,
        "title": _shareable(session.title),
        "round": branch[-1].id,
        "number": branch[-1].number,
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        "budget": session.budget,
        "session_credits": session.credits,
        "credits": sum(r.credits for r in branch),
        "usd": None if unknown else round(known, 6),
        "usd_known": round(known, 6),
        "usd_unknown_rounds": unknown,
        "alternatives": alternatives,
        "rounds": [
            {
                "round": r.id,
                "number": r.number,
                "parent": r.parent,
                "mode": r.mode,
                "stage": r.stage,
                "quality": r.quality,
                "backend": r.backend,
                "model": r.model,
                "region": r.region,
                "instruction": _shareable(r.instruction),
                "credits": r.credits,
                "usd": round_usd(r),
                "width": r.width,
                "height": r.height,
                "applied": [_shareable(a) for a in r.applied],
                "skipped": [_shareable(s) for s in r.skipped],
                "warnings": [_warning(w) for w in r.warnings],
                "note": _shareable(r.note),
            }
            for r in branch
        ],
        "checklist": checks.to_json(),
        "files": names,
    }


def _warning(w: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": w.get("code", ""),
        "severity": w.get("severity", "info"),
        "message": _shareable(str(w.get("message", ""))),
    }


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(data: dict[str, Any]) -> str:
    """The export's Markdown report."""
    usd = format_usd(data["usd_known"], data["usd_unknown_rounds"])
    lines = [
        f"# {_cell(data['title'])}",
        "",
        f"Branch to round {data['number']}, exported {data['exported']}.",
        "",
        f"- Credits on this branch: {data['credits']} "
        f"(session: {data['session_credits']} of {data['budget']})",
        f"- Dollars on this branch: {usd}",
        f"- Alternatives tried beside the branch: {data['alternatives']}",
        f"- Image: {data['files']['image']}; contact sheet: {data['files']['sheet']}",
        "",
        "## Rounds",
        "",
        "| # | Stage | Tier | Model | Credits | Dollars | Instruction |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in data["rounds"]:
        dollars = "unknown" if r["usd"] is None else f"${r['usd']:.3f}"
        lines.append(
            f"| {r['number']} | {r['stage']} | {r['quality']} | {_cell(r['model'])} "
            f"| {r['credits']} | {dollars} | {_cell(r['instruction']) or '-'} |"
        )
    warned = [(r["number"], w) for r in data["rounds"] for w in r["warnings"]]
    lines += ["", "## Warnings", ""]
    lines += [
        f"- Round {number}: {w['code']} ({w['severity']}): {_cell(w['message'])}"
        for number, w in warned
    ] or ["None."]
    noted = [(r["number"], r["note"]) for r in data["rounds"] if r["note"]]
    lines += ["", "## Notes", ""]
    lines += [f"- Round {number}: {_cell(note)}" for number, note in noted] or ["None."]
    checks = data["checklist"]
    lines += ["", f"## Checklist ({checks['done']} of {checks['total']})", ""]
    for item in checks["items"]:
        mark = "x" if item["done"] else " "
        where = f" (round {item['number']})" if item["done"] else ""
        lines.append(f"- [{mark}] {item['label']}{where}")
    return "\n".join(lines) + "\n"
