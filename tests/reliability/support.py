"""What the reliability tests share: running the CLI, and auditing a data folder.

The audit is the heart of the suite. After anything has gone wrong (a killed
process, a fault, a race) it checks the data folder the way a careful user would
want it checked: the database is intact, every round names an image that exists
and holds exactly the bytes its name promises, and no image file anywhere is a
half-written one masquerading under a real name.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.cli import main

REPO = Path(__file__).resolve().parents[2]
TEMPORARY_PREFIX = ".tmp-"


@dataclass(frozen=True)
class Outcome:
    """One CLI run: exit code, its single JSON object and what went to stderr."""

    code: int
    data: dict[str, Any]
    err: str

    @property
    def kind(self) -> str | None:
        error = self.data.get("error")
        return error["kind"] if isinstance(error, dict) else None


def one_json_line(out: str) -> dict[str, Any]:
    """The one JSON object a ``--json`` command prints; fails on anything else."""
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must hold exactly one JSON line, got {out!r}"
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """Run ``ripen ARGV --json`` in this process."""
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return Outcome(code, one_json_line(out), err)


def cli_process(
    *argv: str, timeout: float = 60, env: dict[str, str] | None = None
) -> Outcome:
    """Run ``ripen ARGV --json`` as a separate process, as a second terminal would."""
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", *argv, "--json"],
        cwd=REPO,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Outcome(done.returncode, one_json_line(done.stdout), done.stderr)


def write_config(home: Path, **gemini: float) -> None:
    """A ``config.toml`` with the given ``[gemini]`` settings (short waits in tests)."""
    lines = ["[gemini]", *(f"{name} = {value}" for name, value in gemini.items())]
    (home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Audit:
    """What a data folder holds once it has been checked."""

    sessions: int
    rounds: list[dict[str, Any]]
    attempts: list[dict[str, Any]]
    files: set[Path]
    temporary: list[Path] = field(default_factory=list)

    @property
    def round_ids(self) -> list[str]:
        return [row["id"] for row in self.rounds]


def audit(home: Path) -> Audit:
    """Check a data folder and return what it holds.

    Fails unless ``PRAGMA integrity_check`` says ok, foreign keys hold, every round
    and input names an image whose SHA-256 matches its name, and every image file
    that is not a temporary one is named by its own hash. Temporary files are
    returned, not refused: a crash may leave one, and the engine must ignore it.
    """
    conn = sqlite3.connect(home / "ripen.db", timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.row_factory = sqlite3.Row
        rounds = [
            dict(row)
            for row in conn.execute(
                "SELECT id, session, number, parent, image, credits FROM rounds "
                "ORDER BY session, number"
            )
        ]
        attempts = [dict(row) for row in conn.execute("SELECT * FROM attempts")]
        inputs = [
            row["image"] for row in conn.execute("SELECT image FROM round_inputs")
        ]
        sessions = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    finally:
        conn.close()

    images = home / "images"
    files = {p for p in images.rglob("*") if p.is_file()} if images.exists() else set()
    temporary = sorted(p for p in files if p.name.startswith(TEMPORARY_PREFIX))
    for path in files - set(temporary):
        assert sha256(path) == path.stem, f"{path.name} does not hold its own bytes"
    named = {p.stem for p in files - set(temporary)}
    for sha in [row["image"] for row in rounds] + inputs:
        assert sha in named, f"image {sha[:12]} named by a row is missing"
    return Audit(sessions, rounds, attempts, files - set(temporary), temporary)
