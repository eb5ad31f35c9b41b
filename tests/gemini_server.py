"""A loopback stand-in for Gemini's ``generateContent`` endpoint.

The ``gemini`` backend is exercised through the real google-genai SDK, so the tests
need something on the other end of the socket that speaks the same REST dialect:
``POST /v1beta/models/{model}:generateContent`` with a JSON body, answered with a
``GenerateContentResponse`` or a Google API error body. Each test scripts the server
with a queue of :class:`Reply` values (built by the helpers below) and reads back every
request it received, byte for byte, to check what the backend sent.

The :func:`gemini_server` fixture also fences the test in: host lookups and socket
connections to anything but the loopback interface fail loudly, so no test can reach
a Google host even by accident.
"""

from __future__ import annotations

import base64
import io
import json
import random
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from core.backends.base import GenerationRequest, GenerationResult, Turn
from core.backends.gemini import GeminiBackend
from core.backends.gemini.client import close_all
from core.blobs import Blobs
from core.cancel import CancelToken, Progress
from core.config import Config, load_config
from tests.conftest import sample

FAKE_KEY = "AIzaSy-ripen-FAKE-test-key-7f3c9d2e1b"
"""The key the fixture puts in ``GEMINI_API_KEY``: recognisable in any leak."""

_LOOPBACK = ("127.0.0.1", "localhost", "::1")

DEFAULT_USAGE: dict[str, Any] = {
    "promptTokenCount": 1290,
    "candidatesTokenCount": 1300,
    "totalTokenCount": 2590,
    "promptTokensDetails": [
        {"modality": "TEXT", "tokenCount": 32},
        {"modality": "IMAGE", "tokenCount": 1258},
    ],
    "candidatesTokensDetails": [
        {"modality": "TEXT", "tokenCount": 10},
        {"modality": "IMAGE", "tokenCount": 1290},
    ],
}


def png_bytes(image: Image.Image, compress_level: int = 6) -> bytes:
    """An image encoded as PNG, the way the service sends its results."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


@cache
def coffee_png(size: int = 256) -> bytes:
    """scikit-image's coffee photograph as PNG, at most ``size`` pixels wide."""
    return png_bytes(sample("coffee", size))


@cache
def astronaut_png(size: int = 256) -> bytes:
    """A second, different photograph, for telling results apart."""
    return png_bytes(sample("astronaut", size))


@cache
def photo_png(width: int, height: int, name: str = "coffee") -> bytes:
    """A real photograph resized to exactly ``width`` x ``height``, as PNG.

    Compressed lightly, which is quick and gives files about as large as the
    service's own (4.4 MB at 2048 x 2048).
    """
    image = sample(name).resize((width, height), Image.Resampling.BICUBIC)
    return png_bytes(image, compress_level=1)


def b64(data: bytes) -> str:
    """Standard base64, as the service writes bytes in its JSON."""
    return base64.b64encode(data).decode("ascii")


def signature(label: str) -> bytes:
    """Opaque thought-signature bytes, distinct per label and not valid UTF-8."""
    return b"\xff\xfe" + label.encode() + bytes(range(250, 256))


# --- reply building -----------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer: a status, a body and how to deliver it."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    drop_after: int | None = None  # bytes of body sent before the socket closes


def json_reply(payload: Any, status: int = 200, **kwargs: Any) -> Reply:
    """A reply whose body is ``payload`` as JSON."""
    body = json.dumps(payload).encode()
    return Reply(status=status, body=body, **kwargs)


def text_part(
    text: str, *, thought: bool = False, sig: bytes | None = None
) -> dict[str, Any]:
    part: dict[str, Any] = {"text": text}
    if thought:
        part["thought"] = True
    if sig is not None:
        part["thoughtSignature"] = b64(sig)
    return part


def image_part(
    data: bytes,
    *,
    thought: bool = False,
    sig: bytes | None = None,
    mime: str = "image/png",
) -> dict[str, Any]:
    part: dict[str, Any] = {"inlineData": {"mimeType": mime, "data": b64(data)}}
    if thought:
        part["thought"] = True
    if sig is not None:
        part["thoughtSignature"] = b64(sig)
    return part


def content_reply(
    parts: list[dict[str, Any]],
    *,
    finish: str | None = "STOP",
    finish_message: str | None = None,
    usage: dict[str, Any] | None = DEFAULT_USAGE,
    model: str = "gemini-2.5-flash-image",
    **kwargs: Any,
) -> Reply:
    """A 200 answer with one candidate holding ``parts``."""
    candidate: dict[str, Any] = {"index": 0}
    if parts:
        candidate["content"] = {"role": "model", "parts": parts}
    if finish is not None:
        candidate["finishReason"] = finish
    if finish_message is not None:
        candidate["finishMessage"] = finish_message
    payload: dict[str, Any] = {
        "candidates": [candidate],
        "modelVersion": model,
        "responseId": "resp-loopback",
    }
    if usage is not None:
        payload["usageMetadata"] = usage
    return json_reply(payload, **kwargs)


