"""Whatever a user types or hands over, ripen answers in one line, never a traceback.

Broken image files as references, round ids that name nothing, instructions that
are empty, enormous, full of terminal escape sequences, right-to-left, emoji or a
pasted list, and session titles that look like paths: each either works or fails
with a typed error the user can read, and nothing it writes lands outside the
folder the user named. Hypothesis then throws random instructions at the local
backend's parser and at a real refine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.backends.local import parse_instruction
from core.cli import main
from core.config import load_config
from core.engine import Engine
from core.errors import BadInput, NotUnderstood
from core.text import clean_text
from tests.badimages import BAD_INPUTS, BAD_REASONS
from tests.conftest import sample
from tests.reliability.support import REPO, audit, cli, one_json_line

# C0 controls but tab and newline, DEL, the C1 block (U+0080-U+009F, where U+009B
# is a one-character "CSI" escape) and the bidirectional overrides that make a
# terminal show text in an order other than the one stored.
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "coffee-small.png"
    sample("coffee", 96).save(path)
    return path


@pytest.fixture
def base(capsys: pytest.CaptureFixture[str], photo: Path) -> dict[str, str]:
    """A local session from a small photo: its first round's id and session id."""
    made = cli(capsys, "new", "", "--image", str(photo), "--backend", "local")
    assert made.code == 0, made.data
    return {"round": made.data["round"], "session": made.data["session"]}


# --- bad files and bad round ids --------------------------------------------------


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_a_bad_file_among_good_references_stores_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    photo: Path,
    ripen_home: Path,
    name: str,
) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    bad = BAD_INPUTS[name](folder)
    refused = cli(
        capsys, "new", "combine these", "--image", str(photo), "--image", str(bad)
    )

    assert (refused.code, refused.kind) == (2, "bad_input")
    message = refused.data["error"]["message"]
    assert bad.name in message and BAD_REASONS[name].lower() in message.lower()
    # Not even the good photo is kept for a refused request.
    assert not (ripen_home / "images").exists() or audit(ripen_home).files == set()
    assert cli(capsys, "sessions").data == {"sessions": []}


@pytest.mark.parametrize(
    "ref",
    ["nosuch", "", "999", "%", "_", "'; DROP TABLE rounds; --", "../../etc/passwd"],
)
def test_refine_with_a_reference_that_names_nothing(
    capsys: pytest.CaptureFixture[str], base: dict[str, str], ref: str
) -> None:
    before = cli(capsys, "tree", base["session"]).data
    refused = cli(
        capsys,
        "refine",
        base["round"],
        "restore the shadows from round 1",
        "--ref",
        ref,
    )
    assert refused.code == 2 and refused.kind in ("not_found", "bad_input")
    assert refused.data["error"]["message"]
    assert cli(capsys, "tree", base["session"]).data == before


def test_refine_with_a_reference_from_another_session(
    capsys: pytest.CaptureFixture[str], base: dict[str, str], photo: Path
) -> None:
    other = cli(capsys, "new", "", "--image", str(photo), "--backend", "local")
    refused = cli(
        capsys,
        "refine",
        base["round"],
        "restore the shadows from round 1",
        "--ref",
        other.data["round"],
    )
    assert (refused.code, refused.kind) == (2, "bad_input")
    assert "another session" in refused.data["error"]["message"]


# --- odd instructions -------------------------------------------------------------

LONG = ("brighten slightly and add a little contrast, " * 250)[:10_000]
ODD_INSTRUCTIONS = {
    "empty": "",
    "only-spaces": "   \n\t  ",
    "ten-thousand-characters": LONG,
    "control-characters": "brighten\x00 the\x07 image\x08 please\x7f",
    "ansi-colours": "\x1b[31mbrighten\x1b[0m the image, more contrast",
    "title-escape": "\x1b]0;owned\x07more contrast",
    "clear-screen": "\x1b[2J\x1b[Hwarmer light",
    "right-to-left": "הבהר את התמונה, increase the contrast",
    "arabic-mixed": "اجعلها أكثر دفئا and add a vignette",
    "bidi-override": "brighten the \u202eimage",
    "emoji": "🌅 make it warmer 🔥 and add a vignette 👍",
    "pasted-list": "1. brighten\n2. more contrast\n3. add a vignette\n- sharpen\n"
    "* blur the background",
    "windows-line-ends": "warmer\r\nmore contrast\r\n",
    "c1-csi": "brighten the image \x9b2J",
}


