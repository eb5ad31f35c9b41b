"""After a whole working session, the API key is written down nowhere.

A user's key must never land on disk: not in the database (nor its -wal and -shm
companions, which hold pages the main file has not yet absorbed), not in an image's
PNG text chunks, not in the log, not in an export they will share, not in a
screenshot. The flow below does everything a user does with a recognisable fake
key, including answers from the service that quote the key back (as a misbehaving
proxy or a prompt injection might), and then every byte ripen wrote is searched for
the key, raw and base64-encoded at every alignment, with compressed PNG text
chunks unpacked first.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import struct
import zlib
from pathlib import Path

import pytest

from core.config import load_config
from core.engine import Engine
from tests.gemini_server import (
    FAKE_KEY,
    GeminiServer,
    Reply,
    astronaut_png,
    bad_request,
    coffee_png,
    finish_block,
    prompt_block,
    success,
    text_only,
)
from tests.reliability.support import Outcome, cli_process, write_config

SIZE = (120, 40)


def key_forms(secret: bytes) -> set[bytes]:
    """The key as raw bytes and as it would look inside any base64 text.

    Inside a longer base64 stream the key can start at any of three byte offsets,
    and each gives different characters; only those fully determined by the key
    itself are kept, in the standard and the URL-safe alphabet.
    """
    forms = {secret}
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + secret + b"\0\0")
        start = -(-8 * pad // 6)
        end = 8 * (pad + len(secret)) // 6
        fixed = encoded[start:end]
        forms |= {fixed, fixed.translate(bytes.maketrans(b"+/", b"-_"))}
    return forms


def png_texts(data: bytes) -> list[bytes]:
    """The text of every tEXt, zTXt and iTXt chunk, decompressed where needed."""
    texts: list[bytes] = []
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"tEXt":
            texts.append(body)
        elif kind == b"zTXt":
            keyword, _, rest = body.partition(b"\0")
            texts.append(keyword + b"\0" + zlib.decompress(rest[1:]))
        elif kind == b"iTXt":
            keyword, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            texts.append(
                keyword + b"\0" + (zlib.decompress(text) if compressed else text)
            )
    return texts


def leaks(paths: list[Path], secret: str) -> list[str]:
    """Every file (and PNG text chunk) in ``paths`` that holds the key in any form."""
    forms = key_forms(secret.encode())
    found = []
    for path in paths:
        data = path.read_bytes()
        pieces = [data]
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            pieces += png_texts(data)
        if any(form in piece for piece in pieces for form in forms):
            found.append(str(path))
    return found


def files_under(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*") if p.is_file())


def test_the_scan_finds_a_planted_key(tmp_path: Path) -> None:
    """The scan itself can fail: a key hidden three ways is found three times."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("recipe", f"made with {FAKE_KEY}", zip=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "zipped.png", pnginfo=info)
    wrapped = base64.b64encode(b"xy" + FAKE_KEY.encode() + b"tail")
    (tmp_path / "encoded.json").write_bytes(b'{"data": "' + wrapped + b'"}')
    (tmp_path / "plain.log").write_text(f"key={FAKE_KEY}\n", encoding="utf-8")
    (tmp_path / "clean.txt").write_text("nothing here", encoding="utf-8")

    found = leaks(files_under(tmp_path), FAKE_KEY)

    assert sorted(Path(p).name for p in found) == [
        "encoded.json",
        "plain.log",
        "zipped.png",
    ]


def full_flow(server: GeminiServer, home: Path, out: Path) -> tuple[str, list[str]]:
    """Everything a user does in a session, each command its own process.

    Returns the session id and everything the commands printed.
    """
    write_config(home, timeout=5, max_retry_wait=1, max_retries=1)
    printed: list[str] = []

    def ripen(*argv: str) -> Outcome:
        done = cli_process(*argv)
        printed.extend([str(done.data), done.err])
        return done

    server.push(success(text="Here is the watch."))
    first = ripen("new", "a luxury watch on dark wood", "--backend", "gemini")
    assert first.code == 0, first.data
    # Hold the database open so that its -wal and -shm files stay to be searched.
    keeper = sqlite3.connect(home / "ripen.db")
    keeper.execute("SELECT COUNT(*) FROM rounds").fetchone()

    server.push(success(png=coffee_png(200), text="Moved it up."))
    second = ripen("refine", first.data["round"], "move the watch slightly higher")
    assert second.code == 0, second.data
    server.push(finish_block("IMAGE_SAFETY", "The image was filtered."))
    assert ripen("refine", second.data["round"], "add a dramatic scene").code == 1
    server.push(bad_request(f"API key {FAKE_KEY} may not use this model."))
    assert ripen("refine", second.data["round"], "make it cinematic").code == 1
    server.push(success(png=astronaut_png(), text="Warm."), success(text="Cool."))
    pair = ripen("ab", second.data["round"], "warmer light", "cooler light")
    assert pair.code == 0, pair.data
    warm = pair.data["rounds"][0]["round"]
    assert ripen("winner", warm).code == 0
    server.push(success(png=coffee_png(300), text="Final render."))
    final = ripen("promote", warm)
    assert final.code == 0, final.data
    assert ripen("note", final.data["round"], "print this one, 30x40").code == 0
    assert ripen("star", final.data["round"]).code == 0
    exported = ripen("export", final.data["round"], "--out", str(out))
    assert exported.code == 0, exported.data
    # Leave the WAL un-checkpointed on disk, as a crash or a second process would.
    assert (home / "ripen.db-wal").exists() and (home / "ripen.db-shm").exists()
    wal = [home / "ripen.db-wal", home / "ripen.db-shm"]
    copies = out.parent / "wal-copies"
    copies.mkdir()
    for path in wal:
        (copies / path.name).write_bytes(path.read_bytes())
    keeper.close()
    return first.data["session"], printed


