"""The engine and store: the round tree, attempts, credits and files on disk."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from core.backends.base import BlobStore, GenerationRequest, GenerationResult
from core.cancel import CancelToken, ProgressCallback
from core.config import load_config
from core.engine import Engine
from core.errors import (
    BadInput,
    Blocked,
    BudgetExceeded,
    Cancelled,
    NotFound,
    NotUnderstood,
)
from core.models import Round
from core.store import SCHEMA_VERSION
from tests.paid_backend import PaidBackend


@pytest.fixture
def engine() -> Engine:
    return Engine(load_config(), backends={"paid": PaidBackend()})


def paid(engine: Engine) -> PaidBackend:
    backend = engine.backend("paid")
    assert isinstance(backend, PaidBackend)
    return backend


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_session_from_photo_stores_content_addressed_files(
    engine: Engine, coffee_path: Path, ripen_home: Path
) -> None:
    first = engine.new_session("", [coffee_path], backend="local")

    assert first.mode == "edit"
    assert first.number == 1
    assert (first.width, first.height) == (600, 400)
    assert first.image == ripen_home / "images" / first.image_sha[:2] / (
        first.image_sha + ".png"
    )
    assert sha_of(first.image) == first.image_sha
    (source,) = engine.inputs(first.id)
    assert source["source"] == "coffee.jpg"
    assert sha_of(source["path"]) == source["image"]


def test_same_pixels_take_one_file(engine: Engine, coffee_path: Path) -> None:
    a = engine.new_session("", [coffee_path], backend="local")
    b = engine.new_session("", [coffee_path], backend="local")

    assert a.session != b.session
    assert a.image_sha == b.image_sha
    files = [p for p in engine.blobs.root.rglob("*") if p.is_file()]
    assert len(files) == 1  # the photo and both base rounds share one PNG


def test_branch_path_and_tree_survive_a_restart(
    engine: Engine, coffee_path: Path
) -> None:
    base = engine.new_session("", [coffee_path], backend="local")
    r2 = engine.refine(base.id, "crop in slightly")
    r3 = engine.refine(r2.id, "increase the contrast")
    sibling = engine.refine(r2.id, "make it black and white")

    assert [r.number for r in engine.path(r3.id)] == [1, 2, 3]
    assert [r.number for r in engine.path(sibling.id)] == [1, 2, 4]
    before = engine.tree(base.session).to_json()

    restarted = Engine(load_config())
    after = restarted.tree(base.session).to_json()
    assert after == before
    assert [r.id for r in restarted.path(sibling.id)] == [base.id, r2.id, sibling.id]
    assert {r["round"]: r["parent"] for r in after["rounds"]} == {
        base.id: None,
        r2.id: base.id,
        r3.id: r2.id,
        sibling.id: r2.id,
    }
    for r in after["rounds"]:
        assert sha_of(Path(r["image"])) == Path(r["image"]).stem
    assert after["current"] == sibling.id


def test_failed_call_leaves_one_attempt_and_nothing_else(
    engine: Engine, coffee_path: Path
) -> None:
    base = engine.new_session("", [coffee_path], backend="local")
    files_before = sorted(engine.blobs.root.rglob("*.png"))

    with pytest.raises(NotUnderstood) as caught:
        engine.refine(base.id, "make it better")

    tree = engine.tree(base.session)
    assert len(tree.rounds) == 1
    (attempt,) = tree.attempts
    assert attempt.id == caught.value.attempt
    assert attempt.kind == "not_understood"
    assert attempt.parent == base.id
    assert sorted(engine.blobs.root.rglob("*.png")) == files_before
    assert tree.session.credits == 0


def test_credits_charged_only_for_rounds(engine: Engine) -> None:
    base = engine.new_session("a watch on dark wood", backend="paid")
    paid(engine).fail_next = Blocked("blocked", reason="IMAGE_SAFETY")
    with pytest.raises(Blocked):
        engine.refine(base.id, "increase the contrast")
    engine.refine(base.id, "increase the contrast", quality="ultra")

    session = engine.session(base.session)
    assert session.credits == 20 + 40
    assert [a.kind for a in engine.tree(base.session).attempts] == ["blocked"]


def test_hard_budget_refuses_unless_over_budget(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid", budget=30, hard_budget=True)
    with pytest.raises(BudgetExceeded) as caught:
        engine.refine(base.id, "increase the contrast")
    assert "20 credits" in caught.value.message and "30" in caught.value.message
    assert engine.session(base.session).rounds == 1

    engine.refine(base.id, "increase the contrast", over_budget=True)
    assert engine.session(base.session).credits == 40


def test_cancel_during_a_call_records_a_cancelled_attempt(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid")
    backend = paid(engine)
    backend.gate = threading.Event()
    token = CancelToken()
    timer = threading.Timer(0.2, token.cancel)
    timer.start()
    with pytest.raises(Cancelled):
        engine.refine(base.id, "increase the contrast", cancel=token)
    timer.join()

    tree = engine.tree(base.session)
    assert [a.kind for a in tree.attempts] == ["cancelled"]
    assert len(tree.rounds) == 1 and tree.session.credits == 20


def test_ab_rounds_are_numbered_in_the_order_given_whichever_answers_first() -> None:
    class FirstIsSlow(PaidBackend):
        def generate(
            self,
            request: GenerationRequest,
            blobs: BlobStore,
            progress: ProgressCallback,
            cancel: CancelToken,
        ) -> GenerationResult:
            if "first" in request.instruction:
                cancel.wait(0.3)  # the second answers well before it
            return super().generate(request, blobs, progress, cancel)

    engine = Engine(load_config(), backends={"paid": FirstIsSlow()})
    base = engine.new_session("a watch", backend="paid")
    first, second = engine.ab(base.id, ["first: warmer light", "second: cooler"])
    assert isinstance(first, Round) and isinstance(second, Round)
    assert (first.number, second.number) == (2, 3)
    assert second.created < first.created  # the second answered first, yet is #3


def test_ab_runs_alternatives_concurrently(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid")
    backend = paid(engine)
    backend.gate = threading.Event()
    seen: list[int] = []

    def release_when_both_waiting() -> None:
        while len(backend.requests) < 3:  # the base request plus both alternatives
            threading.Event().wait(0.01)
        seen.append(len(backend.requests))
        assert backend.gate is not None
        backend.gate.set()

    threading.Thread(target=release_when_both_waiting, daemon=True).start()
    a, b = engine.ab(base.id, ["warmer light", "cooler light"])

    assert seen == [3]  # both calls were in flight at once
    assert not isinstance(a, Exception) and not isinstance(b, Exception)
    assert a.parent == b.parent == base.id
    assert {a.number, b.number} == {2, 3}
    winner = engine.mark_winner(b.id)
    assert winner.winner and not engine.round(a.id).winner


def test_marks_notes_and_restore(engine: Engine, coffee_path: Path) -> None:
    base = engine.new_session("", [coffee_path], backend="local")
    child = engine.refine(base.id, "brighten slightly")

    assert engine.star(child.id).starred
    assert not engine.star(child.id).starred
    assert engine.note(child.id, "good exposure").note == "good exposure"
    engine.restore(base.id)
    assert engine.session(base.session).current_round == base.id


def test_unknown_ids_and_bad_options_are_refused(
    engine: Engine, coffee_path: Path
) -> None:
    with pytest.raises(NotFound):
        engine.refine("zzzzzz", "brighten")
    base = engine.new_session("", [coffee_path], backend="local")
    with pytest.raises(BadInput, match="empty"):
        engine.refine(base.id, "  \x00\x07 \t\n ")
    with pytest.raises(BadInput, match="Aspect ratio"):
        engine.new_session("a watch", aspect="7:5", backend="local")
    with pytest.raises(BadInput, match="three"):
        engine.new_session("x", [coffee_path] * 4, backend="local")
    assert engine.session(base.session).rounds == 1


def test_delete_session_keeps_images_other_sessions_use(
    engine: Engine, coffee_path: Path
) -> None:
    keep = engine.new_session("", [coffee_path], backend="local")
    doomed = engine.new_session("", [coffee_path], backend="local")
    extra = engine.refine(doomed.id, "make it black and white")

    removed = engine.delete_session(doomed.session)

    assert removed == 1
    assert keep.image.exists() and not extra.image.exists()
    with pytest.raises(NotFound):
        engine.session(doomed.session)


def test_schema_is_versioned(engine: Engine) -> None:
    assert engine.store.schema_version == SCHEMA_VERSION
    mode = engine.store.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_hard_budget_holds_against_two_processes_at_once() -> None:
    # Two engines on one data folder stand for two processes: while the first one's
    # call is in flight, the second cannot spend the credits it has taken.
    slow = PaidBackend()
    first = Engine(load_config(), backends={"paid": slow})
    base = first.new_session("a watch", backend="paid", budget=40, hard_budget=True)
    second = Engine(load_config(), backends={"paid": PaidBackend()})
    slow.gate = threading.Event()
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(first.refine(base.id, "warmer light"))
    )
    worker.start()
    while not slow.requests[1:]:  # the first call is in flight
        threading.Event().wait(0.01)
    with pytest.raises(BudgetExceeded, match="20 more held by calls in flight"):
        second.refine(base.id, "cooler light")
    slow.gate.set()
    worker.join(5)
    assert isinstance(outcome[0], Round)
    assert second.session(base.session).credits == 40  # never over the budget
    assert second.store.all("SELECT * FROM reservations") == []


def test_a_failed_call_gives_its_held_credits_back(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid", budget=40, hard_budget=True)
    paid(engine).fail_next = Blocked("blocked", reason="IMAGE_SAFETY")
    with pytest.raises(Blocked):
        engine.refine(base.id, "warmer light")
    assert engine.store.all("SELECT * FROM reservations") == []
    assert engine.refine(base.id, "warmer light").credits == 20


def test_credits_held_by_a_process_that_died_expire(engine: Engine) -> None:
    base = engine.new_session("a watch", backend="paid", budget=40, hard_budget=True)
    with engine.store.transaction() as db:
        db.execute(
            "INSERT INTO reservations (id, session, credits, created) "
            "VALUES ('gone01', ?, 20, '2020-01-01T00:00:00.000+00:00')",
            [base.session],
        )
    assert engine.refine(base.id, "warmer light").credits == 20
    assert engine.store.all("SELECT * FROM reservations") == []
