"""Every way a Gemini round can fail, as the user sees it.

Each failure must arrive as its typed error with a message that says what happened
(the service's reason and words where it gave them), retry only what retrying can
cure, keep within the configured wait, and never quote the API key.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.backends.base import GenerationRequest, GenerationResult
from core.backends.gemini import GeminiBackend
from core.blobs import Blobs
from core.cancel import CancelToken
from core.errors import (
    AuthError,
    BadRequest,
    Blocked,
    GenerationError,
    NoImage,
    RateLimited,
    Timeout,
    Unavailable,
)
from tests.gemini_server import (
    FAKE_KEY,
    GeminiServer,
    Reports,
    bad_base64,
    bad_request,
    coffee_png,
    content_reply,
    daily_quota,
    dropped,
    finish_block,
    invalid_key,
    make_backend,
    prompt_block,
    rate_limited,
    serve,
    server_error,
    slow,
    success,
    text_only,
    truncated_png,
    unauthorised,
)


@pytest.fixture
def gemini_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    yield from serve(monkeypatch)


@pytest.fixture
def blobs(tmp_path: Path) -> Blobs:
    return Blobs(tmp_path / "images")


def attempt(
    blobs: Blobs,
    backend: GeminiBackend | None = None,
    reports: Reports | None = None,
    **fields: Any,
) -> GenerationResult:
    request = GenerationRequest(
        mode="generate", instruction="a cup of coffee on a table", **fields
    )
    backend = backend or make_backend()
    progress = reports if reports is not None else Reports()
    return backend.generate(request, blobs, progress, CancelToken())


def failure(blobs: Blobs, kind: type[GenerationError], **kwargs: Any) -> Any:
    """The error a round raised; it must be exactly ``kind`` and keep the key out."""
    with pytest.raises(GenerationError) as caught:
        attempt(blobs, **kwargs)
    error = caught.value
    assert type(error) is kind, (type(error), error.message)
    assert FAKE_KEY not in error.message
    assert FAKE_KEY not in str(error)
    return error


# --- the service declines ---------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    [
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "SAFETY",
        "PROHIBITED_CONTENT",
    ],
)
def test_finish_reason_blocks(
    gemini_server: GeminiServer, blobs: Blobs, reason: str
) -> None:
    gemini_server.push(finish_block(reason, "Try rephrasing the prompt."))

    error = failure(blobs, Blocked)

    assert error.reason == reason
    assert error.message == (
        f"Gemini declined to draw: {reason}. Try rephrasing the prompt."
    )
    assert len(gemini_server.requests) == 1


def test_blocked_attempt_keeps_what_the_service_charged(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(finish_block("IMAGE_SAFETY"))

    error = failure(blobs, Blocked)

    assert error.usage.input == 1290
    assert error.usd == pytest.approx(1290 * 0.30 / 1e6 + 10 * 2.5 / 1e6 + 0.0387)


def test_prompt_feedback_block(gemini_server: GeminiServer, blobs: Blobs) -> None:
    gemini_server.push(prompt_block("PROHIBITED_CONTENT", "The prompt was refused."))

    error = failure(blobs, Blocked)

    assert error.reason == "PROHIBITED_CONTENT"
    assert "PROHIBITED_CONTENT" in error.message
    assert "The prompt was refused." in error.message


def test_text_only_answer_shows_the_text(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    question = "Do you want the cup on the left or on the right?"
    gemini_server.push(text_only(question))

    error = failure(blobs, NoImage)

    assert error.text == question
    assert question in error.message


def test_unknown_finish_reason_fails_quietly(
    gemini_server: GeminiServer, blobs: Blobs, capfd: pytest.CaptureFixture[str]
) -> None:
    gemini_server.push(
        content_reply([], finish="IMAGE_NEW_REASON_2027", finish_message="Unusual.")
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = failure(blobs, GenerationError)

    assert error.message == (
        "Gemini stopped for a reason ripen does not know, "
        "IMAGE_NEW_REASON_2027: Unusual."
    )
    assert [str(w.message) for w in caught] == []
    out, err = capfd.readouterr()
    assert out == err == ""


# --- rate limits and retries -------------------------------------------------


def test_rate_limit_then_success_honours_retry_after(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(rate_limited(retry_after=0.3), success())
    reports = Reports()

    result = attempt(blobs, reports=reports)

    assert result.image == coffee_png()
    assert len(gemini_server.requests) == 2
    countdown = [r.retry_in for r in reports if r.phase == "retrying"]
    assert countdown == [pytest.approx(0.3)]
    assert [r.attempt for r in reports if r.phase == "sending"] == [1, 2]


def test_retry_info_in_the_body_is_honoured(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(rate_limited(retry_after=0.1, retry_delay="0.4s"), success())
    reports = Reports()

    attempt(blobs, reports=reports)

    countdown = [r.retry_in for r in reports if r.phase == "retrying"]
    assert countdown == [pytest.approx(0.4)]


def test_retry_delay_longer_than_the_cap_is_not_waited(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(rate_limited(retry_delay="120s"))
    started = time.monotonic()

    error = failure(blobs, RateLimited)

    assert time.monotonic() - started < 1.0
    assert len(gemini_server.requests) == 1
    assert "asked to wait 120 s" in error.message
    assert "3 s limit (gemini.max_retry_wait)" in error.message


def test_rate_limited_past_the_retries(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(*(rate_limited(retry_after=0.05) for _ in range(4)))

    error = failure(blobs, RateLimited)

    assert len(gemini_server.requests) == 4  # the first try and max_retries = 3
    assert "Gave up after 4 tries" in error.message


def test_daily_quota_is_not_retried(gemini_server: GeminiServer, blobs: Blobs) -> None:
    gemini_server.push(daily_quota(), success())

    error = failure(blobs, RateLimited)

    assert len(gemini_server.requests) == 1
    assert "daily quota for gemini-2.5-flash-image is used up" in error.message
    assert "PerDay" in error.message


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_are_retried(
    gemini_server: GeminiServer, blobs: Blobs, code: int
) -> None:
    gemini_server.push(server_error(code), success())
    reports = Reports()

    result = attempt(blobs, reports=reports)

    assert result.image == coffee_png()
    assert len(gemini_server.requests) == 2
    # No delay from the service: our own backoff, 0.05 s first step with jitter.
    (wait,) = [r.retry_in for r in reports if r.phase == "retrying"]
    assert wait is not None and 0.025 <= wait <= 0.05


def test_service_down_past_the_retries(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(*(server_error(503) for _ in range(4)))

    error = failure(blobs, Unavailable)

    assert "503" in error.message
    assert len(gemini_server.requests) == 4


def test_backoff_doubles_until_the_total_cap(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    backend = make_backend(max_retries=10, max_retry_wait=0.5)
    gemini_server.push(*(server_error(500) for _ in range(10)))
    reports = Reports()

    error = failure(blobs, Unavailable, backend=backend, reports=reports)

    waits = [r.retry_in or 0 for r in reports if r.phase == "retrying"]
    assert all(
        later > earlier for earlier, later in zip(waits, waits[1:], strict=False)
    )
    assert sum(waits) <= 0.5
    assert "gemini.max_retry_wait is 0.5 s" in error.message


def test_dropped_connection_is_retried(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(dropped(), success())

    result = attempt(blobs)

    assert result.image == coffee_png()
    assert len(gemini_server.requests) == 2


def test_connection_dropping_every_time(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(*(dropped() for _ in range(4)))

    error = failure(blobs, Unavailable)

    assert "connection to Gemini dropped" in error.message


# --- refused requests ----------------------------------------------------------


@pytest.mark.parametrize("reply", [unauthorised(401), unauthorised(403), invalid_key()])
def test_bad_key_names_the_variables(
    gemini_server: GeminiServer, blobs: Blobs, reply: Any
) -> None:
    gemini_server.push(reply)

    error = failure(blobs, AuthError)

    assert "GEMINI_API_KEY" in error.message
    assert "GOOGLE_API_KEY" in error.message
    assert len(gemini_server.requests) == 1


def test_missing_key_refused_before_sending(
    gemini_server: GeminiServer, blobs: Blobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")

    error = failure(blobs, AuthError)

    assert "GEMINI_API_KEY" in error.message and "GOOGLE_API_KEY" in error.message
    assert gemini_server.requests == []


def test_google_api_key_is_used_when_it_is_the_only_one(
    gemini_server: GeminiServer, blobs: Blobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", FAKE_KEY + "-google")
    gemini_server.push(success())

    attempt(blobs)

    assert gemini_server.requests[0].headers["x-goog-api-key"] == FAKE_KEY + "-google"


def test_key_is_read_at_call_time(gemini_server: GeminiServer, blobs: Blobs) -> None:
    backend = make_backend()
    gemini_server.push(success(), success())

    attempt(blobs, backend=backend)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GEMINI_API_KEY", FAKE_KEY + "-rotated")
        attempt(blobs, backend=backend)

    keys = [r.headers["x-goog-api-key"] for r in gemini_server.requests]
    assert keys == [FAKE_KEY, FAKE_KEY + "-rotated"]
    assert FAKE_KEY not in repr(vars(backend))


def test_bad_request_shows_the_service_message(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(bad_request("Request contains an invalid argument: parts[1]."))

    error = failure(blobs, BadRequest)

    assert error.message == (
        "Gemini refused the request (400): "
        "Request contains an invalid argument: parts[1]."
    )


def test_service_message_quoting_the_key_is_scrubbed(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(bad_request(f"Key {FAKE_KEY} is not allowed to do this."))

    error = failure(blobs, BadRequest)

    assert "Key [key hidden] is not allowed" in error.message


# --- broken answers ------------------------------------------------------------


def test_bad_base64_is_malformed_image_data(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(bad_base64())

    error = failure(blobs, GenerationError)

    assert error.kind == "failed"
    assert "malformed image data (bad base64)" in error.message


def test_truncated_png_is_malformed_image_data(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(truncated_png())

    error = failure(blobs, GenerationError)

    assert "malformed image data (truncated or undecodable image)" in error.message
    assert list((blobs.root).rglob("*.png")) == []


def test_slow_answer_times_out(gemini_server: GeminiServer, blobs: Blobs) -> None:
    gemini_server.push(slow(success(), 5.0))
    started = time.monotonic()

    error = failure(blobs, Timeout, backend=make_backend(timeout=0.5))

    assert time.monotonic() - started < 1.5
    assert "within 0.5 s (gemini.timeout" in error.message
    assert len(gemini_server.requests) == 1


def test_key_never_reaches_a_log(
    gemini_server: GeminiServer, blobs: Blobs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gemini_server.push(server_error(503), success(), unauthorised(401))

    attempt(blobs)
    failure(blobs, AuthError)

    assert "gemini attempt 1 failed: unavailable" in caplog.text
    assert FAKE_KEY not in caplog.text
    assert FAKE_KEY[-12:] not in caplog.text