def test_a_full_flow_writes_the_key_nowhere(
    gemini_server: GeminiServer, ripen_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    _, printed = full_flow(gemini_server, ripen_home, out)

    # The key did reach the service, so it was really in play.
    assert gemini_server.requests[0].headers["x-goog-api-key"] == FAKE_KEY
    written = files_under(ripen_home, out, tmp_path / "wal-copies")
    names = {p.name for p in written}
    assert {"ripen.db", "ripen.log", "ripen.db-wal", "ripen.db-shm"} <= names
    assert sum(p.suffix == ".png" for p in written) >= 6
    assert {p.suffix for p in out.iterdir()} >= {".png", ".md", ".json"}
    assert leaks(written, FAKE_KEY) == []
    forms = [form.decode() for form in key_forms(FAKE_KEY.encode())]
    assert [text for text in printed if any(form in text for form in forms)] == []


def test_interface_screenshots_hold_no_key(
    gemini_server: GeminiServer, ripen_home: Path, tmp_path: Path
) -> None:
    try:
        from tui.app import RipenApp
    except ImportError as exc:
        pytest.skip(f"the interface (tui/) is not importable here: {exc}")
    session, _ = full_flow(gemini_server, ripen_home, tmp_path / "export")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    async def take() -> None:
        engine = Engine(load_config(ripen_home))
        app = RipenApp(session=session, engine=engine, images="halfcell")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.2)
            await app.workers.wait_for_complete()
            app.save_screenshot(filename="workspace.svg", path=str(shots))
            await pilot.press("ctrl+p")
            await pilot.pause(0.2)
            app.save_screenshot(filename="palette.svg", path=str(shots))
        engine.store.close()

    asyncio.run(asyncio.wait_for(take(), timeout=60))

    svg = (shots / "workspace.svg").read_text(encoding="utf-8")
    assert "watch" in svg  # the screenshot does show the session
    written = files_under(ripen_home, shots)
    assert leaks(written, FAKE_KEY) == []
    assert os.environ["GEMINI_API_KEY"] == FAKE_KEY


def run_echoing(server: GeminiServer, home: Path, reply: Reply) -> Outcome:
    """A session, then one more round whose answer quotes the key back.

    A misbehaving proxy, or a prompt injection in a user's reference, can make the
    service repeat the key; whatever it says must still not be written or shown.
    """
    write_config(home, timeout=5)
    server.push(success(text="Here is the watch."))
    first = cli_process("new", "a luxury watch on dark wood", "--backend", "gemini")
    assert first.code == 0, first.data
    server.push(reply)
    return cli_process("refine", first.data["round"], "move the watch higher")


def test_an_answer_quoting_the_key_is_not_stored(
    gemini_server: GeminiServer, ripen_home: Path
) -> None:
    echoed = success(text=f"Done. (debug: key={FAKE_KEY})")
    made = run_echoing(gemini_server, ripen_home, echoed)

    assert made.code == 0, made.data
    assert FAKE_KEY not in made.data["text"]  # the round's own text is scrubbed
    assert leaks(files_under(ripen_home), FAKE_KEY) == []


@pytest.mark.parametrize(
    "reply",
    [
        finish_block("IMAGE_SAFETY", f"Refused for key {FAKE_KEY}."),
        prompt_block("OTHER", f"Key {FAKE_KEY} is blocked."),
        text_only(f"I cannot draw that with key {FAKE_KEY}."),
    ],
    ids=["finish-message", "prompt-block-message", "text-only"],
)
def test_a_failure_quoting_the_key_does_not_show_it(
    gemini_server: GeminiServer, ripen_home: Path, reply: Reply
) -> None:
    failed = run_echoing(gemini_server, ripen_home, reply)

    assert failed.code == 1 and failed.kind in ("blocked", "no_image")
    assert leaks(files_under(ripen_home), FAKE_KEY) == []  # stored scrubbed...
    assert FAKE_KEY not in failed.err  # ...and shown scrubbed
    assert FAKE_KEY not in str(failed.data)
