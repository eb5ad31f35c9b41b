"""The gemini backend through the engine and the CLI, against the loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.cli import main
from tests.gemini_server import (
    FAKE_KEY,
    GeminiServer,
    finish_block,
    rate_limited,
    success,
)


@pytest.fixture(autouse=True)
def quick_config(ripen_home: Path) -> None:
    """A user's config.toml with short waits, so failures resolve in test time."""
    (ripen_home / "config.toml").write_text(
        "[gemini]\ntimeout = 5\nmax_retry_wait = 3\nmax_retries = 3\n",
        encoding="utf-8",
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(out) == 1, out
    return code, json.loads(out[0])


def start_session(capsys: pytest.CaptureFixture[str], server: GeminiServer) -> Any:
    server.push(success(text="Here is the watch."))
    code, base = run(
        capsys, "new", "a luxury watch on dark wood", "--backend", "gemini", "--json"
    )
    assert code == 0, base
    return base


def test_new_and_refine_charge_credits_and_carry_context(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer
) -> None:
    base = start_session(capsys, gemini_server)
    assert base["backend"] == "gemini"
    assert base["model"] == "gemini-2.5-flash-image"
    assert base["credits"] == 20 and base["session_credits"] == 20
    assert base["text"] == "Here is the watch."
    assert base["usd"] is not None and base["tokens"]["image"] is not None

    gemini_server.push(success(text="Moved it up."))
    code, refined = run(
        capsys, "refine", base["round"], "move the watch slightly higher", "--json"
    )
    assert code == 0
    assert refined["session_credits"] == 40
    second = gemini_server.requests[-1].json
    roles = [content["role"] for content in second["contents"]]
    assert roles == ["user", "model", "user"]
    assert second["contents"][-1]["parts"][-1]["text"].startswith(
        "move the watch slightly higher"
    )


def test_blocked_round_is_an_uncharged_attempt(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer
) -> None:
    base = start_session(capsys, gemini_server)
    gemini_server.push(finish_block("IMAGE_SAFETY", "The image was filtered."))

    code, out = run(capsys, "refine", base["round"], "add a dramatic scene", "--json")

    assert code == 1
    assert out["error"]["kind"] == "blocked"
    assert "IMAGE_SAFETY" in out["error"]["message"]
    _, tree = run(capsys, "tree", base["session"], "--json")
    assert tree["credits"] == 20 and len(tree["rounds"]) == 1
    assert [a["attempt"] for a in tree["attempts"]] == [out["error"]["attempt"]]


def test_rate_limit_then_success_is_one_round(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer
) -> None:
    base = start_session(capsys, gemini_server)
    gemini_server.push(rate_limited(retry_after=0.1), success(text="Warmer now."))

    code, refined = run(capsys, "refine", base["round"], "warmer light", "--json")

    assert code == 0 and refined["session_credits"] == 40
    assert len(gemini_server.requests) == 3


def test_promote_uses_ultra_and_costs_forty(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer
) -> None:
    base = start_session(capsys, gemini_server)
    gemini_server.push(success(text="Final."))

    code, final = run(capsys, "promote", base["round"], "--json")

    assert code == 0
    assert final["model"] == "gemini-3-pro-image-preview"
    assert final["quality"] == "ultra" and final["credits"] == 40
    assert gemini_server.requests[-1].model == "gemini-3-pro-image-preview"


def test_a_new_process_sends_the_same_bytes_as_an_uninterrupted_one(
    capsys: pytest.CaptureFixture[str], gemini_server: GeminiServer
) -> None:
    base = start_session(capsys, gemini_server)
    gemini_server.push(success(text="Higher."))
    _, second = run(capsys, "refine", base["round"], "move it higher", "--json")

    gemini_server.push(success(text="Contrast."))
    run(capsys, "refine", second["round"], "increase the contrast", "--json")
    in_process = gemini_server.requests[-1].body

    gemini_server.push(success(text="Contrast again."))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "refine",
            second["round"],
            "increase the contrast",
            "--json",
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert gemini_server.requests[-1].body == in_process


def test_the_key_is_written_nowhere(
    capsys: pytest.CaptureFixture[str],
    gemini_server: GeminiServer,
    ripen_home: Path,
    tmp_path: Path,
) -> None:
    base = start_session(capsys, gemini_server)
    gemini_server.push(success(text="Sharper."))
    _, refined = run(capsys, "refine", base["round"], "sharpen the dial", "--json")
    gemini_server.push(finish_block("SAFETY"))
    run(capsys, "refine", refined["round"], "something blocked", "--json")
    out_dir = tmp_path / "export"
    code, _ = run(capsys, "export", refined["round"], "--out", str(out_dir), "--json")
    assert code == 0

    key = FAKE_KEY.encode()
    written = [p for p in [*ripen_home.rglob("*"), *out_dir.rglob("*")] if p.is_file()]
    assert any(p.name == "ripen.db" for p in written)
    assert any(p.suffix == ".log" for p in written)
    for path in written:
        assert key not in path.read_bytes(), path
