"""Full-text search over instructions and notes, across sessions."""

from __future__ import annotations

import pytest

from core.engine import Engine
from core.search import fts_query, search
from tests.test_meter import charging_engine


@pytest.fixture
def engine() -> Engine:
    return charging_engine()[0]


def test_instructions_and_notes_across_sessions(engine: Engine) -> None:
    watch = engine.new_session("a luxury watch", backend="paid", title="Watch ad")
    rim = engine.refine(watch.id, "enhance the rim lighting on the watch edge")
    portrait = engine.new_session("a portrait", backend="paid", title="Portrait")
    soft = engine.refine(portrait.id, "soften the key light on the face")
    engine.note(soft.id, "rim light from the left worked best")

    hits = search(engine, "rim")

    assert {(h.title, h.round, h.number) for h in hits} == {
        ("Watch ad", rim.id, 2),
        ("Portrait", soft.id, 2),
    }
    noted = next(h for h in hits if h.round == soft.id)
    assert noted.note == "rim light from the left worked best"
    assert "[rim]" in noted.snippet
    assert set(noted.to_json()) == {
        "session",
        "title",
        "round",
        "number",
        "instruction",
        "note",
        "snippet",
    }


def test_every_word_must_match_and_the_last_is_a_prefix(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid")
    engine.refine(base.id, "sharpen the watch face details")
    engine.refine(base.id, "sharpen the wooden surface")

    assert len(search(engine, "sharpen")) == 2
    assert [h.instruction for h in search(engine, "sharpen wat")] == [
        "sharpen the watch face details"
    ]
    assert search(engine, "sharpen nebula") == []


def test_a_cleared_note_is_no_longer_found(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid")
    engine.note(base.id, "client liked the teal backdrop")
    assert [h.round for h in search(engine, "teal")] == [base.id]

    engine.note(base.id, "")

    assert search(engine, "teal") == []


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "AND(",
        "OR",
        "NEAR(a b",
        "*",
        "a:b",
        "instruction:watch",
        "^",
        "' OR 1=1 --",
        "(((",
        "NOT",
        "-",
        "",
        "   ",
        'watch"',
        "ünïcödé",
    ],
)
def test_query_syntax_in_user_text_never_raises(engine: Engine, text: str) -> None:
    base = engine.new_session("a watch", backend="paid")
    engine.refine(base.id, "watch AND strap, instruction: more contrast")

    hits = search(engine, text)

    assert isinstance(hits, list)


def test_operators_are_searched_as_words(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid")
    r = engine.refine(base.id, "warm AND cool tones")

    assert [h.round for h in search(engine, "AND(")] == [r.id]
    assert fts_query('say "hi"') == '"say" "hi"*'
    assert fts_query('"') is None
