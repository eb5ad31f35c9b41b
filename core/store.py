"""The session database: sessions, the round tree, attempts, notes and templates.

One SQLite file in WAL mode, opened through sqlite-utils, with a busy timeout so two
processes (or an A/B pair's threads) can write the same session. Schema changes go
only through the numbered migrations below, tracked in ``PRAGMA user_version``; a
database from an older release is brought forward on open.

Writes that belong together run in one ``BEGIN IMMEDIATE`` transaction, taken only
after the slow work (a backend call, an image write) is done, so a lock is never held
across the network and a crash leaves either the whole round or none of it.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import NotFound, StorageError


def _import_sqlite_utils() -> Any:
    """sqlite-utils, imported with NumPy and pandas out of its sight.

    When they are installed (scikit-image brings NumPy for the demo) sqlite-utils
    imports them only to map their scalar types to column types. ripen stores none,
    and NumPy alone adds about 80 ms to every launch. Modules something else has
    already imported are left as they are.
    """
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
    return sqlite_utils


if TYPE_CHECKING:
    import sqlite_utils
else:
    sqlite_utils = _import_sqlite_utils()

BUSY_TIMEOUT_MS = 30_000
_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id(length: int = 6) -> str:
    """A short random id a user can type back (no 0/o, 1/l/i look-alikes)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("sessions").create(
        {
            "id": str,
            "title": str,
            "created": str,
            "updated": str,
            "budget": int,
            "hard_budget": int,
            "aspect": str,
            "backend": str,
            "quality": str,
            "current_round": str,
            "template": str,
            "context_policy": str,
        },
        pk="id",
        not_null={"title", "created", "updated", "budget"},
        defaults={"hard_budget": 0, "quality": "common"},
    )
    db.table("rounds").create(
        {
            "id": str,
            "session": str,
            "number": int,
            "parent": str,
            "mode": str,
            "instruction": str,
            "stage": str,
            "quality": str,
            "backend": str,
            "model": str,
            "region": str,
            "keep": int,
            "credits": int,
            "usd": float,
            "tokens_input": int,
            "tokens_output": int,
            "tokens_image": int,
            "tokens_thoughts": int,
            "latency": float,
            "starred": int,
            "winner": int,
            "image": str,
            "width": int,
            "height": int,
            "created": str,
            "text": str,
            "applied": str,
            "skipped": str,
            "warnings": str,
            "refs": str,
            "context": str,
            "turn": str,
        },
        pk="id",
        foreign_keys=[("session", "sessions", "id"), ("parent", "rounds", "id")],
        not_null={"session", "number", "mode", "quality", "backend", "image"},
        defaults={"starred": 0, "winner": 0, "keep": 0, "credits": 0},
    )
    db.table("rounds").create_index(["session", "number"], unique=True)
    db.table("rounds").create_index(["parent"])
    db.table("attempts").create(
        {
            "id": str,
            "session": str,
            "parent": str,
            "mode": str,
            "instruction": str,
            "quality": str,
            "backend": str,
            "model": str,
            "region": str,
            "kind": str,
            "message": str,
            "usd": float,
            "created": str,
            "request": str,
        },
        pk="id",
        foreign_keys=[("session", "sessions", "id")],
        not_null={"session", "kind", "message"},
    )
    db.table("attempts").create_index(["session"])
    db.table("round_inputs").create(
        {
            "round": str,
            "position": int,
            "image": str,
            "role": str,
            "source": str,
            "notes": str,
        },
        pk=("round", "position"),
        foreign_keys=[("round", "rounds", "id")],
    )
    db.table("notes").create(
        {"round": str, "text": str, "updated": str},
        pk="round",
        foreign_keys=[("round", "rounds", "id")],
    )
    db.table("checks").create(
        {"round": str, "item": str, "created": str},
        pk=("round", "item"),
        foreign_keys=[("round", "rounds", "id")],
    )
    db.table("templates").create(
        {"name": str, "builtin": int, "body": str, "created": str},
        pk="name",
        defaults={"builtin": 0},
    )
    db.table("settings").create({"key": str, "value": str}, pk="key")
    db.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "round UNINDEXED, session UNINDEXED, instruction, note, "
        "tokenize='unicode61 remove_diacritics 2')"
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    # Credits a call in flight will cost, held against a hard budget so that two
    # processes cannot both pass the check for the last round the budget allows.
    db.table("reservations").create(
        {"id": str, "session": str, "credits": int, "created": str}, pk="id"
    )
    db.table("reservations").create_index(["session"])


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1,
    _migration_2,
]
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """The database at ``path``; one sqlite connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate()

    # -- connections and transactions ---------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction that takes the lock up front (``BEGIN IMMEDIATE``).

        A database that cannot be written (locked past the busy timeout, read-only,
        a full disk) raises :class:`~core.errors.StorageError`, which says so.
        """
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._unwritable(exc) from None
        try:
            yield db
        except BaseException as exc:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise self._unwritable(exc) from None
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            raise self._unwritable(exc) from None

    def _unwritable(self, exc: sqlite3.OperationalError) -> StorageError:
        reason = str(exc)
        if "readonly" in reason or "read-only" in reason:
            advice = " Check that you may write the file and its folder."
        elif "locked" in reason or "busy" in reason:
            advice = " If another ripen or program holds it, try again when it is done."
        else:
            advice = ""
        return StorageError(
            f"The database {self.path} cannot be written ({reason}); nothing was "
            f"changed.{advice}"
        )

    def _migrate(self) -> None:
        db = self.db
        if db.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.conn.execute("PRAGMA journal_mode = WAL")
        version = db.conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        with self.transaction():
            # Another process may have migrated while we waited for the lock.
            version = db.conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](db)
                db.conn.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        return int(self.db.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- small helpers ---------------------------------------------------------

    @staticmethod
    def insert(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> None:
        """Insert inside the caller's transaction (sqlite-utils' own insert commits)."""
        columns = ", ".join(f"[{name}]" for name in row)
        marks = ", ".join("?" for _ in row)
        db.execute(
            f"INSERT INTO [{table}] ({columns}) VALUES ({marks})", list(row.values())
        )

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = list(self.db.query(sql, params))
        return rows[0] if rows else None

    def all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    # -- sessions ---------------------------------------------------------------

    def session(self, session_id: str) -> dict[str, Any]:
        row = self.one("SELECT * FROM sessions WHERE id = ?", [session_id])
        if row is None:
            row = self._by_prefix("sessions", session_id)
        return row

    def _by_prefix(self, table: str, ident: str) -> dict[str, Any]:
        noun = "session" if table == "sessions" else "round"
        shown = ident if len(ident) <= 40 else ident[:40] + "…"
        if 3 <= len(ident) <= 40:
            rows = self.all(
                f"SELECT * FROM [{table}] WHERE substr(id, 1, ?) = ? LIMIT 6",
                [len(ident), ident],
            )
            if len(rows) == 1:
                return rows[0]
            if rows:
                matches = ", ".join(row["id"] for row in rows[:5])
                raise NotFound(
                    f"{shown!r} matches more than one {noun} ({matches}); "
                    "type more of the id."
                )
        hint = "" if len(ident) >= 3 else " (a prefix needs at least 3 characters)"
        raise NotFound(f"No {noun} with id {shown!r}{hint}.")

    def round_row(self, round_id: str) -> dict[str, Any]:
        row = self.one("SELECT * FROM rounds WHERE id = ?", [round_id])
        if row is None:
            row = self._by_prefix("rounds", round_id)
        return row

    def setting(self, key: str) -> str | None:
        row = self.one("SELECT value FROM settings WHERE key = ?", [key])
        return None if row is None else str(row["value"])

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    # Most of a round's JSON columns are empty; opening a session of thousands of
    # rounds reads six of them per round.
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)
