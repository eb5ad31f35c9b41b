"""The gemini backend's successful rounds, against the loopback server.

What the user relies on: the image they get is the model's final image (never an
interim thought), each request replays exactly the branch it continues, with the
model's signatures intact, and a request rebuilt from the database is the same bytes
as the one an uninterrupted session would have sent.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.backends.base import GenerationRequest, Reference
from core.blobs import Blobs
from core.cancel import CancelToken
from core.errors import BadRequest
from tests.gemini_server import (
    FAKE_KEY,
    Branch,
    GeminiServer,
    Reports,
    astronaut_png,
    coffee_png,
    content_reply,
    image_only,
    image_part,
    make_backend,
    photo_png,
    serve,
    signature,
    success,
    thought_then_image,
)


@pytest.fixture
def gemini_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    yield from serve(monkeypatch)


@pytest.fixture
def blobs(tmp_path: Path) -> Blobs:
    return Blobs(tmp_path / "images")


@pytest.fixture
def branch(gemini_server: GeminiServer, blobs: Blobs) -> Branch:
    return Branch(make_backend(), blobs)


def unb64(text: str) -> bytes:
    """Bytes from standard or URL-safe base64 (the service and the SDK differ)."""
    return base64.b64decode(text.replace("-", "+").replace("_", "/"))


def decoded(content: dict[str, Any]) -> list[dict[str, Any]]:
    """A content's parts with base64 decoded, so served and sent forms compare."""
    parts = []
    for part in content["parts"]:
        part = dict(part)
        inline = part.pop("inlineData", None)
        if inline is not None:
            mime = inline.get("mimeType") or inline.get("mime_type")
            part["image"] = (mime, unb64(inline["data"]))
        if "thoughtSignature" in part:
            part["thoughtSignature"] = unb64(part["thoughtSignature"])
        parts.append(part)
    return parts


def served_content(reply_body: bytes) -> list[dict[str, Any]]:
    return decoded(json.loads(reply_body)["candidates"][0]["content"])


# --- one round ----------------------------------------------------------------------


def test_text_and_image_round(gemini_server: GeminiServer, branch: Branch) -> None:
    gemini_server.push(success(coffee_png(), text="Warmer light, as asked."))

    result, _ = branch.run("a cup of coffee on a wooden table", aspect="3:2")

    assert result.image == coffee_png()
    assert result.text == "Warmer light, as asked."
    assert result.model == "gemini-2.5-flash-image"
    sent = gemini_server.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert sent.headers["x-goog-api-key"] == FAKE_KEY
    assert sent.json["contents"] == [
        {"parts": [{"text": "a cup of coffee on a wooden table"}], "role": "user"}
    ]
    assert sent.json["generationConfig"] == {
        "responseModalities": ["TEXT", "IMAGE"],
        "imageConfig": {"aspectRatio": "3:2"},
    }
    assert result.context["request_bytes"] == len(sent.body)


def test_image_only_round(gemini_server: GeminiServer, branch: Branch) -> None:
    gemini_server.push(image_only(astronaut_png()))

    result, _ = branch.run("an astronaut portrait")

    assert result.image == astronaut_png()
    assert result.text == ""


def test_thought_image_is_never_the_result(
    gemini_server: GeminiServer, branch: Branch, blobs: Blobs
) -> None:
    gemini_server.push(thought_then_image(astronaut_png(), coffee_png()))

    result, _ = branch.run("coffee, thought through", quality="ultra")

    assert result.image == coffee_png()
    reply = result.model_turn["reply"]
    assert [part.get("thought", False) for part in reply] == [True, True, False, False]
    assert result.model_turn["image_part"] == 3
    thought_sha = reply[1]["inline_data"]["sha"]
    assert blobs.get_bytes(thought_sha) == astronaut_png()
    assert unb64(reply[3]["thought_signature"]) == signature("final")


def test_model_turn_holds_no_key(gemini_server: GeminiServer, branch: Branch) -> None:
    gemini_server.push(success(sig=signature("a")), success(sig=signature("b")))

    first, path = branch.run("a cup of coffee")
    second, _ = branch.run("warmer", path)

    for result in (first, second):
        stored = json.dumps([result.model_turn, result.context, result.warnings])
        assert FAKE_KEY not in stored
        assert FAKE_KEY[-12:] not in stored


# --- the branch as a chat -------------------------------------------------------------


