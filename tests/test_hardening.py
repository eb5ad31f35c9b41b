"""Regressions from hostile use: bad bytes, terminal escapes, damaged state, races."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import store
from core.cli import main
from core.config import load_config
from core.engine import Engine
from core.errors import BudgetExceeded, StorageError
from tests.paid_backend import PaidBackend

ESCAPES = "\x1b[2J\x1b]52;c;aGk=\x07\u202e"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.strip()]
    assert len(lines) == 1, captured
    return code, json.loads(lines[0]), captured.err


@pytest.fixture
def base(capsys: pytest.CaptureFixture[str], coffee_path: Path) -> dict[str, Any]:
    code, data, _ = run(capsys, "new", "", "--image", str(coffee_path), "--json")
    assert code == 0
    return dict(data)


def test_text_that_is_not_utf8_is_kept_readable(
    capsys: pytest.CaptureFixture[str], base: dict[str, Any]
) -> None:
    # Python hands undecodable command-line bytes over as lone surrogates.
    code, refined, _ = run(
        capsys, "refine", base["round"], "brighten caf\udce9", "--json"
    )
    assert code == 0
    assert refined["instruction"] == "brighten caf\ufffd"
    code, noted, _ = run(capsys, "note", refined["round"], "t\udce9", "--json")
    assert code == 0 and noted["note"] == "t\ufffd"


def test_a_lone_surrogate_pasted_in_is_replaced_not_a_crash(
    capsys: pytest.CaptureFixture[str], base: dict[str, Any]
) -> None:
    # A surrogate half that never was a byte (a broken paste, a bad template file).
    code, noted, _ = run(capsys, "note", base["round"], "t\ud800x", "--json")
    assert code == 0 and noted["note"] == "t\ufffd\ufffd\ufffdx"


def test_escapes_never_reach_storage_or_the_terminal(
    capsys: pytest.CaptureFixture[str], base: dict[str, Any]
) -> None:
    code, noted, _ = run(
        capsys, "note", base["round"], f"warm{ESCAPES} tones", "--json"
    )
    assert code == 0 and noted["note"] == "warm tones"

    code, _, err = run(
        capsys, "refine", base["round"], f"{ESCAPES}make it pop", "--json"
    )
    assert code == 1
    assert "\x1b" not in err and "\u202e" not in err


def test_model_text_is_stored_without_escapes(coffee_path: Path) -> None:
    class Chatty(PaidBackend):
        def generate(self, *args: Any, **kwargs: Any) -> Any:
            result = super().generate(*args, **kwargs)
            result.text = f"done {ESCAPES}here"
            return result

    engine = Engine(load_config(), backends={"paid": Chatty()})
    made = engine.new_session("a watch", backend="paid")
    assert made.text == "done here"


def test_a_long_note_is_refused(
    capsys: pytest.CaptureFixture[str], base: dict[str, Any]
) -> None:
    code, out, _ = run(capsys, "note", base["round"], "x" * 10_001, "--json")
    assert code == 2 and out["error"]["kind"] == "bad_input"
    assert "10,001" in out["error"]["message"]


def test_a_damaged_database_is_a_message_not_a_traceback(
    capsys: pytest.CaptureFixture[str], base: dict[str, Any], ripen_home: Path
) -> None:
    for suffix in ("-wal", "-shm"):
        (ripen_home / f"ripen.db{suffix}").unlink(missing_ok=True)
    (ripen_home / "ripen.db").write_bytes(b"this is not a database" * 100)
    # A new process, as a user's next command would be: SQLite shares what it
    # knows of an open file between the connections of one process.
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "sessions", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    code, out = done.returncode, json.loads(done.stdout)
    assert "Traceback" not in done.stderr
    assert code == 2
    assert "ripen.db" in out["error"]["message"]
    assert "move it aside" in out["error"]["message"]


def test_a_data_folder_that_is_a_file_is_a_message(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("RIPEN_HOME", str(blocker))
    code, out, _ = run(capsys, "sessions", "--json")
    assert code == 2 and "RIPEN_HOME" in out["error"]["message"]


def test_ids_are_matched_literally_and_ambiguity_is_named(
    capsys: pytest.CaptureFixture[str], base: dict[str, Any]
) -> None:
    code, out, _ = run(capsys, "show", "___", "--json")
    assert code == 2 and out["error"]["kind"] == "not_found"
    code, out, _ = run(capsys, "show", "x" * 60_000, "--json")
    assert code == 2 and out["error"]["kind"] == "not_found"
    assert len(out["error"]["message"]) < 200


def test_alternatives_are_checked_against_a_hard_budget_together() -> None:
    engine = Engine(load_config(), backends={"paid": PaidBackend()})
    base = engine.new_session("a watch", backend="paid", budget=50, hard_budget=True)
    with pytest.raises(BudgetExceeded, match="3 alternatives cost 60"):
        engine.ab(base.id, ["warmer", "cooler", "softer"])
    assert engine.session(base.session).credits == 20


@pytest.mark.parametrize("budget", ["0", "-5", "99999999999999999999", "ten"])
def test_absurd_budgets_are_bad_usage(
    capsys: pytest.CaptureFixture[str], budget: str
) -> None:
    code, out, _ = run(capsys, "new", "a watch", "--budget", budget, "--json")
    assert code == 2 and out["error"]["kind"] == "bad_input"


@pytest.mark.parametrize("name", ["fifo", "folder", "huge"])
def test_template_import_refuses_what_is_not_a_small_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    if name == "fifo":
        os.mkfifo(path)
    elif name == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"#" * 2_000_000)
    code, out, _ = run(capsys, "template", "import", str(path), "--json")
    assert code == 2 and path.name in out["error"]["message"]


def test_export_into_a_path_under_a_file_is_a_message(
    capsys: pytest.CaptureFixture[str], base: dict[str, Any], tmp_path: Path
) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, out, _ = run(
        capsys, "export", base["round"], "--out", str(blocker / "sub"), "--json"
    )
    assert code == 2 and out["error"]["kind"] == "bad_input"


def test_config_values_out_of_range_are_refused(ripen_home: Path) -> None:
    (ripen_home / "config.toml").write_text("budget = -5\n")
    with pytest.raises(Exception, match="budget must be a positive"):
        load_config()
    (ripen_home / "config.toml").write_text("[gemini]\ntimeout = nan\n")
    with pytest.raises(Exception, match="timeout must be between"):
        load_config()
    (ripen_home / "config.toml").write_text("max_megapixels = -1\n")
    with pytest.raises(Exception, match="config.toml: max_megapixels must be above"):
        load_config()


@contextlib.contextmanager
def held_by_another_program(engine: Engine) -> Iterator[None]:
    """The engine's database locked for writing by a second connection."""
    holder = sqlite3.connect(engine.config.db_path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


@pytest.fixture
def quick_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers wait 0.1 s for a lock instead of 30."""
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 100)


@pytest.mark.usefixtures("quick_lock")
def test_a_locked_database_is_a_message_and_changes_nothing() -> None:
    engine = Engine(load_config(), backends={"paid": PaidBackend()})
    base = engine.new_session("a watch", backend="paid")
    with (
        held_by_another_program(engine),
        pytest.raises(StorageError, match="cannot be written"),
    ):
        engine.star(base.id)
    assert not engine.round(base.id).starred
    assert engine.star(base.id).starred  # and it works once the lock is gone


@pytest.mark.usefixtures("quick_lock")
def test_a_round_the_database_refuses_leaves_no_image_and_says_why() -> None:
    engine = Engine(load_config(), backends={"paid": PaidBackend()})
    base = engine.new_session("a watch", backend="paid")
    images = engine.config.images_dir
    before = sorted(p.name for p in images.rglob("*") if p.is_file())
    with (
        held_by_another_program(engine),
        pytest.raises(StorageError, match="try again when it is done"),
    ):
        engine.refine(base.id, "warm the light")
    assert before, "the first round's image is there"
    assert sorted(p.name for p in images.rglob("*") if p.is_file()) == before
    assert engine.session(base.session).rounds == 1
    assert engine.refine(base.id, "warm the light").number == 2
