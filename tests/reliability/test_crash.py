"""A ripen process killed with SIGKILL mid-round loses nothing it had kept.

A laptop lid closes, a terminal is killed, the OOM killer strikes: the process
refining a round dies without a chance to clean up. Each test here starts a real
``ripen refine`` (or ``ripen new``) process against the loopback Gemini server and
kills it at one moment of the round: before the request leaves, while the service is
thinking, half way through the answer, during a retry wait, while the image file is
being written, renamed and committed. Afterwards the data folder must be as a user
would want it: the database intact, every round whole with the right image bytes, no
half-written image under a real name, the killed round either fully kept or fully
absent, and a restarted ripen able to carry on the branch.

A last test kills a local-backend round on a clock instead, at eight moments spread
over its run, in the same data folder, so the crashes pile up as they would on a
user's machine.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from core.config import load_config
from core.engine import Engine
from tests.conftest import sample
from tests.gemini_server import (
    GeminiServer,
    Reply,
    coffee_png,
    finish_block,
    rate_limited,
    slow,
    success,
)
from tests.reliability.support import REPO, Audit, audit, cli, write_config

CHILD_TIMEOUT = 30.0
"""Longest wait for a child to reach its moment; it normally takes about a second."""


@pytest.fixture(autouse=True)
def crash_config(ripen_home: Path) -> None:
    """Short timeouts, but a retry wait long enough to be killed in."""
    write_config(ripen_home, timeout=20, max_retry_wait=30, max_retries=2)


# --- the loopback server, able to stall half way through an answer ---------------


@dataclass
class Stalled(Reply):
    """An answer whose body stops half way and then hangs, connection open."""

    sent: threading.Event = field(default_factory=threading.Event)


def allow_stalls(server: GeminiServer) -> None:
    """Teach the running server to deliver :class:`Stalled` replies."""
    base: Any = server._httpd.RequestHandlerClass

    class StallingHandler(base):  # type: ignore[misc, valid-type]
        def _answer(self, reply: Reply) -> None:
            if not isinstance(reply, Stalled):
                super()._answer(reply)
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            reply.sent.set()
            server.stopping.wait(60)
            self.close_connection = True

    server._httpd.RequestHandlerClass = StallingHandler


# --- the child and its killing ----------------------------------------------------


class Child:
    """A ``ripen`` process running under :mod:`tests.reliability.crash_child`."""

    def __init__(self, moment: str, argv: list[str]) -> None:
        self.moment = moment
        read, write = os.pipe()
        self.signals = read
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.crash_child",
                moment,
                str(write),
                *argv,
                "--json",
            ],
            cwd=REPO,
            env=dict(os.environ),
            pass_fds=(write,),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        os.close(write)

    def wait_for_signal(self) -> str:
        """The name the child announces; fails if it ends or stalls first."""
        ready, _, _ = select.select([self.signals], [], [], CHILD_TIMEOUT)
        line = os.read(self.signals, 100).decode().strip() if ready else ""
        if not line:
            self.kill()
            raise AssertionError(f"child never reached {self.moment}: {self.output()}")
        return line

    def wait_until(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + CHILD_TIMEOUT
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.moment} never came: {self.output()}")
            time.sleep(0.005)

    def kill(self) -> bool:
        """SIGKILL the child; True if it was still running."""
        alive = self.process.poll() is None
        if alive:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        os.close(self.signals)
        return alive

    def output(self) -> str:
        self.process.wait(timeout=10)
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")


# --- a session to crash in --------------------------------------------------------


def two_round_branch(
    capsys: pytest.CaptureFixture[str], server: GeminiServer
) -> tuple[str, str]:
    """A Gemini session with a two-round branch; returns (session, last round)."""
    server.push(success(text="A cup of coffee."))
    base = cli(capsys, "new", "a cup of coffee on a table", "--backend", "gemini")
    assert base.code == 0, base.data
    server.push(success(png=coffee_png(200), text="Closer."))
    second = cli(capsys, "refine", base.data["round"], "zoom in slightly")
    assert second.code == 0, second.data
    return base.data["session"], second.data["round"]


def carry_on(home: Path, server: GeminiServer, after: Audit) -> Audit:
    """A restarted ripen refines the session's newest round; the branch grows by one."""
    newest = max(after.rounds, key=lambda row: row["number"])
    engine = Engine(load_config(home))
    try:
        server.replies.clear()
        server.push(success(png=coffee_png(180), text="Carried on."))
        carried = engine.refine(newest["id"], "a little more contrast")
    finally:
        engine.store.close()
    assert carried.parent == newest["id"]
    assert carried.number == newest["number"] + 1
    later = audit(home)
    assert later.round_ids == [*after.round_ids, carried.id]
    # Credits are what the kept rounds cost: nothing for the killed one.
    assert sum(row["credits"] for row in later.rounds) == 20 * len(later.rounds)
    return later


