"""Keeping the API key out of everything ripen writes.

The key is read from the environment only at the moment a request is built. Any text
that might end up in the database, a log, an export or on screen passes through
:func:`redact` first, so even an error message that quotes a request cannot leak it.
"""

from __future__ import annotations

import logging
import os

_KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


def _secrets() -> list[str]:
    return [
        value
        for name in _KEY_VARIABLES
        if (value := os.environ.get(name, "").strip()) and len(value) >= 6
    ]


def redact(text: str) -> str:
    """``text`` with any configured API key replaced by a placeholder."""
    for secret in _secrets():
        text = text.replace(secret, "[key hidden]")
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs the key from every record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def setup_logging(log_path: os.PathLike[str] | str) -> None:
    """Send ripen's logs (and the SDK's) to a file, never to the terminal."""
    root = logging.getLogger()
    target = os.path.abspath(log_path)
    for old in [h for h in root.handlers if getattr(h, "_ripen", False)]:
        if getattr(old, "baseFilename", None) == target:
            return
        # Another data folder's log: this engine's records belong in its own.
        root.removeHandler(old)
        old.close()
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    handler._ripen = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Libraries must not print warnings onto the user's terminal either.
    logging.captureWarnings(True)
    for name in ("httpx", "httpx2", "httpcore", "httpcore2", "google_genai"):
        logging.getLogger(name).setLevel(logging.WARNING)
