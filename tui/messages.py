"""What the workers report back to the screens, as past-tense messages.

Workers run engine calls on threads and must not touch widgets; they post one of
these instead and the screen updates itself on the main thread. Each message says
what already happened, so a handler never has to guess whether work is pending.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image
from textual.message import Message

from core.cancel import Progress
from core.errors import RipenError
from core.meter import Meter
from core.models import Round


class ProgressReported(Message):
    """A running generation reported a phase, its elapsed time or a retry wait."""

    def __init__(self, job: int, progress: Progress) -> None:
        super().__init__()
        self.job = job
        self.progress = progress


class RoundCompleted(Message):
    """A generation finished and its round is saved."""

    def __init__(self, job: int, round: Round) -> None:  # noqa: A002
        super().__init__()
        self.job = job
        self.round = round


class PairCompleted(Message):
    """Both alternatives of an A/B pair finished; each holds a round or its error."""

    def __init__(self, job: int, results: list[Round | RipenError]) -> None:
        super().__init__()
        self.job = job
        self.results = results


class AttemptFailed(Message):
    """A generation ended without a round; the engine kept it as an attempt."""

    def __init__(self, job: int, error: RipenError) -> None:
        super().__init__()
        self.job = job
        self.error = error


class SessionMeasured(Message):
    """The credit meter and the template's next step were read from the session."""

    def __init__(self, meter: Meter, hint: str, number: int) -> None:
        super().__init__()
        self.meter = meter
        self.hint = hint
        self.number = number


@dataclass(frozen=True)
class LoadedPreview:
    """A decoded preview, or the reason there is none."""

    sha: str
    image: Image.Image | None
    problem: str = ""


class PreviewLoaded(Message):
    """A preview finished decoding (or failed to) on a worker thread."""

    def __init__(self, preview: LoadedPreview) -> None:
        super().__init__()
        self.preview = preview