# --- the moments -----------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """Where a kill lands, what the server answers, and whether the round survives.

    A moment with ``until`` is the parent's to time: the child is killed once the
    server's state satisfies it (plus ``linger`` seconds). The others are hooks the
    child stops at by itself.
    """

    name: str
    replies: Callable[[], list[Reply]] = lambda: [answer()]
    command: str = "refine"
    kept: bool = False
    until: Callable[[GeminiServer, list[Reply]], bool] | None = None
    linger: float = 0.0


def answer() -> Reply:
    return success(png=coffee_png(240), text="Warmer.")


def requests_seen(count: int) -> Callable[[GeminiServer, list[Reply]], bool]:
    """True once the child's ``count``-th request arrived (the setup sent two)."""
    return lambda server, _: len(server.requests) >= 2 + count


def stall_sent(server: GeminiServer, replies: list[Reply]) -> bool:
    return any(isinstance(r, Stalled) and r.sent.is_set() for r in replies)


def stalled_answer() -> list[Reply]:
    reply = answer()
    return [Stalled(status=reply.status, body=reply.body)]


MOMENTS = [
    # Before anything leaves the machine.
    Moment("before_request"),
    # While the request is with the service.
    Moment("request_received", lambda: [slow(success(), 60)], until=requests_seen(1)),
    Moment(
        "service_thinking",
        lambda: [slow(success(), 60)],
        until=requests_seen(1),
        linger=0.5,
    ),
    Moment("answer_half_received", stalled_answer, until=stall_sent),
    Moment(
        "retry_wait",
        lambda: [rate_limited(retry_after=20)],
        until=requests_seen(1),
        linger=0.3,
    ),
    Moment(
        "second_try_in_flight",
        lambda: [rate_limited(retry_after=0.1), slow(success(), 60)],
        until=requests_seen(2),
    ),
    # With the answer in hand, while the image is written.
    Moment("answer_received"),
    Moment("temp_file_created"),
    Moment("half_written"),
    Moment("before_fsync"),
    Moment("before_rename"),
    Moment("after_rename"),
    # While the round is committed.
    Moment("transaction_begun"),
    Moment("round_row_inserted"),
    Moment("search_row_inserted"),
    Moment("before_commit"),
    Moment("after_commit", kept=True),
    # A failure being recorded.
    Moment("attempt_row_inserted", lambda: [finish_block("IMAGE_SAFETY")]),
    # A new session from a photo: the photo half stored, the session half made.
    Moment("half_written", command="new"),
    Moment("before_commit", command="new"),
]


def moment_id(moment: Moment) -> str:
    return moment.name if moment.command == "refine" else f"new-{moment.name}"


