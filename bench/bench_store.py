"""The store: how fast rounds are written, what each costs on disk, opening a tree.

Rounds go through ``Engine.refine`` with a tiny backend that returns a small,
distinct image at once, so the figures are the engine's bookkeeping and the
database, not Pillow or the network. The session grows to 2,000 rounds as a user's
would: branches of up to nine rounds, each new branch starting from an earlier
round. Then the whole tree is opened with ``engine.tree`` (what the interface's
workspace does first).
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from bench.harness import (
    Figure,
    Section,
    folder_bytes,
    median,
    ms,
    repeat,
    scratch_home,
    table,
    timed,
)
from core.config import load_config
from core.engine import Engine
from core.models import Round
from tests.paid_backend import PaidBackend

ROUNDS = 2000
BATCH = 200
DEPTH = 8
OPEN_TARGET_MS = 500.0  # the interface's budget for opening such a session


INSTRUCTIONS = (
    "deepen the shadows under the watch slightly",
    "add a warm cast to the highlights",
    "sharpen the engraving on the lid",
    "move the watch a little to the left",
    "soften the window light",
    "increase the contrast slightly",
)


def run(quick: bool = False) -> Section:
    """Rounds per second, bytes per round, and the time to open 2,000 rounds."""
    opens = 5 if quick else 11
    with scratch_home() as home:
        return _measure(home, opens)


def grow_session(
    engine: Engine, rounds: int, batch: int = BATCH
) -> tuple[Round, list[float]]:
    """A session of ``rounds`` rounds on the tiny backend, the first round and the
    seconds each ``batch`` of rounds took to write.

    Branches stay at most ``DEPTH + 1`` rounds deep; each new one starts from an
    earlier round chosen with a fixed seed, so every run grows the same shape.
    """
    base = engine.new_session("a steel watch on dark walnut", backend="tiny")
    ids = [base.id]
    depth = {base.id: 1}
    pick = random.Random(6)

    def write() -> None:
        for _ in range(min(batch, rounds - len(ids))):
            # Continue the latest branch, or start one from an earlier round.
            parent = ids[-1]
            if depth[parent] > DEPTH:
                parent = ids[pick.randrange(len(ids))]
            text = INSTRUCTIONS[len(ids) % len(INSTRUCTIONS)]
            made = engine.refine(parent, text)
            ids.append(made.id)
            depth[made.id] = depth[parent] + 1

    batches: list[float] = []
    while len(ids) < rounds:
        batches.append(timed(write))
    return base, batches


def _measure(home: Path, opens: int) -> Section:
    engine = Engine(load_config(), backends={"tiny": PaidBackend("tiny")})
    base, batches = grow_session(engine, ROUNDS)
    first_rate = BATCH / batches[0]
    last_rate = BATCH / batches[-1]

    db_path = engine.config.db_path
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_bytes = sum(
        p.stat().st_size for p in db_path.parent.glob(db_path.name + "*") if p.is_file()
    )
    image_bytes = folder_bytes(engine.config.images_dir)
    image_files = sum(1 for p in engine.config.images_dir.rglob("*.png"))

    tree = engine.tree(base.session)
    assert len(tree.rounds) == ROUNDS, len(tree.rounds)
    warm = ms(median(repeat(lambda: engine.tree(base.session), runs=opens)))

    def cold() -> None:
        Engine(load_config()).tree(base.session)

    cold_ms = ms(median(repeat(cold, runs=opens)))
    section = Section(
        f"Store: writing rounds, bytes per round, opening {ROUNDS:,} rounds"
    )
    section.figures = [
        Figure("Rounds written per second (first 200)", first_rate, "rounds/s"),
        Figure(
            f"Rounds written per second (rounds {ROUNDS - BATCH + 1:,}-{ROUNDS:,})",
            last_rate,
            "rounds/s",
        ),
        Figure("Database growth per round", db_bytes / ROUNDS / 1024, "KiB", digits=2),
        Figure(
            "Image folder growth per round (64x48 test image)",
            image_bytes / ROUNDS / 1024,
            "KiB",
            digits=2,
        ),
        Figure(
            f"Opening a {ROUNDS:,}-round session (`engine.tree`, warm)",
            warm,
            target=f"< {OPEN_TARGET_MS:g} ms (interface budget)",
            met=warm < OPEN_TARGET_MS,
        ),
        Figure(
            "Opening it from a new engine (`Engine()` then `tree`)",
            cold_ms,
            target=f"< {OPEN_TARGET_MS:g} ms (interface budget)",
            met=cold_ms < OPEN_TARGET_MS,
        ),
    ]
    rates = [f"{BATCH / seconds:.0f}" for seconds in batches]
    section.tables.append(
        table(
            ["rounds in the session"]
            + [f"{(i + 1) * BATCH:,}" for i in range(len(rates))],
            [["rounds/s over the last 200"] + rates],
        )
    )
    section.notes.append(
        f"Database bytes are `ripen.db` plus its WAL after a checkpoint, divided by "
        f"{ROUNDS:,} rounds; {image_files:,} image files. A real round's image adds "
        "its own size on top (a 2K PNG from the service is about 4-6 MB; see the "
        "request benchmark), stored once however many rounds share it. The first "
        f"200 rounds include first-use costs; branches are at most {DEPTH + 1} "
        "rounds deep, every refinement is linted against its branch."
    )
    return section
