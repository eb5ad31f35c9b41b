"""The ``gemini`` backend: one round through google-genai, with retries and cancel.

:class:`GeminiBackend` checks the request against the model's capabilities, builds it
from the branch under the context policy, sends it with the SDK's async client and
reads the answer. Three things are deliberately ours rather than the SDK's:

* **Retries.** The SDK's own retry is off. Rate limits, 5xx answers and dropped
  connections are retried here with exponential backoff and jitter, honouring the
  service's Retry-After header and RetryInfo delay, with the total wait capped by
  ``gemini.max_retry_wait``. Each wait is a countdown the interface can show and
  the user can cancel.
* **Cancellation.** The call runs as a task on one event loop that ripen keeps on a
  background thread, polled every 50 ms; when the caller's token flips the task is
  cancelled and :class:`~core.errors.Cancelled` is raised, even while the service is
  still silent.
* **The key.** It is read from ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY`` when a call
  starts. The SDK client made with it is kept in memory for the next call (building
  one costs tens of milliseconds of TLS set-up) and replaced as soon as the key, the
  endpoint or the timeout changes; the key is never written anywhere. Vertex AI is
  left entirely to the SDK's own environment settings.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import math
import os
import random
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

from google import genai
from google.genai import types

from core.backends import credits_for
from core.backends.base import (
    BlobStore,
    GenerationRequest,
    GenerationResult,
    Quality,
    Usage,
)
from core.backends.gemini import capabilities as caps
from core.backends.gemini import context as ctx
from core.backends.gemini import turns
from core.backends.gemini.answer import (
    Answer,
    malformed_answer,
    parse_body,
    read_answer,
)
from core.backends.gemini.failures import (
    AUTH_HINT,
    Failure,
    classify,
    scrub,
    timed_out,
)
from core.backends.gemini.pricing import dollars, prices_for, usage_from
from core.cancel import CancelToken, Progress, ProgressCallback, Stopwatch
from core.config import Config
from core.errors import AuthError, Cancelled, GenerationError

log = logging.getLogger("ripen.gemini")

_POLL = 0.05
_MODALITIES = ["TEXT", "IMAGE"]

T = TypeVar("T")

_LIVE: weakref.WeakSet[GeminiBackend] = weakref.WeakSet()


class _LoopThread:
    """One event loop on a daemon thread, shared by every backend in the process.

    The SDK's async HTTP client belongs to the loop it first ran on, so a client can
    be reused across calls only if every call runs on the same loop.
    """

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="ripen-gemini", daemon=True
                )
                thread.start()
                cls._loop = loop
            return cls._loop

    @classmethod
    def run(cls, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the shared loop; block until it is done."""
        future = asyncio.run_coroutine_threadsafe(coroutine, cls.loop())
        try:
            return future.result()
        except BaseException:
            # Ctrl+C in the caller: the task must not go on alone.
            future.cancel()
            raise


