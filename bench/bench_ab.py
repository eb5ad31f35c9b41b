"""A/B concurrency: two alternatives of one round run at the same time.

``engine.ab(round, [a, b])`` against a loopback server that takes one second before
answering each image, against the same two refinements one after the other.
Target: the pair in under 1.3 s, where the sequence takes about 2 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from bench.harness import (
    Figure,
    Section,
    distinct_pngs,
    interleaved,
    loopback_gemini,
    median,
    scratch_home,
)

DELAY = 1.0
TARGET_S = 1.3
SIDE = 1024
ALTERNATIVES = ("make the light warmer", "make the light cooler")


def run(quick: bool = False) -> Section:
    """Median wall time of the concurrent pair and of the two in sequence."""
    runs = 3 if quick else 7
    with scratch_home(), loopback_gemini() as server:
        return _measure(server, runs)


def _measure(server: object, runs: int) -> Section:
    from core.engine import Engine
    from tests.gemini_server import GeminiServer, Recorded, slow, success

    assert isinstance(server, GeminiServer)
    pngs: Iterator[bytes] = iter(distinct_pngs(SIDE, SIDE, 4 * (runs + 1) + 1))
    engine = Engine()
    server.push(success(png=next(pngs)))
    base = engine.new_session("a cup of coffee on a wooden table", backend="gemini")

    # When each request reaches the server splits a pair's time into the part
    # before the requests are out, the server's wait, and the part after it.
    arrivals: list[float] = []
    record = server.record

    def stamped(request: Recorded) -> None:
        arrivals.append(time.perf_counter())
        record(request)

    server.record = stamped  # type: ignore[method-assign]
    before: list[float] = []
    after: list[float] = []

    def concurrent() -> None:
        server.push(*(slow(success(png=next(pngs)), DELAY) for _ in ALTERNATIVES))
        arrivals.clear()
        start = time.perf_counter()
        results = engine.ab(base.id, list(ALTERNATIVES))
        end = time.perf_counter()
        assert all(not isinstance(r, Exception) for r in results), results
        before.append(max(arrivals) - start)
        after.append(end - max(arrivals) - DELAY)

    def in_sequence() -> None:
        for text in ALTERNATIVES:
            server.push(slow(success(png=next(pngs)), DELAY))
            engine.refine(base.id, text)

    samples = interleaved(
        {"ab": concurrent, "sequence": in_sequence}, runs=runs, warmup=1
    )
    pair = median(samples["ab"])
    sequence = median(samples["sequence"])
    section = Section("A/B concurrency (two alternatives, 1 s per image)")
    section.figures = [
        Figure(
            "`engine.ab` with two alternatives, wall time",
            pair,
            "s",
            target=f"< {TARGET_S:g} s",
            met=pair < TARGET_S,
            digits=2,
        ),
        Figure("The same two refinements in sequence", sequence, "s", digits=2),
        Figure("Speed-up", sequence / pair, "x", digits=2),
        Figure(
            "Time above the server's own 1 s (the pair)",
            (pair - DELAY) * 1000,
            "ms",
        ),
    ]
    section.notes.append(
        f"Where a pair's time goes (medians): {1000 * median(before):.0f} ms from "
        "the call until both requests have reached the server (building two SDK "
        "clients and two requests), the server's 1 s, then "
        f"{1000 * median(after):.0f} ms until both rounds are stored (reading, "
        "decoding and writing two PNGs). Both are the per-round overhead measured "
        "in the engine benchmark, paid twice by two threads on two cores shared "
        "with other work."
    )
    section.notes.append(
        f"{runs} interleaved runs of each; the loopback server waits {DELAY:g} s "
        f"before each answer (a new {SIDE}x{SIDE} PNG) and serves requests in "
        "parallel threads, as the service does."
    )
    return section