@pytest.mark.parametrize("moment", MOMENTS, ids=moment_id)
def test_killed_mid_round(
    moment: Moment,
    capsys: pytest.CaptureFixture[str],
    gemini_server: GeminiServer,
    ripen_home: Path,
    tmp_path: Path,
) -> None:
    allow_stalls(gemini_server)
    session, last = two_round_branch(capsys, gemini_server)
    before = audit(ripen_home)
    replies = moment.replies()
    gemini_server.push(*replies)

    if moment.command == "new":
        photo = tmp_path / "photo.png"
        sample("chelsea", 256).save(photo)
        argv = ["new", "tidy this photo", "--image", str(photo), "--backend", "gemini"]
    else:
        argv = ["refine", last, "warmer light on the cup"]
    child = Child("none" if moment.until else moment.name, argv)
    if moment.until is not None:
        until = moment.until
        child.wait_until(lambda: until(gemini_server, replies))
        time.sleep(moment.linger)
    else:
        assert child.wait_for_signal() == moment.name
    assert child.kill(), "the child finished before it could be killed"

    after = audit(ripen_home)
    assert after.sessions == before.sessions + (moment.kept and moment.command == "new")
    assert [a["id"] for a in after.attempts] == [a["id"] for a in before.attempts]
    if moment.kept:
        assert after.round_ids[: len(before.rounds)] == before.round_ids
        assert len(after.rounds) == len(before.rounds) + 1
        assert after.rounds[-1]["parent"] == last
    else:
        assert after.round_ids == before.round_ids
    # Any file left behind is a whole image under its own name, or a temporary one.
    assert before.files <= after.files
    assert len(after.temporary) <= 1
    later = carry_on(ripen_home, gemini_server, after)
    assert later.rounds[-1]["session"] == session


# --- kills on a clock ------------------------------------------------------------


def test_kills_spread_over_a_local_round(
    capsys: pytest.CaptureFixture[str], ripen_home: Path, tmp_path: Path
) -> None:
    photo = tmp_path / "coffee-large.png"
    sample("coffee").resize((1200, 800), Image.Resampling.BICUBIC).save(photo)
    base = cli(capsys, "new", "", "--image", str(photo), "--backend", "local")
    assert base.code == 0, base.data
    instruction = "blur the background, add film grain and a strong vignette"
    argv = ["refine", base.data["round"], instruction]

    # One uninterrupted run, to know how long a round takes from process start.
    timing = Child("started", argv)
    assert timing.wait_for_signal() == "started"
    started = time.monotonic()
    assert timing.process.wait(timeout=CHILD_TIMEOUT) == 0, timing.output()
    duration = time.monotonic() - started
    os.close(timing.signals)
    before = audit(ripen_home)
    assert len(before.rounds) == 2

    outcomes = []
    for step in range(1, 9):
        child = Child("started", argv)
        assert child.wait_for_signal() == "started"
        time.sleep(duration * step / 9)
        killed = child.kill()
        after = audit(ripen_home)
        assert after.round_ids[: len(before.round_ids)] == before.round_ids
        kept = len(after.round_ids) - len(before.round_ids)
        # A kill after the commit keeps the round; a finished child must have.
        assert kept in (0, 1) and (killed or kept == 1)
        outcomes.append((round(duration * step / 9, 2), killed, kept))
        before = after
    print(f"round takes {duration:.2f} s; (kill at, killed, kept): {outcomes}")
    print(f"temporary files left: {len(before.temporary)}")
    # The early kills land before the round is saved; the branch still carries on.
    assert sum(not kept for _, _, kept in outcomes) >= 2

    engine = Engine(load_config(ripen_home))
    try:
        carried = engine.refine(base.data["round"], "rotate 90 degrees")
    finally:
        engine.store.close()
    assert (carried.width, carried.height) == (800, 1200)
    audit(ripen_home)


def test_temporary_files_left_by_crashes_do_not_pile_up(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer, ripen_home: Path
) -> None:
    """Each crash mid-write leaves a file the size of an image; none may pile up."""
    _, last = two_round_branch(capsys, gemini_server)
    for _ in range(3):
        gemini_server.push(answer())
        child = Child("half_written", ["refine", last, "warmer light on the cup"])
        assert child.wait_for_signal() == "half_written"
        assert child.kill()
    left = audit(ripen_home).temporary
    assert len(left) == 3
    # Crashed long ago: their writers are certainly gone.
    two_hours_ago = time.time() - 7200
    for path in left:
        os.utime(path, (two_hours_ago, two_hours_ago))
    # One being written right now by another process must be left alone.
    writing = left[0].parent / ".tmp-being-written"
    writing.write_bytes(b"\x89PNG half")

    Engine(load_config(ripen_home)).store.close()  # ripen starts again

    assert audit(ripen_home).temporary == [writing]