class GeminiBackend:
    """Google's Gemini image models through the official SDK."""

    name = "gemini"

    def __init__(
        self,
        config: Config,
        *,
        first_backoff: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.first_backoff = first_backoff
        self._rng = rng or random.Random()
        self._client_lock = threading.Lock()
        self._client_for: tuple[str, ...] | None = None
        self._client_cache: genai.Client | None = None
        _LIVE.add(self)

    def model_for(self, quality: Quality) -> str:
        """The configured model name for a quality tier."""
        gemini = self.config.gemini
        return gemini.ultra_model if quality == "ultra" else gemini.common_model

    def credits_for(self, quality: Quality) -> int:
        """Credits one round costs at a quality tier."""
        return credits_for("gemini", self.config, quality)

    def generate(
        self,
        request: GenerationRequest,
        blobs: BlobStore,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> GenerationResult:
        """Produce one round, or raise the GenerationError that says why not."""
        clock = Stopwatch()
        # A promoted render always goes to the Ultra model.
        quality: Quality = "ultra" if request.mode == "promote" else request.quality
        model = self.model_for(quality)
        limits = caps.capabilities(model)
        size = request.image_size or (
            self.config.gemini.ultra_size if limits.sends_size else limits.sizes[0]
        )
        caps.check(
            model,
            aspect=request.aspect,
            image_size=size,
            images=len(request.inputs) + len(request.refs),
        )
        policy = ctx.parse_policy(request.context_policy or self.config.gemini.context)
        settings, generation = _settings(
            request.aspect, size if limits.sends_size else None
        )
        plan = ctx.plan_request(
            request,
            blobs,
            model=model,
            policy=policy,
            budget=self.config.gemini.request_budget_bytes,
            settings=settings,
        )
        cancel.raise_if_cancelled()

        response = self._send_with_retries(
            model, plan.contents, generation, progress, cancel, clock
        )
        payload = parse_body(
            response.sdk_http_response.body if response.sdk_http_response else None
        )
        usage = usage_from(payload.get("usageMetadata"))
        prices = prices_for(model, self.config.pricing)
        try:
            try:
                answer = read_answer(payload)
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as e:
                # A shape read_answer does not check for is still a malformed answer.
                raise malformed_answer(type(e).__name__) from None
        except GenerationError as error:
            _attach_cost(error, usage, dollars(usage, prices, image_received=False))
            raise
        progress(
            Progress(
                "decoding", "Reading the image", model=model, elapsed=clock.elapsed
            )
        )
        return self._result(
            request,
            blobs,
            model,
            size,
            plan,
            answer,
            usage,
            dollars(usage, prices, image_received=True),
        )

    # -- the call ---------------------------------------------------------------

    def _send_with_retries(
        self,
        model: str,
        contents: list[types.Content],
        generation: types.GenerateContentConfig,
        progress: ProgressCallback,
        cancel: CancelToken,
        clock: Stopwatch,
    ) -> types.GenerateContentResponse:
        settings = self.config.gemini
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            progress(
                Progress(
                    "sending",
                    f"Asking {model}",
                    model=model,
                    elapsed=clock.elapsed,
                    attempt=attempt,
                )
            )
            try:
                return self._call(
                    model, contents, generation, progress, cancel, clock, attempt
                )
            except GenerationError:
                raise
            except Exception as exc:  # every SDK failure is classified below
                failure = classify(exc, model=model, timeout=settings.timeout)
                log.info(
                    "gemini attempt %d failed: %s (%s)",
                    attempt,
                    failure.error.kind,
                    type(exc).__name__,
                )
                if not failure.retry:
                    raise failure.error from None
            delay = self._delay(failure, attempt)
            if attempt > settings.max_retries:
                raise _gave_up(failure, attempt, waited) from None
            if waited + delay > settings.max_retry_wait:
                raise _over_cap(
                    failure, delay, waited, settings.max_retry_wait
                ) from None
            self._count_down(delay, failure, model, attempt, progress, cancel, clock)
            waited += delay

    def _delay(self, failure: Failure, attempt: int) -> float:
        """The service's requested wait, else exponential backoff with jitter."""
        if failure.delay is not None:
            return failure.delay
        ceiling = self.first_backoff * 2 ** (attempt - 1)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _count_down(
        self,
        delay: float,
        failure: Failure,
        model: str,
        attempt: int,
        progress: ProgressCallback,
        cancel: CancelToken,
        clock: Stopwatch,
    ) -> None:
        remaining = delay
        while remaining > 0:
            progress(
                Progress(
                    "retrying",
                    f"{failure.what.capitalize()}; "
                    f"retrying in {math.ceil(remaining)} s",
                    model=model,
                    elapsed=clock.elapsed,
                    retry_in=remaining,
                    attempt=attempt + 1,
                )
            )
            step = min(1.0, remaining)
            if cancel.wait(step):
                raise Cancelled("Cancelled while waiting to retry.")
            remaining -= step

    def _call(
        self,
        model: str,
        contents: list[types.Content],
        generation: types.GenerateContentConfig,
        progress: ProgressCallback,
        cancel: CancelToken,
        clock: Stopwatch,
        attempt: int,
    ) -> types.GenerateContentResponse:
        """One request, as a task on the shared loop so it can be abandoned at once."""
        client = self._client()
        return _LoopThread.run(
            self._call_async(
                client, model, contents, generation, progress, cancel, clock, attempt
            )
        )

    async def _call_async(
        self,
        client: genai.Client,
        model: str,
        contents: list[types.Content],
        generation: types.GenerateContentConfig,
        progress: ProgressCallback,
        cancel: CancelToken,
        clock: Stopwatch,
        attempt: int,
    ) -> types.GenerateContentResponse:
        timeout = self.config.gemini.timeout
        started = clock.elapsed
        next_report = started + 1.0
        task = asyncio.ensure_future(
            client.aio.models.generate_content(
                model=model, contents=contents, config=generation
            )
        )
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=_POLL)
                if done:
                    return task.result()
                if cancel.cancelled:
                    raise Cancelled("Cancelled while waiting for Gemini.")
                if clock.elapsed - started > timeout:
                    raise timed_out(timeout)
                if clock.elapsed >= next_report:
                    next_report += 1.0
                    progress(
                        Progress(
                            "waiting",
                            f"Waiting for {model}",
                            model=model,
                            elapsed=clock.elapsed,
                            attempt=attempt,
                        )
                    )
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)

    def _client(self) -> genai.Client:
        """The SDK client for this call's key and settings, reused while they hold."""
        settings = self.config.gemini
        key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        # A digest, so the cache's identity does not hold the key a second time.
        fingerprint = (
            hashlib.sha256((key or "").strip().encode()).hexdigest(),
            os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", ""),
            settings.base_url or "",
            str(settings.timeout),
        )
        with self._client_lock:
            if self._client_cache is None or self._client_for != fingerprint:
                stale = self._client_cache
                self._client_cache = self._new_client()
                self._client_for = fingerprint
                if stale is not None:
                    _close_later(stale)
            return self._client_cache

    def _new_client(self) -> genai.Client:
        """A new SDK client from the environment's key and the config."""
        settings = self.config.gemini
        options = types.HttpOptions(
            base_url=settings.base_url,
            timeout=int(settings.timeout * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        if os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() in ("1", "true"):
            # Vertex AI picks its own API version, project and location.
            try:
                return genai.Client(http_options=options)
            except ValueError as exc:
                raise AuthError(scrub(f"Vertex AI is not set up: {exc}")) from None
        key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        if not key or not key.strip():
            raise AuthError(f"No Gemini key is set. {AUTH_HINT}")
        # Image settings and thought signatures live in the v1beta surface.
        options.api_version = "v1beta"
        return genai.Client(api_key=key.strip(), http_options=options)

    def close(self) -> None:
        """Close the cached SDK client (its connections), if there is one."""
        with self._client_lock:
            stale, self._client_cache, self._client_for = self._client_cache, None, None
        if stale is not None:
            _close_later(stale).result(timeout=5)

    # -- the result ---------------------------------------------------------------

    def _result(
        self,
        request: GenerationRequest,
        blobs: BlobStore,
        model: str,
        size: str,
        plan: ctx.Plan,
        answer: Answer,
        usage: Usage,
        usd: float | None,
    ) -> GenerationResult:
        received = caps.size_class(answer.width, answer.height)
        warnings_: list[str] = list(plan.warnings)
        if received != size:
            warnings_.append(
                f"Asked for {size}, received "
                f"{answer.width}x{answer.height} ({received})."
            )
        if request.aspect and not caps.aspect_matches(
            request.aspect, answer.width, answer.height
        ):
            warnings_.append(
                f"Asked for aspect {request.aspect}, received "
                f"{answer.width}x{answer.height}."
            )
        reply = [
            turns.received_record(part, data, blobs)
            for part, data in zip(answer.parts, answer.data, strict=True)
        ]
        asked = {"aspect": request.aspect, "image_size": size}
        got = {"width": answer.width, "height": answer.height, "size": received}
        model_turn: dict[str, Any] = {
            "backend": "gemini",
            "format": turns.FORMAT,
            "model": model,
            "user": plan.user,
            "reply": reply,
            "image_part": answer.image_index,
            "finish_reason": answer.finish_reason,
            "asked": asked,
            "received": got,
        }
        return GenerationResult(
            image=answer.image,
            model=model,
            text=answer.text,
            usage=usage,
            usd=usd,
            model_turn=model_turn,
            warnings=warnings_,
            context={**plan.context, "asked": asked, "received": got},
        )


def _settings(
    aspect: str | None, size: str | None
) -> tuple[dict[str, Any], types.GenerateContentConfig]:
    """The generation settings, as the SDK object and as they appear on the wire."""
    wire: dict[str, Any] = {"responseModalities": _MODALITIES}
    image: dict[str, str] = {}
    if aspect:
        image["aspectRatio"] = aspect
    if size:
        image["imageSize"] = size
    if image:
        wire["imageConfig"] = image
    config = types.GenerateContentConfig(
        response_modalities=_MODALITIES,
        image_config=types.ImageConfig(aspect_ratio=aspect, image_size=size)
        if image
        else None,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        automatic_continuation=False,
        # The raw body: ripen reads every part itself, exactly as it was sent.
        should_return_http_response=True,
    )
    return wire, config


def _gave_up(failure: Failure, attempts: int, waited: float) -> GenerationError:
    error = failure.error
    text = (
        f"{error.message} Gave up after {attempts} tries and {waited:.0f} s of waiting."
    )
    return type(error)(text)


def _over_cap(
    failure: Failure, delay: float, waited: float, cap: float
) -> GenerationError:
    error = failure.error
    if failure.delay is not None:
        text = (
            f"{error.message} Gemini asked to wait {delay:.0f} s before retrying, "
            f"more than the {cap:g} s limit (gemini.max_retry_wait)"
        )
        text += f" after {waited:.0f} s already waited." if waited else "."
    else:
        text = (
            f"{error.message} Still failing after {waited:.0f} s of retries "
            f"(gemini.max_retry_wait is {cap:g} s)."
        )
    return type(error)(text)


def _attach_cost(error: GenerationError, usage: Usage, usd: float | None) -> None:
    """Let the engine record what a failed call cost: tokens and any dollars."""
    setattr(error, "usage", usage)  # noqa: B010 - an attribute the engine may read
    setattr(error, "usd", usd)  # noqa: B010


def close_all() -> None:
    """Close every backend's cached client (at the end of a test or a process)."""
    for backend in list(_LIVE):
        backend.close()


def _close_later(client: genai.Client) -> concurrent.futures.Future[None]:
    """Close a replaced client's connections on the loop that owns them."""

    async def close() -> None:
        try:
            client.close()
            await client.aio.aclose()
        except Exception:  # a client for a gone server may fail to close
            log.debug("closing a replaced Gemini client failed", exc_info=True)

    return asyncio.run_coroutine_threadsafe(close(), _LoopThread.loop())
