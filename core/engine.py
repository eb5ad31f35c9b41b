"""The engine: the one object the CLI and the interface drive.

It starts sessions, refines rounds (a refinement of a round that already has
children is a branch), runs A/B alternatives concurrently, promotes a branch to its
final render, and keeps the tree. Backend calls run outside any database transaction
and may be cancelled; a call that fails leaves one attempt row and nothing else, and
is never charged. A call that succeeds is written image first, then row, in one
transaction, so a crash in between leaves at most an unreferenced image file.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from core.backends import BACKEND_NAMES, make_backend
from core.backends.base import (
    ASPECTS,
    QUALITIES,
    Backend,
    GenerationRequest,
    GenerationResult,
    Mode,
    Quality,
    Reference,
    Turn,
)
from core.blobs import Blobs
from core.cancel import CancelToken, Progress, ProgressCallback, no_progress
from core.config import Config, default_backend, load_config
from core.errors import (
    BadInput,
    BudgetExceeded,
    Cancelled,
    GenerationError,
    NotFound,
    RipenError,
    StorageError,
)
from core.ingest import IngestedImage, check_inputs, ingest_image
from core.lint import BudgetState, classify_stage, lint
from core.models import Attempt, Round, Session, Tree
from core.redact import redact, setup_logging
from core.store import Store, dumps, new_id, now_iso
from core.text import clean_text

log = logging.getLogger("ripen.engine")

RESERVATION_SECONDS = 30 * 60
"""How long credits held for a call in flight count against a hard budget; longer
than any call with its retries can take."""

MAX_INSTRUCTION = 10_000
MAX_TITLE = 200


def clean_instruction(text: str) -> str:
    """Drop control characters (a pasted escape sequence, say) but keep new lines."""
    return clean_text(text)


def check_length(text: str) -> str:
    """``text``, unless it is longer than an instruction can be (a pasted file)."""
    if len(text) > MAX_INSTRUCTION:
        raise BadInput(
            f"The instruction is {len(text):,} characters; ripen takes at most "
            f"{MAX_INSTRUCTION:,}. Say what to change in a sentence or two."
        )
    return text


def validate_region(region: str | None) -> str | None:
    """Normalise a region name, refusing one ripen does not know."""
    if region is None or not region.strip():
        return None
    from core.backends.local.regions import validate_region as check

    return check(region)


@dataclass(frozen=True)
class SaveTurn:
    """One of several concurrent calls' place in the order their rounds are saved.

    Each waits for the call before it to be saved (or to fail) before saving its
    own round, so that an A/B pair's round numbers follow the order its
    instructions were given in, whichever answer arrives first.
    """

    before: threading.Event | None
    done: threading.Event


class Engine:
    """Sessions, rounds and backends over one data folder."""

    def __init__(
        self,
        config: Config | None = None,
        backends: dict[str, Backend] | None = None,
    ) -> None:
        self.config = config or load_config()
        try:
            self.config.home.mkdir(parents=True, exist_ok=True)
            setup_logging(self.config.log_path)
        except OSError as exc:
            raise BadInput(
                f"ripen cannot use {self.config.home} as its data folder "
                f"({exc.strerror or exc}); set RIPEN_HOME to a folder you can write."
            ) from None
        try:
            self.store = Store(self.config.db_path)
        except sqlite3.DatabaseError as exc:
            raise BadInput(
                f"The database {self.config.db_path} cannot be opened ({exc}); "
                "move it aside to start afresh, or restore it from a backup."
            ) from None
        self.blobs = Blobs(self.config.images_dir)
        self.blobs.sweep_temporary()
        self._backends: dict[str, Backend] = dict(backends or {})

    # -- backends ---------------------------------------------------------------

    def backend(self, name: str | None = None) -> Backend:
        name = name or default_backend(self.config)
        if name not in BACKEND_NAMES and name not in self._backends:
            raise BadInput(f"Unknown backend {name!r}; choose one of: local, gemini.")
        if name not in self._backends:
            self._backends[name] = make_backend(name, self.config)
        return self._backends[name]

    def loaded_backend(self, name: str) -> Backend | None:
        """The backend ``name`` if it has been built (or given), else None."""
        return self._backends.get(name)

    # -- reading ----------------------------------------------------------------

    def session(self, session_id: str) -> Session:
        row = self.store.session(session_id)
        totals = self.store.one(
            "SELECT COUNT(*) AS n, COALESCE(SUM(credits), 0) AS c "
            "FROM rounds WHERE session = ?",
            [row["id"]],
        )
        assert totals is not None
        return Session.from_row(row, rounds=totals["n"], credits=totals["c"])

    def sessions(self) -> list[Session]:
        """Every session, most recently changed first."""
        rows = self.store.all(
            "SELECT s.*, COUNT(r.id) AS n, COALESCE(SUM(r.credits), 0) AS c, "
            "(SELECT image FROM rounds WHERE id = s.current_round) AS thumb "
            "FROM sessions s LEFT JOIN rounds r ON r.session = s.id "
            "GROUP BY s.id ORDER BY s.updated DESC"
        )
        sessions = []
        for row in rows:
            thumb = self._image_path(row["thumb"]) if row["thumb"] else None
            extra = {"rounds": row["n"], "credits": row["c"], "thumbnail": thumb}
            sessions.append(Session.from_row(row, **extra))
        return sessions

    def _image_path(self, sha: str) -> Path:
        # Rounds and inputs are always stored as PNG, so no lookup on disk is
        # needed (a 2,000-round tree would otherwise stat every file).
        return self.blobs.root.joinpath(f"{sha[:2]}/{sha}.png")

    def _round(self, row: dict[str, Any], note: str | None = None) -> Round:
        if note is None:
            found = self.store.one(
                "SELECT text FROM notes WHERE round = ?", [row["id"]]
            )
            note = found["text"] if found else ""
        return Round.from_row(row, self._image_path(row["image"]), note or "")

    def round(self, round_id: str) -> Round:
        return self._round(self.store.round_row(round_id))

    def attempt(self, attempt_id: str) -> Attempt:
        row = self.store.one("SELECT * FROM attempts WHERE id = ?", [attempt_id])
        if row is None:
            raise NotFound(f"No attempt with id {attempt_id!r}.")
        return Attempt.from_row(row)

    def tree(self, session_id: str) -> Tree:
        session = self.session(session_id)
        notes = {
            row["round"]: row["text"]
            for row in self.store.all(
                "SELECT n.round, n.text FROM notes n JOIN rounds r ON r.id = n.round "
                "WHERE r.session = ?",
                [session.id],
            )
        }
        rows = self.store.all(
            "SELECT * FROM rounds WHERE session = ? ORDER BY number", [session.id]
        )
        attempts = self.store.all(
            "SELECT * FROM attempts WHERE session = ? ORDER BY created", [session.id]
        )
        return Tree(
            session=session,
            rounds=[self._round(row, notes.get(row["id"], "")) for row in rows],
            attempts=[Attempt.from_row(row) for row in attempts],
        )

    def path(self, round_id: str) -> list[Round]:
        """The branch from the session's first round down to ``round_id``."""
        rows = self.store.all(
            "WITH RECURSIVE up(id, parent, depth) AS ("
            " SELECT id, parent, 0 FROM rounds WHERE id = ?"
            " UNION ALL SELECT r.id, r.parent, up.depth + 1"
            " FROM rounds r JOIN up ON r.id = up.parent)"
            " SELECT rounds.* FROM up JOIN rounds ON rounds.id = up.id"
            " ORDER BY up.depth DESC",
            [self.store.round_row(round_id)["id"]],
        )
        return [self._round(row) for row in rows]

    def children(self, round_id: str) -> list[Round]:
        rows = self.store.all(
            "SELECT * FROM rounds WHERE parent = ? ORDER BY number", [round_id]
        )
        return [self._round(row) for row in rows]

    def inputs(self, round_id: str) -> list[dict[str, Any]]:
        """The user's photos or references a session's first round started from."""
        rows = self.store.all(
            "SELECT * FROM round_inputs WHERE round = ? ORDER BY position", [round_id]
        )
        for row in rows:
            row["path"] = self._image_path(row["image"])
        return rows

    def session_credits(self, session_id: str) -> int:
        row = self.store.one(
            "SELECT COALESCE(SUM(credits), 0) AS c FROM rounds WHERE session = ?",
            [session_id],
        )
        return int(row["c"]) if row else 0

    def remember_opened(self, session_id: str) -> None:
        """Make ``session_id`` the one ``ripen --last`` reopens.

        Best effort: a database that cannot be written to (read-only, locked for
        longer than the busy timeout) costs the memory, not the session.
        """
        try:
            self.store.set_setting("last_session", session_id)
        except (sqlite3.Error, StorageError) as exc:
            log.warning("could not remember the last session: %s", exc)

    def last_session(self) -> Session | None:
        """The session last opened in the interface or given a round, else the
        most recently changed one."""
        ident = self.store.setting("last_session")
        if ident:
            try:
                return self.session(ident)
            except NotFound:
                pass
        sessions = self.sessions()
        return sessions[0] if sessions else None

    # -- starting a session -----------------------------------------------------

    def new_session(
        self,
        prompt: str,
        images: Sequence[Path] = (),
        *,
        quality: Quality = "common",
        aspect: str | None = None,
        backend: str | None = None,
        budget: int | None = None,
        hard_budget: bool | None = None,
        title: str | None = None,
        downscale: bool = False,
        template: str | None = None,
        context_policy: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Round:
        """Start a session: a prompt, one photo (edit) or 2-3 references (compose)."""
        prompt = check_length(clean_instruction(prompt))
        check_inputs(list(images))
        _check_quality(quality)
        if aspect is not None and aspect not in ASPECTS:
            raise BadInput(
                f"Aspect ratio {aspect!r} is not supported; use one of "
                f"{', '.join(ASPECTS)}."
            )
        if budget is not None and budget <= 0:
            raise BadInput(
                f"The budget must be a positive number of credits: {budget}."
            )
        if not prompt and not images:
            raise BadInput("A new session needs a prompt, a photo, or both.")
        ingested = [
            ingest_image(
                Path(p), max_megapixels=self.config.max_megapixels, downscale=downscale
            )
            for p in images
        ]
        engine_backend = self.backend(backend)
        mode: Mode = (
            "generate" if not ingested else "edit" if len(ingested) == 1 else "compose"
        )
        input_shas = [self.blobs.put_image(item.image) for item in ingested]
        session_row: dict[str, Any] = {
            "id": new_id(),
            "title": _title(title, prompt, ingested),
            "created": now_iso(),
            "updated": now_iso(),
            "budget": budget or self.config.budget,
            "hard_budget": int(
                self.config.hard_budget if hard_budget is None else hard_budget
            ),
            "aspect": aspect,
            "backend": engine_backend.name,
            "quality": "common",
            "current_round": None,
            "template": template,
            "context_policy": context_policy,
        }
        request = GenerationRequest(
            mode=mode,
            instruction=prompt,
            quality=quality,
            aspect=aspect,
            inputs=tuple(self.blobs.path(sha) for sha in input_shas),
            session_id=session_row["id"],
            context_policy=context_policy,
        )
        inputs = [
            {
                "image": sha,
                "role": "photo" if mode == "edit" else "reference",
                "source": clean_text(item.source, single_line=True),
                "notes": dumps(item.notes),
            }
            for sha, item in zip(input_shas, ingested, strict=True)
        ]
        notes = [note for item in ingested for note in item.notes]
        return self._run(
            engine_backend,
            request,
            session_row=session_row,
            parent=None,
            inputs=inputs,
            extra_warnings=[{"code": "input", "message": n} for n in notes],
            progress=progress,
            cancel=cancel,
        )

    # -- refining ---------------------------------------------------------------

    def refine(
        self,
        round_id: str,
        instruction: str,
        *,
        quality: Quality | None = None,
        region: str | None = None,
        keep: bool = False,
        refs: Sequence[str] = (),
        backend: str | None = None,
        over_budget: bool = False,
        image_size: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        save_turn: SaveTurn | None = None,
    ) -> Round:
        """Refine a round; if it already has children, this starts a new branch."""
        parent = self.round(round_id)
        session = self.session(parent.session)
        instruction = check_length(clean_instruction(instruction))
        if not instruction:
            raise BadInput("The instruction is empty; say what to change.")
        quality = quality or "common"
        _check_quality(quality)
        region = validate_region(region)
        engine_backend = self.backend(backend or session.backend)
        branch = self.path(parent.id)
        references = tuple(self._reference(session.id, ref) for ref in refs)
        cost = engine_backend.credits_for(quality)
        warnings = _lint_warnings(
            instruction,
            branch,
            quality,
            BudgetState(spent=session.credits, budget=session.budget, round_cost=cost),
        )
        held = None
        if session.hard_budget and cost > 0 and not over_budget:
            held = self._reserve(session, cost)
        try:
            request = GenerationRequest(
                mode="refine",
                instruction=instruction,
                quality=quality,
                aspect=session.aspect,
                region=region,
                keep=keep,
                image_size=image_size,
                history=tuple(self._turn(r) for r in branch),
                refs=references,
                session_id=session.id,
                context_policy=session.context_policy,
            )
            return self._run(
                engine_backend,
                request,
                session_row=None,
                parent=parent,
                extra_warnings=warnings,
                progress=progress,
                cancel=cancel,
                save_turn=save_turn,
                reservation=held,
            )
        finally:
            if held is not None:
                self._release(held)  # a no-op once the round saved has taken it

    def _reserve(self, session: Session, cost: int) -> str:
        """Hold ``cost`` credits of a hard budget for a call about to be made.

        The check and the hold are one transaction, so two processes refining the
        same session cannot both pass the check for the last round the budget
        allows. A hold left by a process that died expires after
        ``RESERVATION_SECONDS``.
        """
        ident = new_id()
        expired = datetime.now(UTC) - timedelta(seconds=RESERVATION_SECONDS)
        with self.store.transaction() as db:
            db.execute(
                "DELETE FROM reservations WHERE created < ?",
                [expired.isoformat(timespec="milliseconds")],
            )
            spent, held = self._committed(db, session.id)
            if spent + held + cost > session.budget:
                in_flight = f" ({held} more held by calls in flight)" if held else ""
                raise BudgetExceeded(
                    f"This round costs {cost} credits and {spent} of the session's "
                    f"{session.budget} are spent{in_flight}; pass --over-budget to "
                    "go on."
                )
            Store.insert(
                db,
                "reservations",
                {
                    "id": ident,
                    "session": session.id,
                    "credits": cost,
                    "created": now_iso(),
                },
            )
        return ident

    def _release(self, reservation: str) -> None:
        try:
            with self.store.transaction() as db:
                db.execute("DELETE FROM reservations WHERE id = ?", [reservation])
        except (sqlite3.Error, StorageError) as exc:
            # It expires by itself; the failure that brought us here matters more.
            log.warning("could not release reservation %s: %s", reservation, exc)

    @staticmethod
    def _committed(db: Any, session_id: str) -> tuple[int, int]:
        """Credits a session has spent, and credits held by calls in flight."""
        spent = db.execute(
            "SELECT COALESCE(SUM(credits), 0) FROM rounds WHERE session = ?",
            [session_id],
        ).fetchone()[0]
        held = db.execute(
            "SELECT COALESCE(SUM(credits), 0) FROM reservations WHERE session = ?",
            [session_id],
        ).fetchone()[0]
        return int(spent), int(held)

    def ab(
        self,
        round_id: str,
        instructions: Sequence[str],
        *,
        cancel: CancelToken | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> list[Round | RipenError]:
        """Run alternative refinements of one round at the same time.

        Each alternative succeeds or fails on its own; the result list keeps the
        order of ``instructions`` and holds a Round or the error for each.
        """
        if len(instructions) < 2:
            raise BadInput("An A/B test needs at least two instructions.")
        parent = self.round(round_id)  # fail fast, before any thread starts
        self._check_budget_for(parent, len(instructions), options)
        cancel = cancel or CancelToken()
        saved = [threading.Event() for _ in instructions]
        turns = [
            SaveTurn(saved[index - 1] if index else None, saved[index])
            for index in range(len(instructions))
        ]

        def one(text: str, turn: SaveTurn) -> Round | RipenError:
            try:
                return self.refine(
                    round_id,
                    text,
                    cancel=cancel,
                    progress=progress,
                    save_turn=turn,
                    **options,
                )
            except RipenError as error:
                return error
            finally:
                turn.done.set()

        with ThreadPoolExecutor(max_workers=len(instructions)) as pool:
            return list(pool.map(one, instructions, turns))

    def _check_budget_for(
        self, parent: Round, count: int, options: dict[str, Any]
    ) -> None:
        """Refuse alternatives that together would overrun a hard budget."""
        session = self.session(parent.session)
        if not session.hard_budget or options.get("over_budget"):
            return
        backend = self.backend(options.get("backend") or session.backend)
        cost = count * backend.credits_for(options.get("quality") or "common")
        spent, held = self._committed(self.store.db, session.id)
        if cost > 0 and spent + held + cost > session.budget:
            in_flight = f" ({held} more held by calls in flight)" if held else ""
            raise BudgetExceeded(
                f"These {count} alternatives cost {cost} credits and "
                f"{spent} of the session's {session.budget} are spent{in_flight}; "
                "pass --over-budget to go on."
            )

    def promote(
        self,
        round_id: str,
        *,
        image_size: str | None = None,
        backend: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Round:
        """The final Ultra render of the branch ending at ``round_id``."""
        parent = self.round(round_id)
        session = self.session(parent.session)
        engine_backend = self.backend(backend or session.backend)
        branch = self.path(parent.id)
        request = GenerationRequest(
            mode="promote",
            instruction="",
            quality="ultra",
            aspect=session.aspect,
            image_size=image_size,
            history=tuple(self._turn(r) for r in branch),
            session_id=session.id,
            context_policy=session.context_policy,
        )
        return self._run(
            engine_backend,
            request,
            session_row=None,
            parent=parent,
            label=f"Final render of round {parent.number}",
            progress=progress,
            cancel=cancel,
        )

    def retry(
        self,
        attempt_id: str,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Round:
        """Run a failed attempt again with the inputs it was given."""
        attempt = self.attempt(attempt_id)
        saved = attempt.request
        if attempt.parent is None:
            raise BadInput(
                "This attempt started a session; start it again with `ripen new`."
            )
        if attempt.mode == "promote":
            return self.promote(
                attempt.parent,
                image_size=saved.get("image_size"),
                backend=attempt.backend,
                progress=progress,
                cancel=cancel,
            )
        return self.refine(
            attempt.parent,
            attempt.instruction,
            quality=attempt.quality,  # type: ignore[arg-type]
            region=attempt.region,
            keep=bool(saved.get("keep")),
            refs=saved.get("refs", []),
            backend=attempt.backend,
            over_budget=True,
            image_size=saved.get("image_size"),
            progress=progress,
            cancel=cancel,
        )

    # -- marking ----------------------------------------------------------------

    def star(self, round_id: str, starred: bool | None = None) -> Round:
        current = self.round(round_id)
        value = (not current.starred) if starred is None else starred
        with self.store.transaction() as db:
            db.execute(
                "UPDATE rounds SET starred = ? WHERE id = ?", [int(value), current.id]
            )
        return self.round(current.id)

    def mark_winner(self, round_id: str) -> Round:
        """Mark a round the winner among its siblings (the A/B pick) and continue it."""
        current = self.round(round_id)
        with self.store.transaction() as db:
            db.execute(
                "UPDATE rounds SET winner = 0 WHERE session = ? AND parent IS ?",
                [current.session, current.parent],
            )
            db.execute("UPDATE rounds SET winner = 1 WHERE id = ?", [current.id])
            self._touch(db, current.session, current.id)
        return self.round(current.id)

    def note(self, round_id: str, text: str) -> Round:
        current = self.round(round_id)
        text = redact(clean_text(text))
        if len(text) > MAX_INSTRUCTION:
            raise BadInput(
                f"The note is {len(text):,} characters; a note takes at most "
                f"{MAX_INSTRUCTION:,}."
            )
        with self.store.transaction() as db:
            if text:
                db.execute(
                    "INSERT INTO notes (round, text, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(round) DO UPDATE SET text = excluded.text, "
                    "updated = excluded.updated",
                    [current.id, text, now_iso()],
                )
            else:
                db.execute("DELETE FROM notes WHERE round = ?", [current.id])
            db.execute(
                "UPDATE search_index SET note = ? WHERE round = ?", [text, current.id]
            )
        return self.round(current.id)

    def restore(self, round_id: str) -> Round:
        """Make a round the session's current one (where the next refine starts)."""
        current = self.round(round_id)
        with self.store.transaction() as db:
            self._touch(db, current.session, current.id)
        return current

    def rename_session(self, session_id: str, title: str) -> Session:
        title = clean_text(title, single_line=True)
        if not title:
            raise BadInput("A session title cannot be empty.")
        session = self.session(session_id)
        with self.store.transaction() as db:
            db.execute(
                "UPDATE sessions SET title = ?, updated = ? WHERE id = ?",
                [title[:MAX_TITLE], now_iso(), session.id],
            )
        return self.session(session.id)

    def delete_session(self, session_id: str) -> int:
        """Delete a session and the images no other session uses; count the files."""
        session = self.session(session_id)
        with self.store.transaction() as db:
            rounds = "SELECT id FROM rounds WHERE session = ?"
            candidates = {
                row[0]
                for sql in (
                    "SELECT image FROM rounds WHERE session = ?",
                    f"SELECT image FROM round_inputs WHERE round IN ({rounds})",
                )
                for row in db.execute(sql, [session.id]).fetchall()
            }
            for table in ("notes", "checks", "round_inputs"):
                db.execute(
                    f"DELETE FROM {table} WHERE round IN ({rounds})", [session.id]
                )
            db.execute("DELETE FROM search_index WHERE session = ?", [session.id])
            db.execute("DELETE FROM attempts WHERE session = ?", [session.id])
            db.execute(
                "UPDATE rounds SET parent = NULL WHERE session = ?", [session.id]
            )
            db.execute("DELETE FROM rounds WHERE session = ?", [session.id])
            db.execute("DELETE FROM sessions WHERE id = ?", [session.id])
            still_used = {
                row[0]
                for sql in (
                    "SELECT image FROM rounds",
                    "SELECT image FROM round_inputs",
                )
                for row in db.execute(sql).fetchall()
            }
        removed = 0
        for sha in candidates - still_used:
            try:
                self.blobs.path(sha).unlink()
                removed += 1
            except (NotFound, OSError):
                continue
        return removed

    # -- internals --------------------------------------------------------------

    def _turn(self, r: Round) -> Turn:
        inputs: tuple[Path, ...] = ()
        if r.parent is None:
            inputs = tuple(row["path"] for row in self.inputs(r.id))
        return Turn(
            round_id=r.id,
            number=r.number,
            mode=r.mode,  # type: ignore[arg-type]
            instruction=r.instruction,
            quality=r.quality,  # type: ignore[arg-type]
            backend=r.backend,
            model=r.model,
            region=r.region,
            image=r.image,
            image_sha=r.image_sha,
            model_turn=r.turn,
            inputs=inputs,
        )

    def _reference(self, session_id: str, ident: str) -> Reference:
        ident = ident.strip()
        row: dict[str, Any] | None = None
        if ident.isdigit() and len(ident) < 10:
            row = self.store.one(
                "SELECT * FROM rounds WHERE session = ? AND number = ?",
                [session_id, int(ident)],
            )
        if row is None:
            row = self.store.round_row(ident)
        if row["session"] != session_id:
            raise BadInput(f"Round {ident} belongs to another session.")
        ref = self._round(row, note="")
        return Reference(
            round_id=ref.id,
            number=ref.number,
            image=ref.image,
            instruction=ref.instruction,
        )

    def _touch(self, db: Any, session_id: str, current: str | None) -> None:
        db.execute(
            "UPDATE sessions SET updated = ?,"
            " current_round = COALESCE(?, current_round) WHERE id = ?",
            [now_iso(), current, session_id],
        )

    def _run(
        self,
        backend: Backend,
        request: GenerationRequest,
        *,
        session_row: dict[str, Any] | None,
        parent: Round | None,
        inputs: Sequence[dict[str, Any]] = (),
        extra_warnings: Sequence[dict[str, Any]] = (),
        label: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        save_turn: SaveTurn | None = None,
        reservation: str | None = None,
    ) -> Round:
        cancel = cancel or CancelToken()
        instruction = label if label is not None else request.instruction
        report = progress or no_progress
        model = backend.model_for(request.quality)
        session_id = session_row["id"] if session_row else request.session_id
        started = time.monotonic()
        report(Progress("sending", f"Asking {model}", model=model))
        try:
            cancel.raise_if_cancelled()
            result = backend.generate(request, self.blobs, report, cancel)
            sha, width, height = self._store_image(result)
        except BaseException as exc:
            error = _scrubbed(_as_generation_error(exc))
            error.attempt = self._record_attempt(
                session_row,
                session_id,
                parent,
                request,
                backend.name,
                model,
                error,
                instruction,
            )
            log.info("attempt %s failed: %s", error.attempt, error.kind)
            if isinstance(exc, SystemExit):
                raise
            raise error from (None if exc is error else exc)
        latency = time.monotonic() - started
        round_id = new_id()
        stage = _stage_for(request)
        warnings = [*extra_warnings]
        warnings += [{"code": "backend", "message": w} for w in result.warnings]
        row = {
            "id": round_id,
            "session": session_id,
            "parent": parent.id if parent else None,
            "mode": request.mode,
            "instruction": instruction,
            "stage": stage,
            "quality": request.quality,
            "backend": backend.name,
            "model": result.model or model,
            "region": request.region,
            "keep": int(request.keep),
            "credits": backend.credits_for(request.quality),
            "usd": result.usd,
            "tokens_input": result.usage.input,
            "tokens_output": result.usage.output,
            "tokens_image": result.usage.image,
            "tokens_thoughts": result.usage.thoughts,
            "latency": round(latency, 3),
            "starred": 0,
            "winner": 0,
            "image": sha,
            "width": width,
            "height": height,
            "created": now_iso(),
            "text": redact(clean_text(result.text)),
            "applied": redact(dumps([clean_text(a) for a in result.applied])),
            "skipped": redact(dumps([clean_text(a) for a in result.skipped])),
            "warnings": redact(dumps(warnings)),
            "refs": dumps([ref.round_id for ref in request.refs]),
            "context": redact(dumps(result.context)),
            # Kept for byte-exact replay, but never at the price of the key: a turn
            # that quoted it replays with the placeholder instead.
            "turn": None
            if result.model_turn is None
            else redact(dumps(result.model_turn)),
        }
        if save_turn is not None and save_turn.before is not None:
            save_turn.before.wait()
        try:
            self._save_round(row, session_row, reservation, inputs)
        except StorageError:
            self._forget_image(sha)
            raise
        log.info(
            "round %s saved (session %s, #%s)", round_id, session_id, row["number"]
        )
        report(Progress("done", "Saved", model=model, elapsed=latency))
        return self.round(round_id)

    def _forget_image(self, sha: str) -> None:
        """Remove an image whose round could not be saved, unless a row uses it."""
        try:
            used = self.store.db.execute(
                "SELECT 1 FROM rounds WHERE image = ? "
                "UNION ALL SELECT 1 FROM round_inputs WHERE image = ? LIMIT 1",
                [sha, sha],
            ).fetchone()
            if used is None:
                self.blobs.path(sha).unlink(missing_ok=True)
        except (sqlite3.Error, OSError, NotFound):
            pass  # left for the next delete to find: an unreferenced file, no harm

    def _save_round(
        self,
        row: dict[str, Any],
        session_row: dict[str, Any] | None,
        reservation: str | None,
        inputs: Sequence[dict[str, Any]],
    ) -> None:
        """The round's row and everything that goes with it, in one transaction;
        ``row`` gets its number."""
        round_id, session_id = row["id"], row["session"]
        instruction = row["instruction"]
        with self.store.transaction() as db:
            if session_row is not None:
                Store.insert(db, "sessions", session_row)
            number = db.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM rounds WHERE session = ?",
                [session_id],
            ).fetchone()[0]
            row["number"] = number
            Store.insert(db, "rounds", row)
            if reservation is not None:
                # The round's credits now count; the hold goes in the same breath.
                db.execute("DELETE FROM reservations WHERE id = ?", [reservation])
            for position, item in enumerate(inputs):
                Store.insert(
                    db,
                    "round_inputs",
                    {"round": round_id, "position": position, **item},
                )
            Store.insert(
                db,
                "search_index",
                {
                    "round": round_id,
                    "session": session_id,
                    "instruction": instruction,
                    "note": "",
                },
            )
            self._touch(db, session_id, round_id)
            db.execute(
                "INSERT INTO settings (key, value) VALUES ('last_session', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [session_id],
            )

    def _store_image(self, result: GenerationResult) -> tuple[str, int, int]:
        image = result.image
        if isinstance(image, bytes | bytearray):
            data = bytes(image)
            try:
                with Image.open(io.BytesIO(data)) as decoded:
                    size = decoded.size
                    if decoded.format != "PNG":
                        decoded.load()
                        return (self.blobs.put_image(decoded), *size)
                    # Checking every chunk's CRC catches a damaged PNG at a tenth
                    # of the cost of decoding its pixels.
                    decoded.verify()
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
                raise GenerationError(
                    f"The service sent image data that could not be decoded ({exc})."
                ) from None
            return self.blobs.put_bytes(data), *size
        return self.blobs.put_image(image), image.width, image.height

    def _record_attempt(
        self,
        session_row: dict[str, Any] | None,
        session_id: str,
        parent: Round | None,
        request: GenerationRequest,
        backend: str,
        model: str,
        error: GenerationError,
        instruction: str,
    ) -> str:
        attempt_id = new_id()
        saved = {
            "keep": request.keep,
            "refs": [ref.round_id for ref in request.refs],
            "image_size": request.image_size,
            "inputs": [str(p) for p in request.inputs],
        }
        row = {
            "id": attempt_id,
            "session": session_id,
            "parent": parent.id if parent else None,
            "mode": request.mode,
            "instruction": instruction,
            "quality": request.quality,
            "backend": backend,
            "model": model,
            "region": request.region,
            "kind": error.kind,
            "message": redact(error.message),
            "usd": error.usd,
            "created": now_iso(),
            "request": dumps(saved),
        }
        with self.store.transaction() as db:
            if session_row is not None:
                Store.insert(db, "sessions", session_row)
            Store.insert(db, "attempts", row)
            db.execute(
                "UPDATE sessions SET updated = ? WHERE id = ?", [now_iso(), session_id]
            )
        return attempt_id


def _as_generation_error(exc: BaseException) -> GenerationError:
    if isinstance(exc, GenerationError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return Cancelled("Cancelled by the user.")
    if isinstance(exc, RipenError):
        error = GenerationError(exc.message)
        error.kind = exc.kind  # type: ignore[misc]
        return error
    log.exception("unexpected failure in a backend call")
    return GenerationError(
        redact(f"Unexpected failure in the backend: {type(exc).__name__}: {exc}")
    )


def _scrubbed(error: GenerationError) -> GenerationError:
    """The error with the key taken out of everything a user is shown of it."""
    error.message = redact(clean_text(error.message))
    error.args = (error.message,)
    for name in ("text", "reason"):
        value = getattr(error, name, None)
        if isinstance(value, str):
            setattr(error, name, redact(clean_text(value)))
    return error


def _lint_warnings(
    instruction: str, branch: list[Round], quality: str, budget: BudgetState
) -> list[dict[str, Any]]:
    """The linter's advice for a round; advice must never stop the round itself."""
    try:
        report = lint(instruction, branch, quality, budget)
    except Exception:
        log.exception("the linter failed on an instruction; the round goes ahead")
        return []
    return [warning.to_json() for warning in report.warnings]


def _check_quality(quality: str) -> None:
    if quality not in QUALITIES:
        raise BadInput(f"Quality {quality!r} is not one of: common, ultra.")


def _stage_for(request: GenerationRequest) -> str:
    if request.mode == "promote":
        return "final"
    if request.mode != "refine":
        return "foundation"
    return classify_stage(request.instruction)


def _title(title: str | None, prompt: str, ingested: list[IngestedImage]) -> str:
    if title and clean_text(title, single_line=True):
        return clean_text(title, single_line=True)[:MAX_TITLE]
    if prompt:
        first = prompt.splitlines()[0]
        return first[:60] + ("…" if len(first) > 60 else "")
    return clean_text(", ".join(item.source for item in ingested), single_line=True)[
        :60
    ]
