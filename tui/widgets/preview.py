"""A round's image in the terminal, as large as its panel allows.

The image comes from :class:`~tui.preview_cache.PreviewCache`: a preview already
decoded in memory is shown at once; any other is prepared on a worker thread while
the panel says so. A missing or undecodable file shows a placeholder with the reason
instead of an image, and nothing else changes. The renderer class (Kitty graphics,
Sixel or half-cells) is chosen once by :mod:`tui.renderer`; the image widget is
made when the first image arrives, so a panel that has shown nothing yet has not
needed textual-image.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container
from textual.timer import Timer
from textual.widgets import Static

from tui.messages import LoadedPreview, PreviewLoaded
from tui.preview_cache import PreviewCache, PreviewUnavailable

if TYPE_CHECKING:
    from tui.app import RipenApp

LOAD_DELAY = 0.08


class ImagePanel(Container):
    """One image, centred, or a placeholder that says why there is none."""

    def __init__(
        self,
        image_class: type[Any] | None,
        cache: PreviewCache,
        *,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        """``image_class`` draws the image; None takes the app's when it is needed."""
        super().__init__(id=id, classes=classes)
        self.image_class = image_class
        self.cache = cache
        self.sha: str | None = None
        self.problem = ""
        self._load_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="placeholder", markup=False)

    @property
    def image_widget(self) -> Any | None:
        """The widget drawing the image, once there has been one to draw."""
        found = self.query(".image")
        return found.first() if found else None

    def show(self, sha: str | None, path: Path | None, empty: str = "") -> None:
        """Show the image with content hash ``sha`` stored at ``path``."""
        self.sha = sha
        if sha is None or path is None:
            self._placeholder(empty or "Nothing to show.")
            return
        image = self.cache.cached(sha)
        if image is not None:
            self._image(image)
            return
        self._placeholder("Preparing the preview…")
        # Decoding waits a moment, so that passing over many rounds with a held
        # key does not queue a decode for each of them.
        if self._load_timer is not None:
            self._load_timer.stop()
        self._load_timer = self.set_timer(LOAD_DELAY, lambda: self._load(sha, path))

    # Not exclusive: a worker cannot stop a thread halfway through a decode, and a
    # result for a round the user has moved away from is simply not shown.
    @work(
        thread=True,
        exclusive=False,
        exit_on_error=False,
        group="preview",
        description="Preparing a preview",
    )
    def _load(self, sha: str, path: Path) -> None:
        if sha != self.sha:
            return  # moved on before the decode began
        try:
            loaded = LoadedPreview(sha, self.cache.load(sha, path))
        except PreviewUnavailable as exc:
            loaded = LoadedPreview(sha, None, str(exc))
        self.post_message(PreviewLoaded(loaded))

    @on(PreviewLoaded)
    def _loaded(self, event: PreviewLoaded) -> None:
        event.stop()
        preview = event.preview
        if preview.sha != self.sha:
            return  # the user has moved on to another round meanwhile
        if preview.image is None:
            self._placeholder(f"No preview.\n{preview.problem}")
        else:
            self._image(preview.image)

    def _image(self, image: Any) -> None:
        self.problem = ""
        widget = self.image_widget
        if widget is None:
            image_class = self.image_class or cast("RipenApp", self.app).image_class
            self.mount(image_class(image, classes="image"), before=0)
        else:
            widget.image = image
            widget.display = True
        self.query_one(".placeholder", Static).display = False

    def _placeholder(self, text: str) -> None:
        self.problem = text
        widget = self.image_widget
        if widget is not None:
            widget.display = False
            widget.image = None
        placeholder = self.query_one(".placeholder", Static)
        placeholder.update(text)
        placeholder.display = True