@pytest.mark.parametrize("name", list(ODD_INSTRUCTIONS))
def test_odd_instruction_works_or_fails_cleanly(
    capsys: pytest.CaptureFixture[str], base: dict[str, str], name: str
) -> None:
    outcome = cli(capsys, "refine", base["round"], ODD_INSTRUCTIONS[name])

    if outcome.code == 0:
        assert outcome.data["applied"], outcome.data
        assert outcome.data["parent"] == base["round"]
    else:
        assert (outcome.code, outcome.kind) in (
            (1, "not_understood"),
            (2, "bad_input"),
        ), outcome.data
        assert outcome.data["error"]["message"].strip()
    assert outcome.err.count("\n") <= 2  # a message, not a traceback


@pytest.mark.parametrize("name", list(ODD_INSTRUCTIONS))
def test_odd_instruction_reaches_no_terminal_raw(
    capsys: pytest.CaptureFixture[str], base: dict[str, str], name: str
) -> None:
    """What ``ripen tree`` prints for people carries no escape of the user's text."""
    cli(capsys, "refine", base["round"], ODD_INSTRUCTIONS[name])

    assert main(["tree", base["session"]]) == 0
    shown = capsys.readouterr().out
    assert not TERMINAL_UNSAFE.findall(shown)


def test_ten_thousand_characters_take_well_under_a_second_to_read() -> None:
    import time

    started = time.monotonic()
    parsed = parse_instruction(LONG)
    assert time.monotonic() - started < 1.0
    assert {clause.op for clause in parsed.clauses} == {"brightness", "contrast"}


def test_a_pasted_half_megabyte_is_refused_quickly(
    base: dict[str, str], ripen_home: Path
) -> None:
    """A file pasted by mistake must not freeze the terminal for minutes."""
    script = (
        "import sys\n"
        "from core.cli import main\n"
        "text = ('more contrast and ' * 40000)[:500_000]\n"
        "sys.exit(main(['refine', sys.argv[1], text, '--json']))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, base["round"]],
            cwd=REPO,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=6,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("a 500,000-character instruction was still being read after 6 s")
    error = one_json_line(done.stdout)["error"]
    assert (done.returncode, error["kind"]) == (2, "bad_input")
    assert "10,000" in error["message"]
    assert len(audit(ripen_home).rounds) == 1


# --- session titles as file names -------------------------------------------------

ODD_TITLES = {
    "dot-dot-etc": "../../etc",
    "leading-dot": ".bashrc",
    "three-hundred": "x" * 300,
    "absolute": "/etc/passwd",
    "dot-dot": "..",
    "device-name": "CON",
    "separators": "a/b\\c:d*e?f<g>h|i",
    "escape": "\x1b[2J\x1b]0;owned\x07",
    "japanese": "日本語のタイトル",
    "emoji": "🍌 banana split 🍌",
    "option-like": "-rf --force",
    "wide-300": "写" * 300,
}


@pytest.mark.parametrize("name", list(ODD_TITLES))
def test_export_names_stay_inside_the_folder(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    photo: Path,
    ripen_home: Path,
    name: str,
) -> None:
    made = cli(capsys, "new", "", "--image", str(photo), "--title", ODD_TITLES[name])
    assert made.code == 0, made.data
    around = sorted(tmp_path.iterdir())
    out = tmp_path / "exports"

    exported = cli(capsys, "export", made.data["round"], "--out", str(out))

    assert exported.code == 0, exported.data
    written = [Path(exported.data[key]) for key in ("image", "sheet", "report", "data")]
    assert sorted(out.iterdir()) == sorted(written)  # no temporary file left over
    for path in written:
        assert path.parent == out.resolve()
        assert not path.name.startswith((".", "-"))
        assert len(path.name.encode()) <= 255
        assert path.stat().st_size > 0
    assert sorted(p for p in tmp_path.iterdir() if p != out) == around


def test_export_replaces_a_planted_link_not_its_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo: Path
) -> None:
    """A link planted under an export's name is replaced, never written through."""
    made = cli(capsys, "new", "", "--image", str(photo), "--title", "../../etc")
    first = cli(capsys, "export", made.data["round"], "--out", str(tmp_path / "one"))
    names = [Path(first.data[key]).name for key in ("image", "report")]
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me", encoding="utf-8")
    trap = tmp_path / "two"
    trap.mkdir()
    for link in names:
        (trap / link).symlink_to(victim)

    refused = cli(capsys, "export", made.data["round"], "--out", str(trap))
    assert (refused.code, refused.kind) == (2, "bad_input")
    forced = cli(capsys, "export", made.data["round"], "--out", str(trap), "--force")
    assert forced.code == 0, forced.data
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not any((trap / link).is_symlink() for link in names)