def success(
    png: bytes | None = None,
    text: str = "Here is the refined image.",
    sig: bytes | None = None,
    **kwargs: Any,
) -> Reply:
    """Text plus an image, the usual answer."""
    png = png if png is not None else coffee_png()
    return content_reply([text_part(text), image_part(png, sig=sig)], **kwargs)


def image_only(png: bytes | None = None, **kwargs: Any) -> Reply:
    return content_reply(
        [image_part(png if png is not None else coffee_png())], **kwargs
    )


def thought_then_image(
    thought_png: bytes, final_png: bytes, *, sig: bytes = b"", **kwargs: Any
) -> Reply:
    """A thinking model's answer: an interim thought image, then the result."""
    sig = sig or signature("final")
    parts = [
        text_part("Planning the composition.", thought=True),
        image_part(thought_png, thought=True),
        text_part("Done.", sig=signature("text")),
        image_part(final_png, sig=sig),
    ]
    return content_reply(parts, model="gemini-3-pro-image-preview", **kwargs)


def finish_block(reason: str, message: str | None = None) -> Reply:
    """A candidate stopped for ``reason`` with no image."""
    return content_reply([], finish=reason, finish_message=message)


def prompt_block(reason: str, message: str | None = None) -> Reply:
    """The prompt itself was refused: no candidates, a block reason."""
    feedback: dict[str, Any] = {"blockReason": reason}
    if message is not None:
        feedback["blockReasonMessage"] = message
    return json_reply({"promptFeedback": feedback, "usageMetadata": DEFAULT_USAGE})


def text_only(text: str) -> Reply:
    return content_reply([text_part(text)])


def error(
    status: int,
    message: str,
    status_name: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A Google API error body."""
    payload: dict[str, Any] = {
        "error": {"code": status, "message": message, "status": status_name}
    }
    if details is not None:
        payload["error"]["details"] = details
    return json_reply(payload, status=status, headers=headers or {})


def rate_limited(
    *, retry_after: float | None = None, retry_delay: str | None = None
) -> Reply:
    """A 429, with a Retry-After header and/or a RetryInfo delay in the body."""
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/"
                    "generate_content_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                }
            ],
        }
    ]
    if retry_delay is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": retry_delay,
            }
        )
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return error(
        429,
        "Resource has been exhausted (e.g. check quota).",
        "RESOURCE_EXHAUSTED",
        details,
        headers,
    )


def daily_quota() -> Reply:
    """A 429 whose quota resets only tomorrow."""
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/"
                    "generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    "quotaValue": "100",
                }
            ],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"},
    ]
    return error(
        429,
        "You exceeded your current quota, please check your plan and billing.",
        "RESOURCE_EXHAUSTED",
        details,
    )


def server_error(code: int = 500) -> Reply:
    names = {500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE"}
    return error(code, "The service is currently unavailable.", names.get(code, ""))


def unauthorised(code: int = 401) -> Reply:
    name = "UNAUTHENTICATED" if code == 401 else "PERMISSION_DENIED"
    return error(code, "Method doesn't allow unregistered callers.", name)


def invalid_key() -> Reply:
    """The API's answer to a wrong key: a 400, not a 401."""
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
    ]
    return error(
        400,
        "API key not valid. Please pass a valid API key.",
        "INVALID_ARGUMENT",
        details,
    )


def bad_request(message: str = "Unsupported aspect ratio: 7:1.") -> Reply:
    return error(400, message, "INVALID_ARGUMENT")


def slow(reply: Reply, seconds: float) -> Reply:
    """``reply`` delivered after ``seconds``."""
    reply.delay = seconds
    return reply


def never_answers() -> Reply:
    """A request the server reads and then sits on until it stops."""
    return Reply(hang=True)


def dropped(reply: Reply | None = None) -> Reply:
    """Headers and half the body, then the connection closes."""
    reply = reply or success()
    reply.drop_after = len(reply.body) // 2
    return reply


def bad_base64() -> Reply:
    """An image part whose data is not base64 at all."""
    part = {"inlineData": {"mimeType": "image/png", "data": "@@not*base64!!"}}
    return content_reply([part])


