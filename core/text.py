"""Making text from outside safe to store and to show in a terminal.

Text reaches ripen from the keyboard, from pasted files, from template files other
people wrote and from the model's answers. Any of it may carry terminal escape
sequences (which can clear the screen or write the clipboard), bidirectional
overrides that reorder what is shown, or bytes that are not UTF-8. Everything that
is stored or printed passes through :func:`clean_text` first.
"""

from __future__ import annotations

import re

# Whole escape sequences go first, so a pasted coloured word keeps its word; then
# any control left: C0 but tab and newline, DEL, the C1 block (U+009B is a
# one-character escape) and the bidirectional overrides that reorder shown text.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str, *, single_line: bool = False) -> str:
    """``text`` without terminal controls and undecodable bytes, trimmed.

    Bytes that were not UTF-8 (which Python keeps as lone surrogates) become the
    replacement character, so the text can always be stored and printed.
    """
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that was never a byte
        raw = text.encode("utf-8", "surrogatepass")
    text = raw.decode("utf-8", "replace")
    text = _ESCAPE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    if single_line:
        text = " ".join(text.split())
    return text.strip()
