"""Every way a Gemini call can fail, as one of ripen's typed errors.

The SDK reports trouble in several shapes: :class:`google.genai.errors.APIError` with
an HTTP status and Google's error body, transport exceptions from its HTTP client,
validation errors when an answer cannot be parsed. :func:`classify` reads each into a
:class:`Failure`: the :class:`~core.errors.GenerationError` to show, whether a retry
may help and how long the service asked to wait. Messages are ripen's own words plus,
for refused requests, the service's explanation, and they never contain the key.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import math
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from google.genai import errors as genai_errors

from core.errors import (
    AuthError,
    BadRequest,
    GenerationError,
    RateLimited,
    Timeout,
    Unavailable,
)
from core.text import clean_text

KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")

AUTH_HINT = (
    "Set GEMINI_API_KEY (or GOOGLE_API_KEY) to a valid key from Google AI Studio, "
    "or configure Vertex AI with GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_CLOUD_PROJECT and "
    "GOOGLE_CLOUD_LOCATION."
)

_RETRYABLE_STATUS = (429, 500, 502, 503, 504)


@dataclass
class Failure:
    """What went wrong with one call, and whether trying again might help."""

    error: GenerationError
    retry: bool = False
    delay: float | None = None  # seconds the service asked us to wait
    what: str = ""  # for retry messages: "rate limited", "unavailable", ...


def scrub(text: str) -> str:
    """``text`` without the configured key or terminal controls, safe to show."""
    for name in KEY_VARIABLES:
        secret = os.environ.get(name, "").strip()
        if len(secret) >= 6:
            text = text.replace(secret, "[key hidden]")
    # Messages quote the service, and they are shown in a terminal.
    return clean_text(text)


def classify(exc: BaseException, *, model: str, timeout: float) -> Failure:
    """The typed failure behind an exception raised by one SDK call."""
    if isinstance(exc, genai_errors.APIError):
        return _api_failure(exc, model)
    if isinstance(exc, _TIMEOUTS):
        return Failure(timed_out(timeout))
    if isinstance(exc, _TRANSPORT):
        return Failure(
            Unavailable(
                "The connection to Gemini dropped before the answer arrived "
                f"({type(exc).__name__})."
            ),
            retry=True,
            what="connection dropped",
        )
    if _is_validation_error(exc):
        return Failure(malformed(_first_validation_problem(exc)))
    if isinstance(exc, ValueError) and "api key" in str(exc).lower():
        return Failure(AuthError(f"No usable Gemini key. {AUTH_HINT}"))
    return Failure(
        GenerationError(scrub(f"The Gemini call failed: {type(exc).__name__}: {exc}"))
    )


def malformed(detail: str) -> GenerationError:
    """The error for an answer whose image data cannot be used."""
    return GenerationError(
        f"Gemini's answer held malformed image data ({detail}); nothing was saved. "
        "Retrying usually helps."
    )


def timed_out(timeout: float) -> Timeout:
    """The error for a call that outlived ``gemini.timeout``."""
    return Timeout(
        f"Gemini did not answer within {timeout:g} s (gemini.timeout in config.toml)."
    )


def _api_failure(exc: genai_errors.APIError, model: str) -> Failure:
    code = exc.code
    body = exc.details if isinstance(exc.details, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    details = error.get("details") if isinstance(error, dict) else None
    details = details if isinstance(details, list) else []
    service = scrub(str(exc.message or exc.status or "no explanation given")).strip()

    if code in (401, 403) or (code == 400 and _invalid_key(details, service)):
        return Failure(
            AuthError(f"Gemini refused the key ({code}: {service}). {AUTH_HINT}")
        )
    if code == 429:
        quota = _daily_quota(details)
        if quota is not None:
            return Failure(
                RateLimited(
                    f"The daily quota for {model} is used up ({quota}); it resets "
                    "at midnight Pacific time. Wait until then or switch tier."
                )
            )
        return Failure(
            RateLimited(
                f"Gemini is rate limiting requests ({service}).{_delay_note(details)}"
            ),
            retry=True,
            delay=_asked_delay(exc, details),
            what="rate limited",
        )
    if code in _RETRYABLE_STATUS:
        return Failure(
            Unavailable(
                f"Gemini is unavailable ({code}: {service}).{_delay_note(details)}"
            ),
            retry=True,
            delay=_asked_delay(exc, details),
            what=f"service unavailable ({code})",
        )
    if code == 408:
        return Failure(Timeout(f"Gemini gave up waiting for the request ({service})."))
    if code is not None and 400 <= code < 500:
        return Failure(BadRequest(f"Gemini refused the request ({code}): {service}"))
    return Failure(GenerationError(f"Gemini answered {code}: {service}"))


def _delay_note(details: list[Any]) -> str:
    if _unreadable_delay(details):
        return " Its answer was malformed: the retry delay it asked for is unreadable."
    return ""


def _invalid_key(details: list[Any], message: str) -> bool:
    for item in details:
        if isinstance(item, dict) and str(item.get("reason", "")).startswith("API_KEY"):
            return True
    return (
        "api key not valid" in message.lower() or "api_key_invalid" in message.lower()
    )


def _daily_quota(details: list[Any]) -> str | None:
    """The quota id when a 429 is about a per-day quota, which no retry will cure."""
    for item in details:
        if not isinstance(item, dict) or "QuotaFailure" not in str(item.get("@type")):
            continue
        for violation in item.get("violations") or []:
            if not isinstance(violation, dict):
                continue
            quota = str(violation.get("quotaId", ""))
            metric = str(violation.get("quotaMetric", ""))
            if "perday" in quota.lower() or "per_day" in metric.lower():
                return quota or metric
    return None


def _asked_delay(exc: genai_errors.APIError, details: list[Any]) -> float | None:
    """The longer of the Retry-After header and the body's RetryInfo, if either."""
    delays: list[float] = []
    header = _header(exc, "retry-after")
    if header:
        parsed = parse_retry_after(header)
        if parsed is not None:
            delays.append(parsed)
    for item in details:
        if isinstance(item, dict) and "RetryInfo" in str(item.get("@type")):
            parsed = parse_duration(item.get("retryDelay"))
            if parsed is not None:
                delays.append(parsed)
    return max(delays) if delays else None


