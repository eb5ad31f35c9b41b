"""How much of a branch each request carries, and that it always fits the budget.

Ten Ultra rounds with 2K images (4.4 MB each as PNG, 5.8 MB in base64) under each
context policy: ``full`` resends every round until the 20 MB budget forces the oldest
into the summary, ``window:3`` resends the last three, ``fresh`` only the current
image. Whatever the policy, no request exceeds the budget and the round says when
rounds were folded to make it fit.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.backends.base import Turn
from core.blobs import Blobs
from core.errors import BadRequest
from tests.gemini_server import (
    Branch,
    GeminiServer,
    coffee_png,
    make_backend,
    photo_png,
    serve,
    signature,
    success,
)

BUDGET = 20_000_000
ROUNDS = 10


@pytest.fixture
def gemini_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    yield from serve(monkeypatch)


def run_rounds(
    server: GeminiServer, branch: Branch, policy: str, rounds: int = ROUNDS
) -> list[dict[str, Any]]:
    """``rounds`` Ultra rounds in a row; each round's context record and body size."""
    images = (photo_png(2048, 2048, "coffee"), photo_png(2048, 2048, "astronaut"))
    path: tuple[Turn, ...] = ()
    figures = []
    for number in range(1, rounds + 1):
        server.push(
            success(
                images[number % 2],
                sig=signature(f"round-{number}"),
                model="gemini-3-pro-image-preview",
            )
        )
        result, path = branch.run(
            f"step {number}: refine the light",
            path,
            quality="ultra",
            aspect="1:1",
            context_policy=policy,
        )
        sent = server.requests[-1]
        figures.append(
            {
                **result.context,
                "body": len(sent.body),
                "warnings": result.warnings,
                "signatures": replayed_signatures(sent.json),
            }
        )
    return figures


def replayed_signatures(body: dict[str, Any]) -> list[str]:
    """Which rounds' model turns a request replays, by their signatures."""
    found = []
    for content in body["contents"]:
        for part in content["parts"]:
            if "thoughtSignature" in part:
                raw = part["thoughtSignature"].replace("-", "+").replace("_", "/")
                found.append(base64.b64decode(raw)[2:-6].decode())
    return found


def test_every_policy_stays_under_the_budget(
    gemini_server: GeminiServer, tmp_path: Path
) -> None:
    sizes: dict[str, list[float]] = {}
    for policy in ("full", "window:3", "fresh"):
        branch = Branch(make_backend(), Blobs(tmp_path / policy))
        figures = run_rounds(gemini_server, branch, policy)
        sizes[policy] = [round(f["body"] / 1e6, 1) for f in figures]

        for figure in figures:
            assert figure["body"] == figure["request_bytes"] <= BUDGET
            assert figure["verbatim"] + figure["folded"] == figure["turns"]
        if policy == "fresh":
            assert {f["verbatim"] for f in figures} == {0}
            assert max(f["body"] for f in figures) < 6_000_000
        if policy == "window:3":
            assert [f["verbatim"] + f["dropped_for_budget"] for f in figures] == [
                0,
                1,
                2,
                3,
                3,
                3,
                3,
                3,
                3,
                3,
            ]
        if policy == "full":
            assert figures[-1]["turns"] == 9
            assert figures[-1]["verbatim"] < 9
            assert figures[-1]["dropped_for_budget"] == 9 - figures[-1]["verbatim"]

    print("\nrequest MB by round:", json.dumps(sizes))


def test_folding_for_the_budget_drops_the_oldest_first_and_says_so(
    gemini_server: GeminiServer, tmp_path: Path
) -> None:
    branch = Branch(make_backend(), Blobs(tmp_path / "images"))

    figures = run_rounds(gemini_server, branch, "full", rounds=6)

    last = figures[-1]
    assert last["dropped_for_budget"] > 0
    kept = last["verbatim"]
    assert last["signatures"] == [f"round-{n}" for n in range(6 - kept, 6)]
    assert last["warnings"][0] == (
        f"Context: the {5 - kept} oldest of the 5 rounds the full policy replays "
        "were folded into a summary to keep the request under 20 MB."
    )
    summary = gemini_server.requests[-1].json["contents"][0]["parts"][0]["text"]
    assert summary.startswith("Earlier rounds of this image, oldest first:")
    assert "Round 1: created from the prompt: step 1: refine the light" in summary


def test_window_policy_from_the_config(
    gemini_server: GeminiServer, tmp_path: Path
) -> None:
    branch = Branch(make_backend(context="window:1"), Blobs(tmp_path / "images"))
    path: tuple[Turn, ...] = ()
    for number in range(1, 4):
        gemini_server.push(success(coffee_png(), sig=signature(f"round-{number}")))
        result, path = branch.run(f"step {number}", path)

    assert result.context["policy"] == "window:1"
    assert result.context["verbatim"] == 1
    assert replayed_signatures(gemini_server.requests[-1].json) == ["round-2"]


def test_request_over_the_budget_even_when_fresh_is_refused(
    gemini_server: GeminiServer, tmp_path: Path
) -> None:
    branch = Branch(
        make_backend(request_budget_bytes=100_000), Blobs(tmp_path / "images")
    )
    gemini_server.push(success(coffee_png()))
    _, path = branch.run("a cup of coffee")

    with pytest.raises(BadRequest, match="over the 0.1 MB budget"):
        branch.run("warmer", path)
    assert len(gemini_server.requests) == 1