def test_third_round_replays_the_path_with_signatures(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    replies = [
        success(coffee_png(), sig=signature("one")),
        thought_then_image(astronaut_png(), coffee_png(), sig=signature("two")),
        success(astronaut_png(), sig=signature("three")),
    ]
    gemini_server.push(*replies)

    _, path = branch.run("a cup of coffee")
    _, path = branch.run("warmer light", path)
    branch.run("sharpen the rim", path)

    third = gemini_server.requests[2].json["contents"]
    assert [content["role"] for content in third] == [
        "user",
        "model",
        "user",
        "model",
        "user",
    ]
    assert third[0]["parts"] == [{"text": "a cup of coffee"}]
    assert decoded(third[1]) == served_content(replies[0].body)
    assert third[2]["parts"] == [{"text": "warmer light"}]
    assert decoded(third[3]) == served_content(replies[1].body)
    assert third[4]["parts"] == [{"text": "sharpen the rim"}]
    signatures = [
        p["thoughtSignature"] for p in decoded(third[3]) if "thoughtSignature" in p
    ]
    assert signatures == [signature("text"), signature("two")]


def test_sibling_branches_never_see_each_other(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    gemini_server.push(
        success(sig=signature("root")),
        success(sig=signature("left")),
        success(sig=signature("right")),
        success(sig=signature("right-2")),
    )
    _, root = branch.run("a cup of coffee")
    branch.run("make it a winter scene", root)
    _, right = branch.run("make it a summer terrace", root)

    branch.run("add steam", right)

    body = gemini_server.requests[3].body
    assert b"summer terrace" in body
    assert b"winter scene" not in body
    sent = [
        part["thoughtSignature"]
        for content in json.loads(body)["contents"]
        for part in decoded(content)
        if "thoughtSignature" in part
    ]
    assert sent == [signature("root"), signature("right")]


def test_rebuilt_request_is_byte_identical(
    gemini_server: GeminiServer, branch: Branch, tmp_path: Path
) -> None:
    gemini_server.push(
        thought_then_image(astronaut_png(), coffee_png(), sig=signature("one")),
        success(coffee_png(), sig=signature("two")),
        success(),
        success(),
    )
    _, path = branch.run("a cup of coffee", quality="ultra")
    _, path = branch.run("warmer light", path, quality="ultra")
    branch.run("add steam", path, quality="ultra")

    # A new backend and store over the same folder, turns read back from JSON.
    stored = json.loads(json.dumps([turn.model_turn for turn in path]))
    again = Branch(make_backend(), Blobs(tmp_path / "images"))
    rebuilt = tuple(
        type(turn)(**{**turn.__dict__, "model_turn": model_turn})
        for turn, model_turn in zip(path, stored, strict=True)
    )
    again.run("add steam", rebuilt, quality="ultra")

    assert gemini_server.requests[3].body == gemini_server.requests[2].body


def test_rebuilt_request_in_a_new_process_is_byte_identical(
    gemini_server: GeminiServer, branch: Branch, tmp_path: Path
) -> None:
    gemini_server.push(
        success(coffee_png(), sig=signature("one")),
        success(astronaut_png(), sig=signature("two")),
        success(),
        success(),
    )
    _, path = branch.run("a cup of coffee")
    _, path = branch.run("warmer light", path)
    branch.run("add steam", path)
    saved = tmp_path / "turns.json"
    saved.write_text(
        json.dumps([{**turn.__dict__, "image": str(turn.image)} for turn in path])
    )

    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from core.backends.base import GenerationRequest, Turn\n"
        "from core.backends.gemini import GeminiBackend\n"
        "from core.blobs import Blobs\n"
        "from core.cancel import CancelToken, no_progress\n"
        "from core.config import load_config\n"
        "rows = json.loads(Path(sys.argv[1]).read_text())\n"
        "path = tuple(Turn(**{**r, 'image': Path(r['image'])}) for r in rows)\n"
        "request = GenerationRequest(mode='refine', instruction='add steam',"
        " history=path)\n"
        "GeminiBackend(load_config()).generate(request, Blobs(Path(sys.argv[2])),"
        " no_progress, CancelToken())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(saved), str(tmp_path / "images")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert gemini_server.requests[3].body == gemini_server.requests[2].body


def test_switching_tier_drops_the_other_models_signatures(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    gemini_server.push(
        thought_then_image(astronaut_png(), coffee_png(), sig=signature("pro")),
        success(),
    )
    _, path = branch.run("a cup of coffee", quality="ultra")

    result, _ = branch.run("warmer light", path, quality="common")

    sent = gemini_server.requests[1]
    assert sent.model == "gemini-2.5-flash-image"
    model_parts = decoded(sent.json["contents"][1])
    assert not any(part.get("thought") for part in model_parts)
    assert not any("thoughtSignature" in part for part in model_parts)
    assert model_parts[-1]["image"] == ("image/png", coffee_png())
    assert result.context["adapted"] == 1


def test_a_local_round_is_folded_into_a_summary(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    gemini_server.push(success(sig=signature("one")), success())
    _, path = branch.run("a cup of coffee")
    path = branch.local_turn(path, "brighten the shadows a little")

    result, _ = branch.run("add steam", path)

    contents = gemini_server.requests[1].json["contents"]
    assert [content["role"] for content in contents] == ["user"]
    parts = decoded(contents[0])
    assert "brighten the shadows a little" in parts[0]["text"]
    assert "a cup of coffee" in parts[0]["text"]
    assert parts[1]["image"] == ("image/png", astronaut_png())
    assert parts[2] == {"text": "add steam"}
    assert result.context["folded"] == 2
    assert result.model_turn["user"] == [{"text": "add steam"}]


def test_a_round_whose_images_were_deleted_is_folded(
    gemini_server: GeminiServer, branch: Branch, blobs: Blobs
) -> None:
    gemini_server.push(
        thought_then_image(astronaut_png(), coffee_png(), sig=signature("one")),
        success(),
    )
    _, path = branch.run("a cup of coffee", quality="ultra")
    thought_sha = path[0].model_turn["reply"][1]["inline_data"]["sha"]
    blobs.path(thought_sha).unlink()

    result, _ = branch.run("add steam", path, quality="ultra")

    assert result.context["folded"] == 1
    parts = decoded(gemini_server.requests[1].json["contents"][0])
    assert parts[1]["image"] == ("image/png", coffee_png())


# --- what a round asks for ----------------------------------------------------------


def test_reference_round_is_attached_with_a_label(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    gemini_server.push(success(coffee_png()), success(astronaut_png()), success())
    _, path = branch.run("a cup of coffee")
    _, path = branch.run("darker shadows", path)
    first = path[0]
    ref = Reference(first.round_id, first.number, first.image, first.instruction)

    branch.run("restore the shadows from round 1", path, refs=(ref,))

    last_user = decoded(gemini_server.requests[2].json["contents"][-1])
    assert "round 1" in last_user[0]["text"]
    assert "a cup of coffee" in last_user[0]["text"]
    assert last_user[1]["image"] == ("image/png", coffee_png())
    assert last_user[2] == {"text": "restore the shadows from round 1"}


def test_region_scopes_the_instruction_and_keeps_the_rest(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    gemini_server.push(success(), success(), success())
    _, path = branch.run("a cup of coffee")

    branch.run("blur it more", path, region="the background")
    branch.run("add steam", path, keep=True)

    scoped = gemini_server.requests[1].json["contents"][-1]["parts"][-1]["text"]
    assert scoped.startswith("Change only the background of the image: blur it more")
    assert "Leave everything outside the background untouched" in scoped
    kept = gemini_server.requests[2].json["contents"][-1]["parts"][-1]["text"]
    assert kept.startswith("add steam\nKeep everything else exactly as it is")


def test_promote_sends_the_final_image_and_recipe_to_ultra(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    gemini_server.push(success(coffee_png()), success(astronaut_png()), success())
    _, path = branch.run("a cup of coffee")
    _, path = branch.run("warmer light", path)

    result, _ = branch.run("", path, mode="promote", quality="ultra")

    sent = gemini_server.requests[2]
    assert sent.model == "gemini-3-pro-image-preview"
    assert sent.json["generationConfig"]["imageConfig"] == {"imageSize": "2K"}
    contents = sent.json["contents"]
    assert [content["role"] for content in contents] == ["user"]
    recipe, image = decoded(contents[0])
    assert "1. created from the prompt: a cup of coffee" in recipe["text"]
    assert "2. warmer light" in recipe["text"]
    assert image["image"] == ("image/png", astronaut_png())
    assert result.context["policy"] == "promote"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"image_size": "4K"}, "renders at 1K only"),
        ({"image_size": "2K"}, "renders at 1K only"),
        ({"aspect": "7:1"}, "Aspect ratio 7:1"),
        ({"context_policy": "window:many"}, "window:K"),
    ],
)
def test_refused_before_sending(
    gemini_server: GeminiServer,
    branch: Branch,
    fields: dict[str, Any],
    words: str,
) -> None:
    with pytest.raises(BadRequest, match=words):
        branch.run("a cup of coffee", **fields)
    assert gemini_server.requests == []


def test_too_many_references_refused_before_sending(
    gemini_server: GeminiServer, branch: Branch, coffee_path: Path
) -> None:
    with pytest.raises(BadRequest, match="at most 3 input images"):
        branch.run("compose these", mode="compose", inputs=(coffee_path,) * 4)
    assert gemini_server.requests == []


def test_ultra_sends_4k_when_asked(gemini_server: GeminiServer, branch: Branch) -> None:
    gemini_server.push(success())

    branch.run("a cup of coffee", quality="ultra", image_size="4K", aspect="1:1")

    image_config = gemini_server.requests[0].json["generationConfig"]["imageConfig"]
    assert image_config == {"aspectRatio": "1:1", "imageSize": "4K"}


def test_received_size_recorded_and_warned_when_it_differs(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    gemini_server.push(
        success(photo_png(2048, 2048), model="gemini-3-pro-image-preview"),
        success(photo_png(1024, 1024), model="gemini-3-pro-image-preview"),
    )

    right, _ = branch.run("a cup of coffee", quality="ultra", aspect="1:1")
    wrong, _ = branch.run("a cup of coffee", quality="ultra", aspect="1:1")

    assert right.context["received"] == {"width": 2048, "height": 2048, "size": "2K"}
    assert right.warnings == []
    assert wrong.context["received"] == {"width": 1024, "height": 1024, "size": "1K"}
    assert wrong.warnings == ["Asked for 2K, received 1024x1024 (1K)."]


# --- cost ---------------------------------------------------------------------


def pro_usage(image_tokens: int, thoughts: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": 560,
        "candidatesTokenCount": image_tokens,
        "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": image_tokens}],
    }
    if thoughts is not None:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def test_usage_becomes_dollars(gemini_server: GeminiServer, branch: Branch) -> None:
    image = [image_part(coffee_png())]
    gemini_server.push(
        success(),  # flash: 1,290 prompt, 10 text and 1,290 image tokens
        content_reply(image, usage=pro_usage(1120)),  # a 2K image on pro
        content_reply(image, usage=pro_usage(2000, thoughts=300)),  # 4K, thinking
    )

    flash, _ = branch.run("coffee")
    pro_2k, _ = branch.run("coffee", quality="ultra")
    pro_4k, _ = branch.run("coffee", quality="ultra", image_size="4K")

    assert flash.usage.as_dict() == {
        "input": 1290,
        "output": 10,
        "image": 1290,
        "thoughts": None,
    }
    # 1,290 x $0.30 + 10 x $2.50 + 1,290 x $30, per million tokens.
    assert flash.usd == pytest.approx(0.039112)
    assert pro_2k.usd == pytest.approx(0.00112 + 0.1344)
    assert pro_4k.usd == pytest.approx(0.00112 + 0.24 + 300 * 12 / 1e6)
    assert pro_4k.usage.thoughts == 300


def test_missing_usage_is_unknown_not_zero(
    gemini_server: GeminiServer, branch: Branch
) -> None:
    gemini_server.push(success(usage=None))

    result, _ = branch.run("coffee")

    assert result.usd is None
    assert result.usage.as_dict() == {
        "input": None,
        "output": None,
        "image": None,
        "thoughts": None,
    }


def test_pricing_table_overrides_the_defaults(
    gemini_server: GeminiServer, blobs: Blobs
) -> None:
    backend = make_backend()
    backend.config.pricing = {"gemini-2.5-flash-image": {"image_output": 60.0}}
    gemini_server.push(success())

    request = GenerationRequest(mode="generate", instruction="coffee")
    result = backend.generate(request, blobs, Reports(), CancelToken())

    assert result.usd == pytest.approx(0.000387 + 0.000025 + 0.0774)


def test_tiers_and_credits_follow_the_config(gemini_server: GeminiServer) -> None:
    backend = make_backend(ultra_model="gemini-3-pro-image")
    backend.config.credits_ultra = 55

    assert backend.model_for("common") == "gemini-2.5-flash-image"
    assert backend.model_for("ultra") == "gemini-3-pro-image"
    assert backend.credits_for("common") == 20
    assert backend.credits_for("ultra") == 55