def _header(exc: genai_errors.APIError, name: str) -> str | None:
    headers = getattr(exc.response, "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    return str(value) if value is not None else None


def parse_retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    value = value.strip()
    if re.fullmatch(r"[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?", value, re.IGNORECASE):
        return _seconds(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return _seconds(when.timestamp() - time.time())


MAX_DELAY = 86_400.0
"""The longest wait ripen takes from the service: a day, far beyond any cap."""


def _seconds(value: Any) -> float | None:
    """A finite, non-negative number of seconds held to :data:`MAX_DELAY`, or None."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_DELAY)


def parse_duration(value: Any) -> float | None:
    """Seconds from a protobuf Duration: ``"37s"``, ``"1.5s"``, ``{"seconds": 37}``.

    None when the value cannot be read; absurd delays are held to :data:`MAX_DELAY`,
    which any sane ``gemini.max_retry_wait`` treats as over the cap.
    """
    if isinstance(value, dict):
        seconds = _seconds(value.get("seconds", 0) or 0)
        nanos = _seconds(value.get("nanos", 0) or 0)
        if seconds is None or nanos is None:
            return None
        return min(seconds + nanos / 1e9, MAX_DELAY)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)s\s*", value)
        if match:
            return _seconds(match.group(1))
    return None


def _unreadable_delay(details: list[Any]) -> bool:
    """Whether a RetryInfo in the error body carries a delay that cannot be read."""
    return any(
        isinstance(item, dict)
        and "RetryInfo" in str(item.get("@type"))
        and parse_duration(item.get("retryDelay")) is None
        for item in details
    )


def _is_validation_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "ValidationError" and hasattr(exc, "errors")


def _first_validation_problem(exc: BaseException) -> str:
    try:
        problems = exc.errors()  # type: ignore[attr-defined]
    except Exception:
        return "unreadable answer"
    for problem in problems:
        location = ".".join(str(step) for step in problem.get("loc", ()))
        if "data" in location or "base64" in str(problem.get("msg", "")):
            return "bad base64"
    return "unreadable answer"


def _transport_classes() -> tuple[
    tuple[type[BaseException], ...], tuple[type[BaseException], ...]
]:
    """The HTTP clients' timeout and transport exception classes, whichever exist."""
    timeouts: list[type[BaseException]] = [asyncio.TimeoutError, TimeoutError]
    transport: list[type[BaseException]] = [ConnectionError]
    for name in ("httpx", "httpx2", "aiohttp"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "TimeoutException"):
            timeouts.append(module.TimeoutException)
        for attr in ("TransportError", "ClientConnectionError", "ClientPayloadError"):
            if hasattr(module, attr):
                transport.append(getattr(module, attr))
        if hasattr(module, "ServerTimeoutError"):
            timeouts.append(module.ServerTimeoutError)
    return tuple(timeouts), tuple(transport)


_TIMEOUTS, _TRANSPORT = _transport_classes()
