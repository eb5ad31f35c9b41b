"""Answers of the wrong shape end in a typed error that says so, never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.blobs import Blobs
from core.errors import GenerationError, NoImage, RateLimited
from tests.gemini_server import (
    GeminiServer,
    error,
    json_reply,
    serve,
    success,
    text_only,
)
from tests.test_gemini_failures import attempt, failure


@pytest.fixture
def gemini_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    yield from serve(monkeypatch)


@pytest.fixture
def blobs(tmp_path: Path) -> Blobs:
    return Blobs(tmp_path / "images")


@pytest.mark.parametrize(
    "payload",
    [
        {"candidates": {"0": {"content": {}}}},
        {"candidates": ["x"]},
        {"candidates": [{"content": "x"}]},
        {"candidates": [{"content": {"parts": {"text": "x"}}}]},
        {"candidates": [], "promptFeedback": "blocked"},
    ],
)
def test_an_answer_of_the_wrong_shape_is_reported_as_malformed(
    gemini_server: GeminiServer, blobs: Blobs, payload: dict[str, Any]
) -> None:
    gemini_server.push(json_reply(payload))

    caught = failure(blobs, GenerationError)

    assert "answer was malformed" in caught.message
    assert "Error" not in caught.message  # no Python exception names


def retry_info(delay: Any) -> Any:
    details = [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
    ]
    return error(429, "Resource has been exhausted.", "RESOURCE_EXHAUSTED", details)


def test_an_unreadable_retry_delay_is_called_malformed(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    gemini_server.push(*(retry_info({"seconds": "abc"}) for _ in range(4)))

    caught = failure(blobs, RateLimited)

    assert "malformed" in caught.message
    assert "could not convert" not in caught.message


@pytest.mark.parametrize(
    "delay", [{"seconds": 1e308}, "1e308s", {"seconds": "9" * 400}]
)
def test_an_absurd_retry_delay_is_over_the_cap_with_a_readable_number(
    gemini_server: GeminiServer, blobs: Blobs, delay: Any
) -> None:
    gemini_server.push(retry_info(delay))

    caught = failure(blobs, RateLimited)

    assert len(gemini_server.requests) == 1
    assert "gemini.max_retry_wait" in caught.message
    assert len(caught.message) < 400
    assert "e+" not in caught.message


def test_terminal_controls_from_the_model_never_reach_the_user(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    dirty = "Sure\x1b]52;c;ZXZpbA==\x07 here\x9b2J \u202eit is\x07"
    gemini_server.push(text_only(dirty))
    caught = failure(blobs, NoImage)
    gemini_server.push(success(text=dirty))
    result = attempt(blobs)

    for shown in (caught.message, result.text):
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in shown), shown
        assert "\u202e" not in shown
    assert "Sure here2J it is" in result.text
