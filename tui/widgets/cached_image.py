"""textual-image's character-cell widgets, with their drawn lines kept per image.

Half-cell and unicode previews are drawn as text: every cell of the picture becomes
a styled character, and drawing a preview panel of a few thousand cells is most of
what switching between two rounds costs. The picture does not change while its size
does not, so the lines drawn for the last few images are kept and reused; flipping
between two rounds of an A/B pair then costs a repaint, not a redraw. Graphics
protocols (Kitty, Sixel) are left alone: the terminal does their drawing.
"""

from __future__ import annotations

import types
from collections import OrderedDict
from typing import Any

from textual.strip import Strip
from textual.visual import Visual, visualize

KEPT_IMAGES = 4


class LineCache:
    """Mixed into a textual-image widget class: keep drawn lines per image and size."""

    image: Any
    _kept_lines: OrderedDict[tuple[int, int, int], tuple[Any, list[Strip]]]

    def render_line(self, y: int) -> Strip:
        widget: Any = self
        width, height = widget.size
        image = widget.image
        key = (id(image), width, height)
        kept = self.__dict__.setdefault("_kept_lines", OrderedDict())
        entry = kept.get(key)
        # The entry holds the image itself, so its id cannot be reused meanwhile.
        if entry is None or entry[0] is not image:
            visual = visualize(widget, widget.render())
            lines = Visual.to_strips(widget, visual, width, height, widget.visual_style)
            entry = (image, lines)
            kept[key] = entry
            while len(kept) > KEPT_IMAGES:
                kept.popitem(last=False)
        kept.move_to_end(key)
        lines = entry[1]
        if 0 <= y < len(lines):
            return lines[y]
        return Strip.blank(width, widget.visual_style.rich_style)

    def notify_style_update(self) -> None:
        self.__dict__.pop("_kept_lines", None)
        super().notify_style_update()  # type: ignore[misc]


def with_line_cache(base: type[Any]) -> type[Any]:
    """A subclass of a textual-image widget class that keeps its drawn lines."""
    return types.new_class(
        base.__name__,
        (LineCache, base),
        {"Renderable": base._Renderable},
    )
