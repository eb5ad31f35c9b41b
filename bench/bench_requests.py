"""Request growth: what each round of a ten-round 2K branch sends to the service.

The SDK's own chat (``client.chats.create`` then ``send_message``) resends the whole
conversation, every image included, so its requests grow by an image or more a
round. ripen builds each request from the branch under a context policy (``full``,
``window:3`` the default, ``fresh``) and a byte budget. The same ten 2048x2048 PNGs
are served to every contender by the loopback server, which records the bytes it
receives. Targets: under the default policy round ten's request is at most 1.2 times
round three's; no ripen request passes the byte budget; the chat's grows every round.

Round *n* is the request that produces the branch's *n*-th image: round 1 is the
session's first (a prompt alone), rounds 2 to 10 refine the round before.
"""

from __future__ import annotations

from typing import Any

from bench.harness import (
    Figure,
    Section,
    distinct_pngs,
    loopback_gemini,
    scratch_home,
    table,
)

SIDE = 2048
MODEL = "gemini-2.5-flash-image"
POLICIES = ("full", "window:3", "fresh")
DEFAULT_POLICY = "window:3"
TARGET_RATIO = 1.2
PROMPT = "A steel watch on a dark walnut desk, soft window light from the left"
INSTRUCTIONS = (
    "move the watch into the lower right third",
    "soften the window light and lift the shadows a little",
    "add a warm cast to the highlights",
    "deepen the shadows under the watch case",
    "sharpen the engraving on the lid",
    "add texture to the leather strap",
    "increase the contrast slightly",
    "add a gentle vignette",
    "very subtle increase in saturation",
)


def run(quick: bool = False) -> Section:
    """Bytes and images per request, for the plain chat and each ripen policy.

    ``quick`` changes nothing: the figure needs all ten rounds.
    """
    with scratch_home(), loopback_gemini() as server:
        pngs = distinct_pngs(SIDE, SIDE, 1 + len(INSTRUCTIONS))
        rows: dict[str, list[tuple[int, int]]] = {"SDK chat": _chat(server, pngs)}
        budget = 0
        for policy in POLICIES:
            rows[f"ripen {policy}"], budget = _ripen(server, pngs, policy)
    return _section(rows, budget, len(pngs[0]))


def _sent(server: Any, since: int) -> list[tuple[int, int]]:
    """Bytes and inline images of each request the server got after ``since``."""
    sent = []
    for request in server.requests[since:]:
        images = sum(
            1
            for content in request.json.get("contents", [])
            for part in content.get("parts", [])
            if "inlineData" in part
        )
        sent.append((len(request.body), images))
    return sent


def _chat(server: Any, pngs: list[bytes]) -> list[tuple[int, int]]:
    from google import genai
    from google.genai import types

    from tests.gemini_server import FAKE_KEY, success

    since = len(server.requests)
    options = types.HttpOptions(base_url=server.url, api_version="v1beta")
    client = genai.Client(api_key=FAKE_KEY, http_options=options)
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    chat = client.chats.create(model=MODEL, config=config)
    for png, text in zip(pngs, (PROMPT, *INSTRUCTIONS), strict=True):
        server.push(success(png=png))
        chat.send_message(text)
    client.close()
    return _sent(server, since)


def _ripen(
    server: Any, pngs: list[bytes], policy: str
) -> tuple[list[tuple[int, int]], int]:
    from core.engine import Engine
    from tests.gemini_server import success

    since = len(server.requests)
    engine = Engine()
    server.push(success(png=pngs[0]))
    current = engine.new_session(PROMPT, backend="gemini", context_policy=policy)
    for png, text in zip(pngs[1:], INSTRUCTIONS, strict=True):
        server.push(success(png=png))
        current = engine.refine(current.id, text)
    return _sent(server, since), engine.config.gemini.request_budget_bytes


def _section(
    rows: dict[str, list[tuple[int, int]]], budget: int, png_bytes: int
) -> Section:
    section = Section("Request growth over a ten-round 2K branch")
    default = rows[f"ripen {DEFAULT_POLICY}"]
    ratio = default[9][0] / default[2][0]
    chat = [size for size, _ in rows["SDK chat"]]
    grows = all(b > a for a, b in zip(chat, chat[1:], strict=False))
    section.figures.append(
        Figure(
            f"{DEFAULT_POLICY} (default): round 10 / round 3 request bytes",
            ratio,
            "x",
            target=f"<= {TARGET_RATIO:g}x",
            met=ratio <= TARGET_RATIO,
            digits=2,
        )
    )
    for policy in POLICIES:
        largest = max(size for size, _ in rows[f"ripen {policy}"])
        section.figures.append(
            Figure(
                f"ripen {policy}: largest request",
                largest / 1e6,
                "MB",
                target=f"<= {budget / 1e6:g} MB budget",
                met=largest <= budget,
                digits=2,
            )
        )
    section.figures.append(
        Figure(
            "SDK chat: request grows every round",
            chat[-1] / 1e6,
            "MB at round 10",
            target="grows every round",
            met=grows,
            digits=1,
        )
    )
    section.figures.append(
        Figure(
            "SDK chat / ripen default, bytes sent over ten rounds",
            sum(chat) / sum(size for size, _ in default),
            "x",
            digits=2,
        )
    )
    header = ["round"] + [f"{name} MB (images)" for name in rows]
    body = [
        [str(number)]
        + [
            f"{_mb(sent[number - 1][0])} ({sent[number - 1][1]})"
            for sent in rows.values()
        ]
        for number in range(1, 11)
    ]
    body.append(
        ["total"] + [f"{sum(s for s, _ in sent) / 1e6:.1f}" for sent in rows.values()]
    )
    section.tables.append(table(header, body))
    section.notes.append(
        f"Each round's image is a distinct {SIDE}x{SIDE} PNG of "
        f"{png_bytes / 1e6:.1f} MB ({4 * png_bytes / 3e6:.1f} MB as base64 in JSON). "
        "Bytes are the request bodies as the loopback server received them; images "
        "count the inline image parts."
    )
    section.notes.append(_why(default, budget, png_bytes))
    return section


def _why(default: list[tuple[int, int]], budget: int, png_bytes: int) -> str:
    """What sets the default policy's request size, from the measured rows."""
    encoded = 4 * png_bytes / 3
    fits = int(budget // encoded)
    third, tenth = default[2][1], default[9][1]
    flat_from = next(
        number
        for number in range(1, 11)
        if all(images == tenth for _, images in default[number - 1 :])
    )
    text = (
        f"Round 3 carries {third} image(s), round 10 {tenth}. At "
        f"{encoded / 1e6:.1f} MB an image the {budget / 1e6:g} MB budget holds "
        f"{fits}; from round {flat_from} on every request carries {tenth} and the "
        f"size is flat (round 10 / round {flat_from}: "
        f"{default[9][0] / default[flat_from - 1][0]:.2f}x)."
    )
    if fits < 4:
        text += (
            " The window's three rounds plus the folded turn's image would be four, "
            "so with 2K images the budget, not the window, decides, and `full` and "
            "`window:3` send the same bytes."
        )
    if tenth / max(third, 1) > TARGET_RATIO:
        text += (
            f" Since round 3 can carry only {third} image(s) (round 1 is a prompt, "
            f"round 2 one refinement), {TARGET_RATIO:g}x at round 10 needs a policy "
            f"that sends at most {int(TARGET_RATIO * third)} image(s) a request."
        )
    return text


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f}" if size >= 10_000 else f"{size / 1e6:.4f}"
