"""Finding earlier rounds by what was asked and what was noted, across sessions.

The guide asks users to document their rounds so that what worked can be found
again. The engine keeps an SQLite FTS5 table of every round's instruction and note;
this module turns what a person types into a safe full-text query. FTS5 has its own
query language (quotes, ``AND``, ``NEAR(``, column filters), so raw user text would
either raise a syntax error or mean something unintended: every word is quoted as a
literal and the words are matched together, the last one as a prefix so results
arrive while a word is still being typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.engine import Engine

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 16


@dataclass(frozen=True)
class Hit:
    """One round whose instruction or note matched."""

    session: str
    title: str
    round: str
    number: int
    instruction: str
    note: str
    snippet: str

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "title": self.title,
            "round": self.round,
            "number": self.number,
            "instruction": self.instruction,
            "note": self.note,
            "snippet": self.snippet,
        }


def fts_query(text: str) -> str | None:
    """A literal FTS5 query for ``text``, or None when it holds no words at all."""
    words = _WORD.findall(text)[:MAX_WORDS]
    if not words:
        return None
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search(engine: Engine, text: str, limit: int = 50) -> list[Hit]:
    """Rounds whose instruction or note holds every word of ``text``, best first."""
    query = fts_query(text)
    if query is None:
        return []
    rows = engine.store.all(
        "SELECT search_index.round AS round, search_index.session AS session,"
        " snippet(search_index, -1, '[', ']', '…', 12) AS snippet,"
        " s.title AS title, r.number AS number,"
        " r.instruction AS instruction, COALESCE(n.text, '') AS note"
        " FROM search_index"
        " JOIN rounds r ON r.id = search_index.round"
        " JOIN sessions s ON s.id = search_index.session"
        " LEFT JOIN notes n ON n.round = r.id"
        " WHERE search_index MATCH ?"
        " ORDER BY rank, r.created DESC LIMIT ?",
        [query, limit],
    )
    return [
        Hit(
            session=row["session"],
            title=row["title"],
            round=row["round"],
            number=row["number"],
            instruction=row["instruction"] or "",
            note=row["note"],
            snippet=row["snippet"] or "",
        )
        for row in rows
    ]