def truncated_png(png: bytes | None = None) -> Reply:
    """A well-formed answer whose PNG stops half way."""
    png = png if png is not None else coffee_png()
    return content_reply([image_part(png[: len(png) // 2])])


# --- the server ---------------------------------------------------------------


@dataclass
class Recorded:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def model(self) -> str:
        return self.path.rsplit("/", 1)[-1].split(":", 1)[0]


class GeminiServer:
    """A threaded HTTP server on 127.0.0.1 answering from a scripted queue."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def push(self, *replies: Reply) -> None:
        """Queue replies, answered in order, one per request."""
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        return error(500, "The loopback server has no scripted reply.", "INTERNAL")

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: GeminiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Stay quiet: the test output is not the place for access logs."""

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            server.record(Recorded("POST", self.path, headers, body))
            self._answer(server.next_reply())

        def _answer(self, reply: Reply) -> None:
            if reply.hang:
                server.stopping.wait(60)
                self.close_connection = True
                return
            if reply.delay and server.stopping.wait(reply.delay):
                self.close_connection = True
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.drop_after is not None:
                self.wfile.write(reply.body[: reply.drop_after])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(reply.body)

    return Handler


# --- the fixture ----------------------------------------------------------------


class _NetworkFence:
    """Refuses host lookups and connections that leave the loopback interface."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def check(self, host: Any) -> None:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in _LOOPBACK:
            self.refused.append(name)
            raise OSError(f"test network fence: {name} is not the loopback server")


@pytest.fixture
def gemini_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    """A running loopback Gemini server, with the backend's env pointed at it."""
    yield from serve(monkeypatch)


def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    """The body of :func:`gemini_server`, for test modules that define their own.

    The server runs on 127.0.0.1, ``RIPEN_GEMINI_BASE_URL`` and a fake
    ``GEMINI_API_KEY`` point at it, and after the test every request it recorded is
    checked to have been addressed to it, and nothing tried to leave the loopback.
    """
    fence = _NetworkFence()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        fence.check(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):
            fence.check(address[0])
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if isinstance(address, tuple):
            fence.check(address[0])
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)

    server = GeminiServer()
    server.start()
    monkeypatch.setenv("RIPEN_GEMINI_BASE_URL", server.url)
    monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
    try:
        yield server
    finally:
        close_all()  # the SDK clients ripen keeps between calls
        server.stop()
    assert not fence.refused, f"a test tried to leave the loopback: {fence.refused}"
    host = server.url.removeprefix("http://")
    for request in server.requests:
        assert request.headers.get("host") == host, request.headers


# --- driving the backend the way the engine does ----------------------------------


def fast_config(**gemini: Any) -> Config:
    """The config a user would load, tuned for fast tests: short timeout and waits.

    The base URL comes from ``RIPEN_GEMINI_BASE_URL``, which the fixture sets, so the
    backend reaches the loopback server the same way a user's proxy setting would.
    """
    config = load_config()
    config.gemini.timeout = 5.0
    config.gemini.max_retry_wait = 3.0
    config.gemini.max_retries = 3
    for name, value in gemini.items():
        setattr(config.gemini, name, value)
    return config


def make_backend(**gemini: Any) -> GeminiBackend:
    """A backend with quick, predictable backoff (0.05 s first step, seeded jitter)."""
    return GeminiBackend(
        fast_config(**gemini), first_backoff=0.05, rng=random.Random(7)
    )


class Reports(list[Progress]):
    """A progress callback that keeps every report."""

    def __call__(self, report: Progress) -> None:
        self.append(report)


class Branch:
    """Stands in for the engine: keeps rounds as Turns and hands over their path.

    Each round's model turn goes through ``json.dumps``/``json.loads`` as it would
    through the database, and its image is stored in the blob store as the engine
    stores a PNG it received: byte for byte.
    """

    def __init__(self, backend: GeminiBackend, blobs: Blobs) -> None:
        self.backend = backend
        self.blobs = blobs

    def run(
        self,
        instruction: str,
        after: tuple[Turn, ...] = (),
        *,
        mode: str = "refine",
        **fields: Any,
    ) -> tuple[GenerationResult, tuple[Turn, ...]]:
        """One round after the path ``after``; returns the result and the new path."""
        if not after and mode == "refine":
            mode = "generate"
        request = GenerationRequest(
            mode=mode,  # type: ignore[arg-type]
            instruction=instruction,
            history=after,
            **fields,
        )
        result = self.backend.generate(request, self.blobs, Reports(), CancelToken())
        assert isinstance(result.image, bytes)
        sha = self.blobs.put_bytes(result.image)
        turn = Turn(
            round_id=f"r{len(after) + 1}-{sha[:6]}",
            number=len(after) + 1,
            mode=request.mode,
            instruction=instruction,
            quality=request.quality,
            backend="gemini",
            model=result.model,
            region=request.region,
            image=self.blobs.path(sha),
            image_sha=sha,
            model_turn=json.loads(json.dumps(result.model_turn)),
        )
        return result, (*after, turn)

    def local_turn(self, after: tuple[Turn, ...], instruction: str) -> tuple[Turn, ...]:
        """A round the ``local`` backend made: an image and no model turn."""
        sha = self.blobs.put_bytes(astronaut_png())
        turn = Turn(
            round_id=f"local{len(after) + 1}",
            number=len(after) + 1,
            mode="refine",
            instruction=instruction,
            quality="common",
            backend="local",
            model="pillow",
            region=None,
            image=self.blobs.path(sha),
            image_sha=sha,
        )
        return (*after, turn)
