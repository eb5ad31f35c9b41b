"""Every way the Gemini service can fail a round, as a user of the CLI meets it.

The loopback server injects each failure of the Gemini issue into a real ``ripen
refine``: a block, a text-only answer, an unknown finish reason, rate limits, a
service that is down, a bad key, a refused request, broken image data, a service
that never answers and a connection dropped half way. Whatever happens, the user
must get the failure's own kind in one line of JSON with exit code 1, an attempt
they can see in the tree, no credits charged, no stray image, the session exactly
as it was, and a next round that works.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gemini_server import (
    FAKE_KEY,
    GeminiServer,
    Reply,
    bad_base64,
    bad_request,
    content_reply,
    daily_quota,
    dropped,
    finish_block,
    invalid_key,
    never_answers,
    prompt_block,
    rate_limited,
    server_error,
    slow,
    success,
    text_only,
    truncated_png,
    unauthorised,
)
from tests.reliability.support import REPO, Outcome, audit, cli, one_json_line
from tests.reliability.support import write_config as config_file

TIMEOUT = 2


@pytest.fixture(autouse=True)
def quick_config(ripen_home: Path) -> None:
    """The user's config.toml: a 2 s timeout and a 1 s cap on retry waits."""
    config_file(ripen_home, timeout=TIMEOUT, max_retry_wait=1, max_retries=2)


@dataclass(frozen=True)
class Fault:
    """A failure the server injects and the error kind the user must see."""

    name: str
    replies: tuple[Reply, ...]
    kind: str
    no_key: bool = False


BLOCK_REASONS = (
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "IMAGE_OTHER",
    "NO_IMAGE",
    "SAFETY",
    "PROHIBITED_CONTENT",
)

FAULTS = [
    *(
        Fault(f"blocked-{reason}", (finish_block(reason, "Try again."),), "blocked")
        for reason in BLOCK_REASONS
    ),
    Fault("prompt-blocked", (prompt_block("PROHIBITED_CONTENT"),), "blocked"),
    Fault("text-only", (text_only("Which cup do you mean?"),), "no_image"),
    Fault(
        "unknown-finish-reason",
        (content_reply([], finish="IMAGE_NEW_REASON_2027"),),
        "failed",
    ),
    Fault(
        "rate-limited-every-try",
        tuple(rate_limited(retry_after=0.05) for _ in range(3)),
        "rate_limited",
    ),
    Fault(
        "rate-limit-wait-over-the-cap",
        (rate_limited(retry_delay="120s"),),
        "rate_limited",
    ),
    Fault("daily-quota", (daily_quota(),), "rate_limited"),
    *(
        Fault(
            f"server-{code}", tuple(server_error(code) for _ in range(3)), "unavailable"
        )
        for code in (500, 502, 503, 504)
    ),
    Fault("unauthorised-401", (unauthorised(401),), "auth"),
    Fault("forbidden-403", (unauthorised(403),), "auth"),
    Fault("invalid-key", (invalid_key(),), "auth"),
    Fault("no-key-set", (), "auth", no_key=True),
    Fault(
        "bad-request", (bad_request("Unsupported aspect ratio: 7:1."),), "bad_request"
    ),
    Fault("bad-base64", (bad_base64(),), "failed"),
    Fault("truncated-png", (truncated_png(),), "failed"),
    Fault("never-answers", (never_answers(),), "timeout"),
    Fault("slower-than-the-timeout", (slow(success(), 30),), "timeout"),
    Fault("dropped-half-way", tuple(dropped() for _ in range(3)), "unavailable"),
]


