"""Starting a session: a prompt, a photo to edit, or two or three references.

``NewSessionScreen(engine, start_dir=None)`` asks for the mode, the images (a file
picker that starts in the current folder and lists only images ripen can read), the
tier, the aspect ratio, the budget and an optional template, then runs the first
generation on a worker thread while a progress line shows the model, the seconds
spent and any rate-limit countdown. Escape cancels a running generation (the engine
records it as a cancelled attempt, never charged); otherwise it leaves the screen.

The screen answers through ``dismiss``: the new session's first ``Round``, or
``None`` when the user left without starting one. A round that arrives after the
user left is saved all the same; the session is then in the sessions list.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Button,
    DirectoryTree,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
)
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState

from core.backends.base import ASPECTS, Quality
from core.cancel import Progress
from core.config import default_backend
from core.engine import Engine
from core.errors import BadInput, RipenError
from core.ingest import MAX_INPUTS, SUPPORTED_SUFFIXES
from core.library import list_templates
from core.meter import tier_credits
from core.models import Round
from core.text import clean_text
from tui.errors import AnswersOnce, handle_worker_state, show_error
from tui.keys import FOCUS_BINDINGS, after_earlier_keys, key
from tui.messages import AttemptFailed, ProgressReported, RoundCompleted
from tui.screens.dialogs import InstructionArea
from tui.screens.workspace import Job
from tui.widgets.progress import ProgressLine

if TYPE_CHECKING:
    from tui.app import RipenApp

MODES = (
    ("generate", "Text prompt"),
    ("edit", "Edit a photo"),
    ("compose", "Compose 2 or 3 references"),
)

# Tab goes through what every session needs first (mode, prompt, images), then
# the settings that have good defaults. Textual orders focus by position, which
# would send the first Tab down the settings column, five fields from the prompt.
FOCUS_ORDER = (
    "new-mode",
    "new-prompt",
    "new-files",
    "new-path",
    "new-tier",
    "new-aspect",
    "new-budget",
    "new-template",
    "new-start",
)

HELP = (
    "Tab moves between fields; arrows and Enter choose. Explore on Common and "
    "keep Ultra for the final render. Enter in the prompt or ctrl+s starts; "
    "Esc cancels a running generation."
)

# Negative, so these job numbers never meet the workspace's (which count up from 1)
# in the app's table of running jobs.
_job_numbers = (-n for n in itertools.count(1))


class ImageTree(DirectoryTree):
    """A directory tree that lists folders and the images ripen can read."""

    BINDING_GROUP_TITLE = "Images"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "backspace",
            "parent",
            "Up a folder",
            "Show the folder above this one",
            id="new.parent_folder",
        ),
        key(
            "x",
            "screen.clear_images",
            "Clear chosen",
            "Forget the images chosen so far",
            id="new.clear_images",
        ),
    ]
    # Plain marks: emoji icons are drawn two cells wide in some terminals and tmux.
    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "
    ICON_FILE = "  "

    def __init__(self, path: Path, *, id: str) -> None:  # noqa: A002
        super().__init__(path, id=id)
        self.chosen: set[Path] = set()

    def render_label(
        self, node: TreeNode[DirEntry], base_style: Style, style: Style
    ) -> Text:
        label = super().render_label(node, base_style, style)
        if node.data is not None and node.data.path.resolve() in self.chosen:
            label.append("  ✓ chosen", style="bold green")
        return label

    def mark(self, chosen: set[Path]) -> None:
        """Mark the chosen files, redrawing only the lines whose mark changed."""
        changed = self.chosen ^ chosen
        self.chosen = chosen
        nodes = [self.root]
        while nodes:
            node = nodes.pop()
            if node.data is not None and node.data.path.resolve() in changed:
                node.refresh()
            nodes.extend(node.children)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            path
            for path in paths
            if not path.name.startswith(".")
            and (self._safe_is_dir(path) or path.suffix.lower() in SUPPORTED_SUFFIXES)
        ]

    def action_parent(self) -> None:
        here = Path(self.path).resolve()
        if here.parent != here:
            self.path = here.parent


@dataclass(frozen=True)
class StartRequest:
    """Everything the form holds when the user starts the session."""

    prompt: str
    images: tuple[Path, ...]
    quality: Quality
    aspect: str | None
    budget: int
    template: str | None


class NewSessionScreen(AnswersOnce, Screen[Round | None]):
    """The form for a new session, and the progress of its first round."""

    CSS_PATH = "../screens.tcss"
    BINDING_GROUP_TITLE = "New session"
    BINDINGS: ClassVar[list[BindingType]] = [
        *FOCUS_BINDINGS,
        key(
            "ctrl+s",
            "start",
            "Start",
            "Run the first round with these settings",
            id="new.start",
            priority=True,
        ),
        key(
            "escape",
            "cancel",
            "Cancel",
            "Stop the running generation, or leave this screen",
            id="new.cancel",
        ),
    ]

    def __init__(self, engine: Engine, start_dir: Path | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.start_dir = (start_dir or Path.cwd()).resolve()
        self.images: list[Path] = []
        self.job: Job | None = None

    @property
    def ripen(self) -> RipenApp:
        return cast("RipenApp", self.app)

    # -- layout ------------------------------------------------------------------

    @property
    def focus_chain(self) -> list[Widget]:
        """Textual's focus chain, reordered to ``FOCUS_ORDER``."""

        def rank(widget: Widget) -> int:
            for node in widget.ancestors_with_self:
                if node.id in FOCUS_ORDER:
                    return FOCUS_ORDER.index(node.id)
            return len(FOCUS_ORDER)

        return sorted(super().focus_chain, key=rank)

    def compose(self) -> ComposeResult:
        config = self.engine.config
        backend = default_backend(config)
        common = tier_credits(self.engine, backend, "common")
        ultra = tier_credits(self.engine, backend, "ultra")
        yield Label(
            f"New session · {backend} backend", id="new-heading", classes="heading"
        )
        with Horizontal(id="new-form"):
            with VerticalScroll(id="new-settings"):
                yield Label("Mode", classes="field-label")
                with RadioSet(id="new-mode"):
                    for index, (name, label) in enumerate(MODES):
                        yield RadioButton(label, value=index == 0, name=name)
                yield Label("Tier", classes="field-label")
                with RadioSet(id="new-tier"):
                    yield RadioButton(
                        f"Common · {common} credits · explore",
                        value=True,
                        name="common",
                    )
                    yield RadioButton(
                        f"Ultra · {ultra} credits · final render", name="ultra"
                    )
                yield Label("Aspect ratio", classes="field-label")
                yield Select(
                    [(aspect, aspect) for aspect in ASPECTS],
                    prompt="as the source (or square)",
                    id="new-aspect",
                )
                with Horizontal(classes="pair"):
                    with Vertical():
                        yield Label("Budget (credits)", classes="field-label")
                        yield Input(str(config.budget), type="integer", id="new-budget")
                    with Vertical():
                        yield Label("Template", classes="field-label")
                        yield Select(
                            [
                                (t.title or t.name, t.name)
                                for t in list_templates(self.engine)
                            ],
                            prompt="none",
                            id="new-template",
                        )
                yield Static(HELP, id="new-help")
            with Vertical(id="new-inputs"):
                yield Label("Prompt", classes="field-label")
                yield InstructionArea(id="new-prompt")
                with Vertical(id="new-picker"):
                    yield Label(
                        "Images · Enter adds or removes · Backspace: up a folder",
                        classes="field-label",
                    )
                    yield ImageTree(self.start_dir, id="new-files")
                    yield Input(
                        placeholder="or type a path and press Enter", id="new-path"
                    )
                    yield Static("", id="new-chosen", markup=False)
        with Horizontal(id="new-actions"):
            yield ProgressLine(id="new-progress")
            yield Button("Start (ctrl+s)", id="new-start", variant="success")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ProgressLine).display = False
        self._show_mode()
        self.query_one("#new-mode", RadioSet).focus()

    # -- the form ----------------------------------------------------------------

    @property
    def mode(self) -> str:
        pressed = self.query_one("#new-mode", RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else "generate"

    @on(RadioSet.Changed, "#new-mode")
    def _mode_changed(self) -> None:
        if self.mode == "edit" and len(self.images) > 1:
            self.images = self.images[:1]
        self._show_mode()

    def _show_mode(self) -> None:
        mode = self.mode
        self.query_one("#new-picker").display = mode != "generate"
        prompt = self.query_one("#new-prompt", InstructionArea)
        prompt.placeholder = {
            "generate": "Describe the image: subject, setting, light, mood",
            "edit": "Optional: what to change in the photo",
            "compose": "How to combine the references",
        }[mode]
        self._show_chosen()

    def _show_chosen(self) -> None:
        self.query_one("#new-files", ImageTree).mark(set(self.images))
        chosen = self.query_one("#new-chosen", Static)
        if not self.images:
            wanted = "one photo" if self.mode == "edit" else "two or three images"
            chosen.update(f"No image chosen yet: pick {wanted}.")
            return
        names = ", ".join(clean_text(p.name, single_line=True) for p in self.images)
        chosen.update(f"Chosen ({len(self.images)}): {names} · x in the list clears")

    def add_image(self, path: Path) -> None:
        """Add an image to the selection, or take it out if it is already in."""
        try:
            path = path.resolve()
            is_file = path.is_file()
        except (OSError, ValueError) as error:  # a name too long, a NUL, no access
            reason = getattr(error, "strerror", None) or error
            shown = clean_text(str(path), single_line=True)
            shown = shown if len(shown) <= 60 else shown[:60] + "…"
            self.notify(f"{reason}: {shown}", severity="warning", markup=False)
            return
        if path in self.images:
            self.images.remove(path)
        elif not is_file:
            self.notify(f"No file at {path}.", severity="warning", markup=False)
            return
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            self.notify(
                f"{path.name} is not an image ripen can read.",
                severity="warning",
                markup=False,
            )
            return
        elif self.mode == "edit":
            self.images = [path]
        elif len(self.images) >= MAX_INPUTS:
            self.notify(
                f"At most {MAX_INPUTS} references; Enter on one takes it out.",
                severity="warning",
            )
            return
        else:
            self.images.append(path)
        self._show_chosen()

    @on(DirectoryTree.FileSelected, "#new-files")
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.add_image(event.path)

    @on(Input.Submitted, "#new-path")
    def _path_typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        try:
            path = Path(text).expanduser()
        except RuntimeError:  # "~someone" with no such user
            self.notify(f"No home folder for {text.split('/')[0]}.", markup=False)
            return
        if not path.is_absolute():
            path = self.start_dir / path
        self.add_image(path)
        event.input.value = ""

    def action_clear_images(self) -> None:
        self.images = []
        self._show_chosen()

    @on(InstructionArea.Submitted, "#new-prompt")
    def _prompt_submitted(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#new-start")
    def _start_pressed(self) -> None:
        self.action_start()

    def read_form(self) -> StartRequest:
        """The form as a request, or BadInput saying what is missing."""
        prompt = self.query_one("#new-prompt", InstructionArea).text.strip()
        mode = self.mode
        images = tuple(self.images) if mode != "generate" else ()
        if mode == "generate" and not prompt:
            raise BadInput("Write a prompt first: what should the image show?")
        if mode == "edit" and len(images) != 1:
            raise BadInput("Pick the photo to edit: Enter on it in the file list.")
        if mode == "compose" and not 2 <= len(images) <= MAX_INPUTS:
            raise BadInput(f"Pick two or three references; {len(images)} chosen.")
        tier = self.query_one("#new-tier", RadioSet).pressed_button
        quality: Quality = (
            "ultra" if tier is not None and tier.name == "ultra" else "common"
        )
        aspect = self.query_one("#new-aspect", Select).value
        template = self.query_one("#new-template", Select).value
        try:
            budget = int(self.query_one("#new-budget", Input).value.strip())
        except ValueError:
            raise BadInput("The budget must be a whole number of credits.") from None
        if budget <= 0:
            raise BadInput("The budget must be more than 0 credits.")
        return StartRequest(
            prompt=prompt,
            images=images,
            quality=quality,
            aspect=aspect if isinstance(aspect, str) else None,
            budget=budget,
            template=template if isinstance(template, str) else None,
        )

    # -- running -----------------------------------------------------------------

    @after_earlier_keys
    def action_start(self) -> None:
        if self.job is not None:
            return
        try:
            request = self.read_form()
        except RipenError as error:
            show_error(self, error)
            return
        what = {
            "generate": "Drawing",
            "edit": "Reading the photo",
            "compose": "Composing",
        }
        job = Job(next(_job_numbers), what[self.mode], instruction=request.prompt)
        self.job = job
        self.ripen.jobs[job.number] = job
        self.query_one("#new-form").disabled = True
        self.query_one("#new-start", Button).disabled = True
        self.query_one(ProgressLine).start(job.what)
        self._generate(job, request)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="generate",
        description="Generating the first round of a new session",
    )
    def _generate(self, job: Job, request: StartRequest) -> None:
        def progress(report: Progress) -> None:
            self.post_message(ProgressReported(job.number, report))

        try:
            first = self.engine.new_session(
                request.prompt,
                list(request.images),
                quality=request.quality,
                aspect=request.aspect,
                budget=request.budget,
                template=request.template,
                progress=progress,
                cancel=job.cancel,
            )
        except RipenError as error:
            self.post_message(AttemptFailed(job.number, error))
        else:
            self.post_message(RoundCompleted(job.number, first))
        finally:
            job.done.set()
            self.ripen.jobs.pop(job.number, None)

    def _end_job(self, number: int) -> bool:
        if self.job is None or self.job.number != number:
            return False
        self.job = None
        self.query_one(ProgressLine).stop()
        self.query_one("#new-form").disabled = False
        self.query_one("#new-start", Button).disabled = False
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker states reach only the screen that started the worker, not the
        # app: a failure the worker did not turn into a message is shown from
        # here, and gives the form back instead of leaving it locked.
        handle_worker_state(self.app, event.worker)
        if event.state is WorkerState.ERROR and self.job is not None:
            self._end_job(self.job.number)

    @on(ProgressReported)
    def _progressed(self, event: ProgressReported) -> None:
        if self.job is not None and self.job.number == event.job:
            self.query_one(ProgressLine).report(event.progress)

    @on(RoundCompleted)
    def _completed(self, event: RoundCompleted) -> None:
        if self._end_job(event.job):
            self.dismiss(event.round)

    @on(AttemptFailed)
    def _failed(self, event: AttemptFailed) -> None:
        if self._end_job(event.job):
            show_error(self, event.error)

    def action_cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.cancel()
            self.query_one(ProgressLine).report(Progress("cancelling", "Cancelling…"))
        else:
            self.dismiss(None)