def test_export_into_a_file_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, base: dict[str, str]
) -> None:
    occupied = tmp_path / "notes.txt"
    occupied.write_text("mine", encoding="utf-8")
    refused = cli(capsys, "export", base["round"], "--out", str(occupied))
    assert (refused.code, refused.kind) == (2, "bad_input")
    assert occupied.read_text(encoding="utf-8") == "mine"


# --- random instructions ----------------------------------------------------------

VOCABULARY = [
    "brighten",
    "darker",
    "more contrast",
    "warmer",
    "cooler",
    "desaturate",
    "add a vignette",
    "blur the background",
    "sharpen the subject",
    "rotate 90 degrees",
    "flip horizontally",
    "crop to 16:9",
    "move the subject higher",
    "restore the shadows from round 1",
    "keep the background unchanged",
    "very subtle",
    "slightly",
    "dramatic",
    "by 20%",
    "by 1e308%",
    "in the lower right third",
    "only the highlights:",
    "and",
    ",",
    ";",
    ".",
    "\n- ",
    "\n2. ",
    "make it pop",
    "🌅",
    "הבהר",
    "\x1b[31m",
    "\u202e",
]
instructions = st.one_of(
    st.text(max_size=120),
    st.lists(
        st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=8)), max_size=14
    ).map(" ".join),
)


def _words(text: str) -> str:
    return " ".join(text.split())


@settings(max_examples=400, deadline=2000, database=None)
@given(text=instructions)
def test_the_parser_applies_or_reports_every_clause(text: str) -> None:
    # The engine cleans every instruction before a backend sees it, so the
    # parser's real input has no terminal controls.
    text = clean_text(text)
    parsed = parse_instruction(text)

    # A bare list number ("0. ") may vanish; a letter the user typed may not.
    if re.search(r"[^\W\d_]", text):
        assert parsed.clauses or parsed.not_understood
    said = _words(text)
    for clause in parsed.clauses:
        assert 0 <= clause.start <= clause.end <= len(text)
        assert clause.text.rstrip("…") in said
    for quoted in parsed.not_understood:
        words = re.sub(r" \([^()]*\)$", "", quoted).rstrip("…")
        assert words in said or quoted.rstrip("…") in said


def test_refine_applies_or_reports_random_instructions(
    tmp_path: Path, ripen_home: Path
) -> None:
    photo = tmp_path / "tiny.png"
    sample("chelsea", 48).save(photo)
    engine = Engine(load_config(ripen_home))
    first = engine.new_session("", [photo], backend="local")
    outcomes = {"applied": 0, "not_understood": 0, "empty": 0}

    @settings(
        max_examples=80,
        deadline=5000,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(text=instructions)
    def refine(text: str) -> None:
        try:
            made = engine.refine(first.id, text)
        except NotUnderstood as error:
            assert error.attempt and error.message
            outcomes["not_understood"] += 1
        except BadInput as error:
            assert "empty" in error.message
            outcomes["empty"] += 1
        else:
            assert made.applied and made.parent == first.id
            outcomes["applied"] += 1

    refine()
    engine.store.close()
    held = audit(ripen_home)
    assert len(held.rounds) == 1 + outcomes["applied"]
    assert len(held.attempts) == outcomes["not_understood"]
