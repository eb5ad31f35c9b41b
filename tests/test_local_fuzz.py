"""Any text at all, fed to the parser and to a refine: understood or refused, no crash.

The instruction box takes whatever a user types or pastes: control characters,
emoji, right-to-left scripts, numbers out of range, a whole document. The parser
must always answer, and a refine must either apply clauses or raise NotUnderstood.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.backends.base import GenerationRequest, Turn
from core.backends.local import MAX_CHANGES, LocalBackend, parse_instruction
from core.cancel import CancelToken, no_progress
from core.errors import NotUnderstood
from tests.conftest import sample
from tests.test_local_operations import MemoryBlobs

VOCABULARY = [
    "increase", "decrease", "more", "less", "very subtle", "slightly", "strongly",
    "dramatic", "contrast", "brightness", "saturation", "warmer", "cooler", "cast",
    "teal", "shadows", "highlights", "midtones", "sharpen", "blur", "bokeh",
    "vignette", "grain", "noise", "black and white", "sepia", "rotate", "degrees",
    "flip", "crop", "zoom in", "zoom out", "move", "up", "left", "centre", "make it",
    "16:9", "0:0", "999999:1", "aspect", "restore", "from round 7", "from round 1",
    "the base image", "reference", "background", "subject", "lower right third",
    "box:", "by 20%", "by 99999999%", "-45", "1e308", "keep everything else",
    "unchanged", "and", ",", ";", ".", ":", "\n", "1.", "-", "שלום", "مرحبا", "🙂",
    "\u202e", "\x00", "\x1b[31m", "\t", "ﬀ", "İ",
]  # fmt: skip

instructions = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=12)), max_size=40
    ).map(" ".join),
)

_IMAGE: dict[str, Path] = {}


def small_turn(folder: Path) -> Turn:
    """A small real photograph as round 1, written once per test session."""
    if "path" not in _IMAGE:
        image = sample("chelsea", 64)
        path = folder / "chelsea-64.png"
        image.save(path)
        _IMAGE["path"] = path
    path = _IMAGE["path"]
    return Turn("r1", 1, "edit", "", "common", "local", "pillow", None, path, "x")


LONG = ("brighten the lower right third ⟶ שלום 🙂 \x07, " * 250)[:10_000]


@settings(max_examples=150, deadline=None)
@example(LONG)
@example("\x00\x01\x02\n\n;;;,,,")
@example("make it 0:0 and rotate 1e308 degrees, zoom in 99999999%")
@given(instructions)
def test_the_parser_answers_for_any_text(text: str) -> None:
    parsed = parse_instruction(text)
    for clause in parsed.clauses:
        assert 0 <= clause.start <= clause.end <= len(text)
        assert clause.text and len(clause.text) <= 160
    assert all(isinstance(item, str) for item in parsed.not_understood)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(LONG)
@example("restore the contrast from round 7, from the reference")
@example("make it 9:16, rotate -45, crop the left 99%, zoom out 9999%")
@given(text=instructions)
def test_refine_applies_or_says_not_understood(tmp_path: Path, text: str) -> None:
    request = GenerationRequest(
        mode="refine", instruction=text, history=(small_turn(tmp_path),)
    )
    try:
        result = LocalBackend().generate(
            request, MemoryBlobs(), no_progress, CancelToken()
        )
    except NotUnderstood as refused:
        assert refused.message
        return
    assert isinstance(result.image, Image.Image)
    assert result.image.width >= 1 and result.image.height >= 1
    assert 1 <= len(result.applied) <= MAX_CHANGES
