"""Several writers on one session keep every round, and nobody sees "locked".

A user may refine from two terminals at once, run a script beside the interface, or
start an A/B test whose alternatives finish together. Each writer must get its round
saved, round numbers must stay unique and gapless, each writer's branch must keep
its own parent links, and SQLite's "database is locked" must never reach the user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.config import load_config
from core.engine import Engine
from core.models import Round
from tests.conftest import sample
from tests.reliability.support import REPO, audit, cli

ROUNDS_EACH = 20

# One process refining its own branch ROUNDS_EACH times, each round on the last,
# starting when the go-file appears so that the writers really do overlap.
_WRITER = """
import contextlib, io, json, sys, time
from pathlib import Path
from core.cli import main
go, parent = Path(sys.argv[1]), sys.argv[2]
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
for step in range(int(sys.argv[3])):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["refine", parent, f"brighten by {step % 9 + 1}%", "--json"])
    print(out.getvalue().strip(), flush=True)
    if code != 0:
        sys.exit(code)
    parent = json.loads(out.getvalue())["round"]
"""


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A small photograph: these tests measure locking, not pixels."""
    path = tmp_path / "coffee-small.png"
    sample("coffee", 96).save(path)
    return path


def chain_ok(rounds: list[Round] | list[dict[str, object]], first: str) -> bool:
    """Whether ``rounds`` (in order) form one chain hanging from ``first``."""
    parents = [r.parent if isinstance(r, Round) else r["parent"] for r in rounds]
    ids = [r.id if isinstance(r, Round) else r["round"] for r in rounds]
    return parents == [first, *ids[:-1]]


def test_two_processes_refining_one_session(
    capsys: pytest.CaptureFixture[str], photo: Path, ripen_home: Path, tmp_path: Path
) -> None:
    base = cli(capsys, "new", "", "--image", str(photo), "--backend", "local")
    assert base.code == 0, base.data
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WRITER,
                str(go),
                base.data["round"],
                str(ROUNDS_EACH),
            ],
            cwd=REPO,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(1.0)  # both imported and waiting
    go.touch()
    outputs = [writer.communicate(timeout=240) for writer in writers]

    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "locked" not in err.lower() and "Traceback" not in err
        rounds = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert len(rounds) == ROUNDS_EACH
        assert chain_ok(rounds, base.data["round"])

    held = audit(ripen_home)
    numbers = [row["number"] for row in held.rounds]
    assert numbers == list(range(1, 2 * ROUNDS_EACH + 2))


def test_four_threads_refining_one_session(photo: Path, ripen_home: Path) -> None:
    engine = Engine(load_config(ripen_home))
    base = engine.new_session("", [photo], backend="local")
    made: dict[str, list[Round]] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(label: str) -> None:
        rounds: list[Round] = []
        try:
            start.wait(timeout=10)
            parent = base.id
            for step in range(ROUNDS_EACH):
                amount = step % 9 + 1
                made_round = engine.refine(parent, f"warmer by {amount}%")
                rounds.append(made_round)
                parent = made_round.id
        except BaseException as exc:  # any failure at all is the test's business
            failures.append(exc)
        made[label] = rounds

    threads = [
        threading.Thread(target=writer, args=(label,), daemon=True)
        for label in ("a", "b", "c", "d")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads)

    assert failures == []
    for rounds in made.values():
        assert len(rounds) == ROUNDS_EACH
        assert chain_ok(rounds, base.id)
    held = audit(ripen_home)
    numbers = [row["number"] for row in held.rounds]
    assert numbers == list(range(1, 4 * ROUNDS_EACH + 2))
    assert engine.session(base.session).rounds == 4 * ROUNDS_EACH + 1


def test_first_use_from_four_processes_at_once(
    tmp_path: Path, photo: Path, ripen_home: Path
) -> None:
    """Four commands on a data folder that does not exist yet all create it safely."""
    go = tmp_path / "go"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from core.cli import main\n"
        "go = Path(sys.argv[1])\n"
        "deadline = time.monotonic() + 30\n"
        "while not go.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.002)\n"
        "sys.exit(main(['new', '', '--image', sys.argv[2], '--json']))\n"
    )
    fresh = ripen_home / "fresh"
    env = dict(os.environ, RIPEN_HOME=str(fresh))
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(go), str(photo)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(1.0)
    go.touch()
    for starter in starters:
        _, err = starter.communicate(timeout=120)
        assert starter.returncode == 0, err
        assert "locked" not in err.lower()
    held = audit(fresh)
    assert held.sessions == 4 and len(held.rounds) == 4
    # The same photo was stored once, however many sessions started from it.
    assert len(held.files) == 1
