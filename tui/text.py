"""Lines of styled text built from pieces, the way every widget here builds them.

A piece is a string and a style. Pieces are joined into one ``Text`` with one span
per styled piece, which is cheaper than appending to a ``Text`` piece by piece (the
session tree makes thousands of labels at once). By convention the space between
two pieces ends the first one rather than starting the second: the SVG screenshots
are drawn one run of text per style, and some SVG renderers drop a space that
starts a run.
"""

from __future__ import annotations

from rich.text import Span, Text

Piece = tuple[str, str]


def line(*pieces: Piece, wrap: bool = False) -> Text:
    """One Text from ``(text, style)`` pieces; an empty style means plain."""
    plain = "".join(text for text, _ in pieces)
    spans = []
    at = 0
    for text, style in pieces:
        if style and text:
            spans.append(Span(at, at + len(text), style))
        at += len(text)
    if wrap:
        return Text(plain, spans=spans)
    return Text(plain, spans=spans, no_wrap=True, overflow="ellipsis")


def joined(parts: list[Piece], separator: str = " ") -> list[Piece]:
    """Pieces with ``separator`` appended to every one but the last."""
    return [
        (text + separator if index < len(parts) - 1 else text, style)
        for index, (text, style) in enumerate(parts)
    ]
