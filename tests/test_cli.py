"""The ``ripen`` command line contract: JSON shapes, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.cli import main
from tests.badimages import BAD_INPUTS, BAD_REASONS

ROUND_KEYS = {
    "session",
    "round",
    "parent",
    "mode",
    "instruction",
    "quality",
    "backend",
    "model",
    "region",
    "image",
    "width",
    "height",
    "credits",
    "usd",
    "tokens",
    "applied",
    "skipped",
    "text",
    "warnings",
    "session_credits",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must hold one JSON object, got: {out!r}"
    return code, json.loads(lines[0]), err


def test_new_refine_show_tree(
    capsys: pytest.CaptureFixture[str], coffee_path: Path
) -> None:
    code, base, _ = run(capsys, "new", "", "--image", str(coffee_path), "--json")
    assert code == 0
    assert ROUND_KEYS <= set(base)
    assert base["mode"] == "edit" and base["backend"] == "local"
    assert Path(base["image"]).is_absolute() and Path(base["image"]).exists()
    assert set(base["tokens"]) == {"input", "output", "image", "thoughts"}

    code, refined, _ = run(
        capsys, "refine", base["round"], "increase the contrast", "--json"
    )
    assert code == 0
    assert refined["parent"] == base["round"]
    assert any("contrast" in a for a in refined["applied"])
    assert refined["credits"] == 0 and refined["session_credits"] == 0

    code, tree, _ = run(capsys, "tree", base["session"], "--json")
    assert code == 0
    assert set(tree) >= {"session", "title", "budget", "credits", "rounds", "attempts"}
    assert [r["round"] for r in tree["rounds"]] == [base["round"], refined["round"]]
    assert set(tree["rounds"][0]) >= {
        "round",
        "parent",
        "instruction",
        "quality",
        "backend",
        "credits",
        "status",
        "starred",
        "winner",
        "image",
    }

    code, shown, _ = run(capsys, "show", refined["round"], "--json")
    assert shown["round"] == refined["round"] and code == 0


def test_ab_prints_both_rounds(
    capsys: pytest.CaptureFixture[str], coffee_path: Path
) -> None:
    _, base, _ = run(capsys, "new", "", "--image", str(coffee_path), "--json")
    code, pair, _ = run(
        capsys, "ab", base["round"], "make it warmer", "make it cooler", "--json"
    )
    assert code == 0
    assert [r["parent"] for r in pair["rounds"]] == [base["round"]] * 2
    assert [r["instruction"] for r in pair["rounds"]] == [
        "make it warmer",
        "make it cooler",
    ]


def test_promote_star_winner_note(
    capsys: pytest.CaptureFixture[str], coffee_path: Path
) -> None:
    _, base, _ = run(capsys, "new", "", "--image", str(coffee_path), "--json")
    code, final, _ = run(capsys, "promote", base["round"], "--json")
    assert code == 0
    assert final["mode"] == "promote" and final["quality"] == "ultra"
    assert (final["width"], final["height"]) == (1200, 800)
    assert run(capsys, "star", final["round"], "--json")[1]["starred"] is True
    assert run(capsys, "winner", final["round"], "--json")[1]["winner"] is True
    noted = run(capsys, "note", final["round"], "print this one", "--json")[1]
    assert noted["note"] == "print this one"


@pytest.mark.parametrize(
    ("argv", "kind", "code"),
    [
        (["show", "nosuch"], "not_found", 2),
        (["refine", "nosuch", "brighten"], "not_found", 2),
        (["new", "a cat", "--aspect", "7:3"], "bad_input", 2),
        (["new", "a cat", "--quality", "best"], "bad_input", 2),
        (["tree"], "bad_input", 2),
    ],
)
def test_errors_are_json_with_kind_and_exit_code(
    capsys: pytest.CaptureFixture[str], argv: list[str], kind: str, code: int
) -> None:
    got, out, err = run(capsys, *argv, "--json")
    assert got == code
    assert out["error"]["kind"] == kind
    assert out["error"]["message"] and err.strip()


def test_not_understood_is_exit_1_with_attempt(
    capsys: pytest.CaptureFixture[str], coffee_path: Path
) -> None:
    _, base, _ = run(capsys, "new", "", "--image", str(coffee_path), "--json")
    code, out, _ = run(capsys, "refine", base["round"], "make it better", "--json")
    assert code == 1
    assert out["error"]["kind"] == "not_understood"
    assert out["error"]["attempt"]
    _, tree, _ = run(capsys, "tree", base["session"], "--json")
    assert [a["attempt"] for a in tree["attempts"]] == [out["error"]["attempt"]]


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_files_are_refused_and_nothing_is_stored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ripen_home: Path, name: str
) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    bad = BAD_INPUTS[name](folder)
    fragment = BAD_REASONS[name]
    code, out, _ = run(capsys, "new", "edit this", "--image", str(bad), "--json")

    assert code == 2
    assert out["error"]["kind"] == "bad_input"
    assert bad.name in out["error"]["message"]
    assert fragment.lower() in out["error"]["message"].lower()
    assert not list((ripen_home / "images").rglob("*.*"))
    _, listing, _ = run(capsys, "sessions", "--json")
    assert listing == {"sessions": []}


def test_two_processes_refining_one_session_both_save(
    capsys: pytest.CaptureFixture[str], coffee_path: Path
) -> None:
    _, base, _ = run(capsys, "new", "", "--image", str(coffee_path), "--json")
    env = dict(os.environ)
    script = (
        "import sys\n"
        "from core.cli import main\n"
        "for i in range(5):\n"
        "    assert main(['refine', sys.argv[1], f'brighten by {i + 1}%', '--json'])"
        " == 0\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, base["round"]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err

    _, tree, _ = run(capsys, "tree", base["session"], "--json")
    numbers = sorted(r["number"] for r in tree["rounds"])
    assert numbers == list(range(1, 12))
    assert sum(r["parent"] == base["round"] for r in tree["rounds"]) == 10


def test_demo_fresh_builds_a_new_demo_and_keeps_the_old(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, first, _ = run(capsys, "demo", "--no-ui", "--json")
    assert code == 0
    code, again, _ = run(capsys, "demo", "--no-ui", "--json")
    assert again["session"] == first["session"]  # built once
    code, fresh, _ = run(capsys, "demo", "--no-ui", "--fresh", "--json")
    assert code == 0 and fresh["session"] != first["session"]
    assert len(fresh["rounds"]) == len(first["rounds"])
    code, listed, _ = run(capsys, "sessions", "--json")
    ids = {s["session"] for s in listed["sessions"]}
    assert ids == {first["session"], fresh["session"]}


def test_version_and_an_empty_sessions_list_say_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("ripen ")
    assert main(["sessions"]) == 0
    assert "No sessions yet" in capsys.readouterr().out


def test_star_winner_and_note_show_in_the_round_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, made, _ = run(capsys, "new", "a watch on walnut", "--json")
    assert code == 0
    main(["star", made["round"]])
    main(["note", made["round"], "keep the crop"])
    out = capsys.readouterr().out
    assert "  starred\n" in out and "  note: keep the crop\n" in out


def test_the_human_tree_gives_each_round_one_line(
    capsys: pytest.CaptureFixture[str], coffee_path: Path
) -> None:
    _, base, _ = run(capsys, "new", "", "--image", str(coffee_path), "--json")
    _, refined, _ = run(
        capsys,
        "refine",
        base["round"],
        "increase the contrast\nand warm the light",
        "--json",
    )
    assert main(["tree", base["session"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # the title, then one line per round
    assert lines[2].endswith("increase the contrast / and warm the light")
