"""Engine overhead: what one round costs above the bare SDK call it wraps.

A refinement through :class:`core.engine.Engine` (lint, the branch query, the
request built from stored turns, the call, the answer read, the image and row
written) is timed against one plain ``client.models.generate_content`` call of the
google-genai SDK, with the same contents, to the same loopback server answering at
once with a 1024x1024 PNG. The two alternate in one process; the difference of the
medians is the engine's overhead. Target: under 30 ms per round.

Where the time goes is shown twice: the costs the engine adds that can be timed on
their own (building an SDK client per call, decoding the received PNG), and the top
of a cProfile of a few engine rounds.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import os
import pstats
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.harness import (
    Figure,
    Section,
    distinct_pngs,
    interleaved,
    loopback_gemini,
    median,
    ms,
    repeat,
    scratch_home,
    table,
    timed,
)

TARGET_MS = 30.0
SIDE = 1024
MODEL = "gemini-2.5-flash-image"
_ROOT = str(Path(__file__).resolve().parent.parent) + os.sep
INSTRUCTION = "warm the light slightly and deepen the shadows under the cup"


def run(quick: bool = False) -> Section:
    """Median engine round vs median bare SDK call, their ratio and difference."""
    runs = 7 if quick else 25
    profiled = 3 if quick else 8
    with scratch_home(), loopback_gemini() as server:
        return _measure(server, runs, profiled)


def _measure(server: object, runs: int, profiled: int) -> Section:
    from google import genai
    from google.genai import types
    from PIL import Image

    from core.engine import Engine
    from tests.gemini_server import FAKE_KEY, GeminiServer, success

    assert isinstance(server, GeminiServer)
    # One fresh image per request, for both sides: a repeated image would let the
    # store skip its write.
    needed = 2 * runs + 2 * profiled + 8
    pngs: Iterator[bytes] = iter(distinct_pngs(SIDE, SIDE, needed))

    engine = Engine()
    server.push(success(png=next(pngs)))
    base = engine.new_session("a cup of coffee on a wooden table", backend="gemini")

    def through_engine() -> None:
        server.push(success(png=next(pngs)))
        engine.refine(base.id, INSTRUCTION)

    # The bare call sends exactly what the engine sent for the same refinement.
    through_engine()
    sent = server.requests[-1].json
    contents = [
        types.Content.model_validate_json(json.dumps(item)) for item in sent["contents"]
    ]
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    options = types.HttpOptions(base_url=server.url, api_version="v1beta")
    client = genai.Client(api_key=FAKE_KEY, http_options=options)

    def bare_sdk() -> None:
        server.push(success(png=next(pngs)))
        response = client.models.generate_content(
            model=MODEL, contents=contents, config=config
        )
        assert response.parts is not None and response.parts[-1].inline_data

    samples = interleaved(
        {"engine": through_engine, "bare": bare_sdk}, runs=runs, warmup=2
    )
    engine_ms = ms(median(samples["engine"]))
    bare_ms = ms(median(samples["bare"]))
    overhead = engine_ms - bare_ms
    request_mb = len(server.requests[-1].body) / 1e6

    # The costs the engine adds that can be timed on their own.
    def new_client() -> None:
        made = genai.Client(api_key=FAKE_KEY, http_options=options)
        made.close()
        asyncio.run(made.aio.aclose())

    received = next(pngs)

    def decode_png() -> None:
        with Image.open(io.BytesIO(received)) as image:
            image.load()

    client_ms = ms(median(repeat(new_client, runs=max(5, runs // 2))))
    decode_ms = ms(median(repeat(decode_png, runs=max(5, runs // 2))))
    phases = _phases(through_engine, profiled)
    profile = _profile(through_engine, profiled)
    client.close()

    section = Section("Engine overhead (gemini backend vs bare SDK call)")
    section.figures = [
        Figure("Engine round, median", engine_ms),
        Figure("Bare `generate_content`, median", bare_ms),
        Figure("Ratio engine / bare", engine_ms / bare_ms, "x", digits=2),
        Figure(
            "Overhead per round (difference of medians)",
            overhead,
            target=f"< {TARGET_MS:g} ms",
            met=overhead < TARGET_MS,
        ),
    ]
    section.tables.append(
        table(
            ["Part of the overhead, timed alone", "median"],
            [
                [
                    "a new `genai.Client` per call (built, closed, async closed)",
                    f"{client_ms:.1f} ms",
                ],
                [
                    f"decoding the received {SIDE}x{SIDE} PNG in full",
                    f"{decode_ms:.1f} ms",
                ],
            ],
        )
    )
    section.tables.append(
        table(
            [f"Step of an engine round (mean of {profiled}, timers on)", "ms"],
            [[label, f"{value:.1f}"] for label, value in phases],
        )
    )
    section.tables.append(
        f"cProfile of {profiled} engine rounds, the functions with the most own "
        "time:\n\n```\n" + profile + "\n```"
    )
    section.notes.append(
        f"{runs} interleaved runs of each; both sides send the same "
        f"{request_mb:.1f} MB request (the parent round's {SIDE}x{SIDE} PNG and its "
        "turns) and receive a new 1024x1024 PNG from a loopback server that answers "
        "at once; the bare client is built once and reused, as an SDK user would."
    )
    if overhead >= TARGET_MS:
        section.notes.append(_causes(phases, client_ms, decode_ms))
    return section


def _causes(phases: list[tuple[str, float]], client_ms: float, decode_ms: float) -> str:
    """A paragraph naming what the overhead is made of, from the measured steps."""
    steps = dict(phases)
    causes = []
    built = steps["build a new SDK client"]
    if built > 5:
        causes.append(
            "the gemini backend builds a new SDK client for every call "
            f"(core/backends/gemini/client.py `_client`, {built:.0f} ms a round; "
            f"{client_ms:.0f} ms timed alone). Nearly all of that is the SDK "
            "creating two SSL contexts (`ssl.create_default_context` loading the "
            "CA bundle, once for httpx and once for websockets) even for a "
            "plain-HTTP base URL; one client kept per backend and closed on "
            "shutdown would remove it"
        )
    stored = steps["decode and store the image"]
    if stored > 5:
        causes.append(
            "the engine decodes the received PNG in full before storing it "
            f"(core/engine.py `_store_image`, {stored:.0f} ms a round; a full "
            f"decode alone is {decode_ms:.0f} ms), although the answer reader has "
            "already checked it chunk by chunk (every CRC, to the end marker) and "
            "the size is in the header"
        )
    small = (
        steps["whole round"]
        - steps["send and wait (incl. the new client)"]
        - steps["decode and store the image"]
    )
    text = (
        "Why the target is missed: " + "; next, ".join(causes) + "." if causes else ""
    )
    return text + (
        " The other steps together (lint, branch query, request building, reading "
        "the answer, keeping the reply's parts, the database transaction) take "
        f"{small:.0f} ms."
    )


def _phases(call: Callable[[], None], rounds: int) -> list[tuple[str, float]]:
    """Milliseconds per round spent in each step of an engine round.

    Each step's function is wrapped with a timer for ``rounds`` calls (not during
    the headline timing); what no step covers is reported as the remainder.
    """
    from core import engine as engine_module
    from core.backends.gemini import client as client_module
    from core.backends.gemini import context as context_module

    steps: list[tuple[str, object, str]] = [
        ("lint the instruction", engine_module, "lint"),
        ("read the round, session and branch", engine_module.Engine, "path"),
        ("build the request from stored turns", context_module, "plan_request"),
        ("build a new SDK client", client_module.GeminiBackend, "_client"),
        ("send and wait (incl. the new client)", client_module.GeminiBackend, "_call"),
        ("parse the raw answer body", client_module, "parse_body"),
        ("read the answer (base64, PNG check)", client_module, "read_answer"),
        (
            "keep the reply's parts (hash, write)",
            client_module.GeminiBackend,
            "_result",
        ),
        ("decode and store the image", engine_module.Engine, "_store_image"),
    ]
    spent: dict[str, float] = {label: 0.0 for label, _, _ in steps}
    originals = [(owner, name, getattr(owner, name)) for _, owner, name in steps]

    def timer(label: str, original: Callable[..., object]) -> Callable[..., object]:
        def timed_call(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - start

        return timed_call

    for (label, owner, name), (_, _, original) in zip(steps, originals, strict=True):
        setattr(owner, name, timer(label, original))
    total = 0.0
    try:
        for _ in range(rounds):
            total += timed(call)
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    rows = [(label, ms(seconds) / rounds) for label, seconds in spent.items()]
    # The client is built inside "send and wait"; count it once.
    covered = sum(v for label, v in rows if label != "build a new SDK client")
    rows.append(
        ("everything else (rows, transaction, progress)", ms(total) / rounds - covered)
    )
    rows.append(("whole round", ms(total) / rounds))
    return rows


def _profile(call: Callable[[], None], rounds: int) -> str:
    """The functions with the most own time in ``rounds`` calls, as plain text."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = []
    for (path, line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        calls, _, own, cumulative, _ = row
        entries.append((own, cumulative, calls, _where(path, line, name)))
    entries.sort(reverse=True)
    lines = [f"{'own ms':>8} {'cum ms':>8} {'calls':>6}  function (per round)"]
    for own, cumulative, calls, where in entries[:15]:
        lines.append(
            f"{1000 * own / rounds:8.1f} {1000 * cumulative / rounds:8.1f} "
            f"{calls / rounds:>6.0f}  {where}"
        )
    return "\n".join(lines)


def _where(path: str, line: int, name: str) -> str:
    if path == "~":
        return name
    for marker in ("site-packages" + os.sep, _ROOT, "lib" + os.sep):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line} {name}"


if __name__ == "__main__":
    from bench.run import main

    main(["--only", "engine"])
