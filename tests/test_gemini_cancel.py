"""Cancelling a Gemini round returns control within a second, whatever it is doing.

The user presses a key while the service is still thinking, or while ripen waits out
a rate limit; the call must stop at once, say it was cancelled, and send nothing more.
Waits also report a countdown each second so the interface can show it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.backends.base import GenerationRequest
from core.blobs import Blobs
from core.cancel import CancelToken, Progress
from core.errors import Cancelled
from tests.gemini_server import (
    GeminiServer,
    Reports,
    make_backend,
    never_answers,
    rate_limited,
    serve,
    slow,
    success,
)


@pytest.fixture
def gemini_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    yield from serve(monkeypatch)


@pytest.fixture
def blobs(tmp_path: Path) -> Blobs:
    return Blobs(tmp_path / "images")


REQUEST = GenerationRequest(mode="generate", instruction="a cup of coffee")


def cancel_after(token: CancelToken, seconds: float) -> list[float]:
    """Flip ``token`` from another thread after ``seconds``; returns when it did."""
    flipped: list[float] = []

    def flip() -> None:
        flipped.append(time.monotonic())
        token.cancel()

    timer = threading.Timer(seconds, flip)
    timer.daemon = True
    timer.start()
    return flipped


def test_cancel_during_a_slow_answer(gemini_server: GeminiServer, blobs: Blobs) -> None:
    gemini_server.push(slow(success(), 10.0))
    token = CancelToken()
    flipped = cancel_after(token, 0.3)

    with pytest.raises(Cancelled):
        make_backend().generate(REQUEST, blobs, Reports(), token)

    assert time.monotonic() - flipped[0] < 1.0
    assert len(gemini_server.requests) == 1


def test_cancel_when_the_service_never_answers(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(never_answers())
    token = CancelToken()
    flipped = cancel_after(token, 1.2)
    reports = Reports()

    with pytest.raises(Cancelled):
        make_backend().generate(REQUEST, blobs, reports, token)

    assert time.monotonic() - flipped[0] < 1.0
    assert [r.phase for r in reports] == ["sending", "waiting"]


def test_cancel_during_a_backoff_wait(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(rate_limited(retry_after=5), success())
    backend = make_backend(max_retry_wait=30.0)
    token = CancelToken()
    timers: list[list[float]] = []

    def progress(report: Progress) -> None:
        if report.phase == "retrying" and not timers:
            timers.append(cancel_after(token, 0.4))

    with pytest.raises(Cancelled, match="waiting to retry"):
        backend.generate(REQUEST, blobs, progress, token)

    assert time.monotonic() - timers[0][0] < 1.0
    assert len(gemini_server.requests) == 1


def test_cancelled_before_sending_sends_nothing(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    token = CancelToken()
    token.cancel()

    with pytest.raises(Cancelled):
        make_backend().generate(REQUEST, blobs, Reports(), token)

    assert gemini_server.requests == []


def test_backoff_counts_down_each_second(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(rate_limited(retry_after=2.5), success())
    reports = Reports()

    make_backend().generate(REQUEST, blobs, reports, CancelToken())

    retrying = [r for r in reports if r.phase == "retrying"]
    assert [r.retry_in for r in retrying] == [
        pytest.approx(2.5),
        pytest.approx(1.5),
        pytest.approx(0.5),
    ]
    assert [r.message for r in retrying] == [
        "Rate limited; retrying in 3 s",
        "Rate limited; retrying in 2 s",
        "Rate limited; retrying in 1 s",
    ]
    assert {r.attempt for r in retrying} == {2}