def start(capsys: pytest.CaptureFixture[str], server: GeminiServer) -> Outcome:
    server.push(success(text="A cup of coffee."))
    base = cli(capsys, "new", "a cup of coffee on a table", "--backend", "gemini")
    assert base.code == 0, base.data
    return base


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.name)
def test_failure_is_typed_recorded_and_free(
    fault: Fault,
    capsys: pytest.CaptureFixture[str],
    gemini_server: GeminiServer,
    ripen_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = start(capsys, gemini_server)
    tree_before = cli(capsys, "tree", base.data["session"]).data
    files_before = audit(ripen_home).files
    gemini_server.push(*fault.replies)
    if fault.no_key:
        monkeypatch.delenv("GEMINI_API_KEY")

    began = time.monotonic()
    failed = cli(capsys, "refine", base.data["round"], "warmer light on the cup")
    took = time.monotonic() - began

    assert (failed.code, failed.kind) == (1, fault.kind), failed.data
    error = failed.data["error"]
    assert error["attempt"] and error["message"]
    assert FAKE_KEY not in failed.err + error["message"]
    assert "Traceback" not in failed.err
    # Bounded: at most the timeout plus the capped retry wait, and some slack.
    assert took < TIMEOUT + 1 + 3
    if fault.no_key:
        assert len(gemini_server.requests) == 1  # refused before sending
        monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)

    tree = cli(capsys, "tree", base.data["session"]).data
    assert tree["rounds"] == tree_before["rounds"]
    assert tree["credits"] == tree_before["credits"] == 20
    assert tree["attempts"] == [
        {
            "attempt": error["attempt"],
            "parent": base.data["round"],
            "kind": fault.kind,
            "message": error["message"],
        }
    ]
    held = audit(ripen_home)
    assert held.files == files_before and held.temporary == []

    # The session carries on as if the failure had not happened.
    gemini_server.replies.clear()
    gemini_server.push(success(text="Warmer now."))
    again = cli(capsys, "refine", base.data["round"], "warmer light on the cup")
    assert again.code == 0, again.data
    assert again.data["parent"] == base.data["round"]
    assert again.data["session_credits"] == 40


def test_interrupted_while_the_service_is_silent(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer, ripen_home: Path
) -> None:
    """Ctrl-C during a request that never ends returns at once, as a cancelled try."""
    base = start(capsys, gemini_server)
    gemini_server.push(never_answers())
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.cli",
            "refine",
            base.data["round"],
            "warmer light on the cup",
            "--json",
        ],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(gemini_server.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(gemini_server.requests) == 2, "the request never arrived"
    time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    out, err = child.communicate(timeout=10)
    # Cancelling takes under a second; the rest is the interpreter shutting down.
    assert time.monotonic() - interrupted < 2.0
    assert "Traceback" not in err

    assert child.returncode == 1, err
    error = one_json_line(out)["error"]
    assert error["kind"] == "cancelled" and error["attempt"]
    tree = cli(capsys, "tree", base.data["session"]).data
    assert tree["credits"] == 20 and len(tree["rounds"]) == 1
    assert [a["kind"] for a in tree["attempts"]] == ["cancelled"]


def test_a_blocked_first_round_leaves_an_empty_session_that_reports_it(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer, ripen_home: Path
) -> None:
    gemini_server.push(finish_block("IMAGE_SAFETY"))
    failed = cli(capsys, "new", "a cup of coffee", "--backend", "gemini")
    assert (failed.code, failed.kind) == (1, "blocked")

    (session,) = cli(capsys, "sessions").data["sessions"]
    assert session["rounds"] == 0 and session["credits"] == 0
    tree = cli(capsys, "tree", session["session"]).data
    assert tree["rounds"] == []
    assert [a["kind"] for a in tree["attempts"]] == ["blocked"]
    retried = cli(capsys, "retry", failed.data["error"]["attempt"])
    assert (retried.code, retried.kind) == (2, "bad_input")
    assert audit(ripen_home).files == set()


def test_promote_failure_is_free(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer
) -> None:
    base = start(capsys, gemini_server)
    gemini_server.push(*(server_error(503) for _ in range(3)))
    failed = cli(capsys, "promote", base.data["round"])
    assert (failed.code, failed.kind) == (1, "unavailable")

    gemini_server.replies.clear()
    gemini_server.push(success(text="Final."))
    retried = cli(capsys, "retry", failed.data["error"]["attempt"])
    assert retried.code == 0, retried.data
    assert retried.data["mode"] == "promote"
    assert retried.data["session_credits"] == 20 + 40


def test_ab_with_one_alternative_blocked_keeps_the_other(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer
) -> None:
    base = start(capsys, gemini_server)
    # The two alternatives race, so either may meet the block: both outcomes count.
    gemini_server.push(finish_block("IMAGE_SAFETY"), success(text="Cooler."))
    pair = cli(capsys, "ab", base.data["round"], "warmer light", "cooler light")

    assert pair.code == 1
    (kept,) = pair.data["rounds"]
    (error,) = pair.data["errors"]
    assert error["kind"] == "blocked" and error["attempt"]
    assert kept["parent"] == base.data["round"]
    assert kept["session_credits"] == 40
    tree = cli(capsys, "tree", base.data["session"]).data
    assert tree["credits"] == 40 and len(tree["rounds"]) == 2
    assert [a["attempt"] for a in tree["attempts"]] == [error["attempt"]]
