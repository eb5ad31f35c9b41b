"""Every failure ripen shows a user, as one exception hierarchy.

Each error carries a ``kind`` (the stable word the CLI prints in its JSON and the
interface keys its styling on), a short ``title`` and a ``message`` written for the
person at the keyboard. The CLI and the interface each have exactly one place that
turns these into output, so wording lives here and nowhere else.
"""

from __future__ import annotations

from typing import ClassVar


class RipenError(Exception):
    """Base of every error ripen reports to a user."""

    kind: ClassVar[str] = "failed"
    title: ClassVar[str] = "Something went wrong"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, attempt: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.attempt = attempt

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "message": self.message, "attempt": self.attempt}


class BadInput(RipenError):
    """An input file, argument or value the user gave cannot be used."""

    kind = "bad_input"
    title = "Bad input"
    exit_code = 2


class NotFound(RipenError):
    """A session, round or template that does not exist."""

    kind = "not_found"
    title = "Not found"
    exit_code = 2


class StorageError(RipenError):
    """The database could not be written: locked by another program for longer
    than the busy timeout, read-only, or on a full disk."""

    kind = "storage"
    title = "Database unavailable"


class BudgetExceeded(RipenError):
    """A round would overrun a session's hard budget."""

    kind = "budget"
    title = "Over budget"


class GenerationError(RipenError):
    """A backend call that produced no round; the engine records it as an attempt.

    When the service answered before failing, ``usage`` and ``usd`` say what it
    reported, so the attempt can record the dollars (never credits).
    """

    kind = "failed"
    title = "Generation failed"
    usage: object | None = None
    usd: float | None = None


class NotUnderstood(GenerationError):
    """The local backend understood none of the instruction's clauses."""

    kind = "not_understood"
    title = "Instruction not understood"


class Blocked(GenerationError):
    """The service refused to produce an image for safety or policy reasons."""

    kind = "blocked"
    title = "Blocked by the service"

    def __init__(
        self, message: str, *, reason: str = "", attempt: str | None = None
    ) -> None:
        super().__init__(message, attempt=attempt)
        self.reason = reason


class NoImage(GenerationError):
    """The model answered with text only."""

    kind = "no_image"
    title = "No image in the answer"

    def __init__(
        self, message: str, *, text: str = "", attempt: str | None = None
    ) -> None:
        super().__init__(message, attempt=attempt)
        self.text = text


class RateLimited(GenerationError):
    """The service kept answering 429 past the configured total wait."""

    kind = "rate_limited"
    title = "Rate limited"


class AuthError(GenerationError):
    """The service rejected the key, or no key is configured."""

    kind = "auth"
    title = "Not authorised"


class Timeout(GenerationError):
    """The service did not answer in time."""

    kind = "timeout"
    title = "Timed out"


class Unavailable(GenerationError):
    """The service is down or the connection dropped, after retries."""

    kind = "unavailable"
    title = "Service unavailable"


class BadRequest(GenerationError):
    """The service (or a capability check before sending) refused the request."""

    kind = "bad_request"
    title = "Request refused"


class Cancelled(GenerationError):
    """The user cancelled the call."""

    kind = "cancelled"
    title = "Cancelled"


ERROR_KINDS = (
    "blocked",
    "no_image",
    "rate_limited",
    "auth",
    "timeout",
    "unavailable",
    "bad_request",
    "not_understood",
    "bad_input",
    "budget",
    "cancelled",
    "not_found",
    "failed",
)
