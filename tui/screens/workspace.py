"""The workspace: one session's tree, the selected round and the prompt.

This is where a session is refined. The tree on the left holds every round and
failed attempt; the middle shows the round under the tree's cursor, as large as the
panel allows, with its details; the prompt at the bottom refines the session's
current round (the one marked ●). The credit meter sits on top.

Generations run on worker threads (:meth:`WorkspaceScreen._generate`), one at a
time per workspace; each has a :class:`~core.cancel.CancelToken` that Escape flips
and a job number, so a late report from a cancelled job cannot touch the screen.
Results come back as the past-tense messages of :mod:`tui.messages`. If the user has
left the screen by then the message is dropped, which is harmless: the engine saved
the round (or the attempt) before the worker returned.
"""

from __future__ import annotations

import functools
import gc
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Tree
from textual.worker import Worker

from core import library
from core.backends.base import Quality
from core.cancel import CancelToken, Progress
from core.errors import RipenError
from core.lint import KEEP_CLAUSE, BudgetState
from core.meter import meter, tier_credits
from core.models import Attempt, Round, Session
from core.models import Tree as SessionRounds
from tui.errors import ErrorDetails, attempt_text, handle_worker_state, show_error
from tui.keys import WORKSPACE_BINDINGS
from tui.messages import (
    AttemptFailed,
    PairCompleted,
    ProgressReported,
    RoundCompleted,
    SessionMeasured,
)
from tui.text import Piece, joined, line
from tui.widgets.meter import CreditMeter
from tui.widgets.preview import ImagePanel
from tui.widgets.progress import ProgressLine
from tui.widgets.prompt import LintingPrompt, PromptArea
from tui.widgets.round_details import TIERS, RoundDetails
from tui.widgets.session_tree import SessionTree

if TYPE_CHECKING:
    from core.engine import Engine
    from tui.app import RipenApp

_job_numbers = itertools.count(1)


@dataclass
class Job:
    """A generation in flight: what it is, how to stop it, whether it has ended."""

    number: int
    what: str
    cancel: CancelToken = field(default_factory=CancelToken)
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    instruction: str = ""
    registry: dict[int, Job] = field(default_factory=dict)


def shows_errors(action: Callable[..., None]) -> Callable[..., None]:
    """An action that writes to the store from the main thread: a failure (the
    database locked by another program, say) is shown, and the app goes on."""

    @functools.wraps(action)
    def guarded(screen: WorkspaceScreen, *args: Any) -> None:
        try:
            action(screen, *args)
        except RipenError as error:
            show_error(screen, error)

    return guarded


class WorkspaceScreen(Screen[None]):
    """Refine one session round by round."""

    BINDING_GROUP_TITLE = "Workspace"
    BINDINGS: ClassVar[list[BindingType]] = WORKSPACE_BINDINGS
    AUTO_FOCUS = "#prompt-input"

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
        self.rounds: SessionRounds | None = None
        self.quality: Quality = "common"
        self.next_region: str | None = None
        self.job: Job | None = None
        self.branch: list[Round] = []
        self.pair: tuple[str, str] | None = None
        self.title_text = ""
        self.round_cost = 0
        self.hint = ""
        self.measures = 0

    @property
    def ripen(self) -> RipenApp:
        return cast("RipenApp", self.app)

    # -- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.ripen
        yield CreditMeter("", id="meter", markup=False)
        with Horizontal(id="main"):
            yield SessionTree(id="tree")
            with Vertical(id="preview"):
                # The image widget's class is the app's, taken when the first
                # image is drawn: importing it is no part of the first frame.
                yield ImagePanel(None, app.previews, id="image")
                yield RoundDetails("", id="details", markup=False)
        yield ProgressLine(id="progress")
        yield LintingPrompt(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ProgressLine).display = False
        # Opening a large session allocates tens of thousands of objects at once,
        # enough to set off a full garbage collection (60-240 ms with a 2,000-round
        # session) before the first frame. Collection resumes once it is drawn.
        if gc.isenabled():
            gc.disable()
            self.call_after_refresh(gc.enable)
        self.reload()
        self.engine.remember_opened(self.session_id)
        if self.rounds is not None and self.rounds.session.template:
            self.suggest_next_step()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker events do not bubble to the app: a failure of this screen's
        # workers that is not already a message is shown from here.
        handle_worker_state(self.app, event.worker)

    def on_unmount(self) -> None:
        gc.enable()  # in case the screen goes before its first frame
        # Leaving the screen lets a generation finish and be saved; the app shutting
        # down (however it was asked to) cancels it, so that exit never waits on it.
        if self.job is not None and not self.app.is_running:
            self.job.cancel.cancel()

    # -- reading the session ------------------------------------------------------

    @property
    def session_tree(self) -> SessionTree:
        return self.query_one(SessionTree)

    @property
    def prompt(self) -> LintingPrompt:
        return self.query_one(LintingPrompt)

    @property
    def engine(self) -> Engine:
        return self.ripen.engine

    def reload(self, cursor: str | None = None) -> None:
        """Read the session again and redraw everything that depends on it."""
        self.rounds = self.engine.tree(self.session_id)
        tree = self.session_tree
        keep = cursor or (tree.selected.id if tree.selected is not None else None)
        tree.show(self.rounds, keep)
        self.refresh_context(self.rounds.session)
        self.show_selected()

    def refresh_context(self, session: Session | None = None) -> None:
        """Redraw what depends on the current round: lint context, status, meter."""
        session = session or self.engine.session(self.session_id)
        self.title_text = session.title
        assert self.rounds is not None
        self.branch = self.rounds.branch(session.current_round)
        self.round_cost = tier_credits(self.engine, session.backend, self.quality)
        budget = BudgetState(
            spent=session.credits, budget=session.budget, round_cost=self.round_cost
        )
        self.prompt.set_context(self.branch, self.quality, budget)
        self.prompt.set_status(self.status_text())
        # After the next paint: the measuring thread would otherwise compete with
        # drawing a large session's first frame.
        self.call_after_refresh(self._measure, session)

    def _measure(self, session: Session) -> None:
        self.measures += 1
        assert self.rounds is not None
        # The rounds as last loaded, with the session as it is now (its current
        # round may have moved since): the meter need not read them again.
        self._measure_session(replace(self.rounds, session=session), self.measures)

    # Not exclusive: measures are cheap to finish, and an older one that lands late
    # is recognised by its number and dropped.
    @work(
        thread=True,
        exclusive=False,
        exit_on_error=False,
        group="meter",
        description="Measuring the session's credits",
    )
    def _measure_session(self, rounds: SessionRounds, number: int) -> None:
        """The meter and the template hint: off the main thread, so that opening a
        large session is not held up by them."""
        session = rounds.session
        hint = self.next_step_hint() if session.template else ""
        measured = meter(self.engine, session.id, rounds)
        self.post_message(SessionMeasured(measured, hint, number))

    @on(SessionMeasured)
    def _measured(self, event: SessionMeasured) -> None:
        if event.number != self.measures:
            return
        self.hint = event.hint
        self.query_one(CreditMeter).show(event.meter, self.title_text)
        self.prompt.set_status(self.status_text())

    def status_text(self) -> Text:
        """The line above the prompt: what Enter will do."""
        what = "No round yet"
        if self.branch:
            current = self.branch[-1]
            assert self.rounds is not None
            has_children = any(r.parent == current.id for r in self.rounds.rounds)
            verb = "Branch from" if has_children else "Refine"
            what = f"{verb} #{current.number}"
            if self.pair and current.id in self.pair and not self._pair_decided():
                side = "AB"[self.pair.index(current.id)]
                what += f" ({side} of the pair; c compares, w picks the winner)"
        tier = f"{TIERS[self.quality]} {self.round_cost}cr"
        parts: list[Piece] = [
            (what, "bold"),
            (tier, "bold" if self.quality == "ultra" else ""),
            (f"region: {self.next_region or 'whole image'}", ""),
        ]
        if self.prompt.planned:
            count = len(self.prompt.planned)
            parts.append((f"{count} more planned round{'s' * (count > 1)}", ""))
        if self.hint:
            parts.append((self.hint, "dim"))
        return line(*joined(parts, " · "))

    def _pair_decided(self) -> bool:
        assert self.pair is not None and self.rounds is not None
        return any(r.winner for r in self.rounds.rounds if r.id in self.pair)

    def next_step_hint(self) -> str:
        """The active template's next step, if the session follows one."""
        try:
            applied = library.progress(self.engine, self.session_id)
        except RipenError:
            return ""
        if applied is None:
            return ""
        if applied.next is None:
            return f"template {applied.template} done"
        step = applied.next
        return f"next ({step.number}/{step.total}, {step.stage}): {step.goal}"

    def show_selected(self) -> None:
        """Show the round or attempt under the tree's cursor, once it stops moving."""
        self.session_tree.settle()

    @on(SessionTree.Rested)
    def _show_selected(self, event: SessionTree.Rested) -> None:
        item = event.item
        self.query_one(RoundDetails).show(item)
        panel = self.query_one(ImagePanel)
        if isinstance(item, Round):
            panel.show(item.image_sha, item.image)
        elif isinstance(item, Attempt):
            panel.show(
                None, None, "A failed attempt has no image.\nEnter shows its full text."
            )
        else:
            panel.show(None, None, "No rounds yet.")

    @on(Tree.NodeSelected, "#tree")
    def _selected(self, event: Tree.NodeSelected[Any]) -> None:
        event.stop()

    # -- the prompt ---------------------------------------------------------------

    @on(PromptArea.Submitted)
    def _submitted(self, event: PromptArea.Submitted) -> None:
        self.refine(event.text)

    @on(PromptArea.FixWanted)
    def _fix(self) -> None:
        fix = self.prompt.apply_fix()
        if fix is None:
            self.notify("No warning here has a fix to apply.", timeout=3)
        elif fix.later:
            self.refresh_context()
            self.notify(
                f"Split into {len(fix.later) + 1} rounds: the first is in the prompt, "
                "the others follow one by one as each round is saved.",
                timeout=5,
            )

    def refine(self, instruction: str) -> None:
        """Refine the current round (a branch if it already has children)."""
        if not instruction.strip():
            self.notify("Type an instruction first.", severity="warning", timeout=3)
            return
        if not self.branch:
            self.notify("This session has no round to refine.", severity="warning")
            return
        if self.busy():
            return
        current = self.branch[-1]
        quality, region = self.quality, self.next_region
        job = self.start_job(f"Refining #{current.number}", instruction)
        # The prompt is free for the next instruction while this one runs; it comes
        # back if the round fails or is cancelled and nothing new was typed.
        self.prompt.set_text("")
        self._generate(
            job,
            lambda progress: self.engine.refine(
                current.id,
                instruction,
                quality=quality,
                region=region,
                progress=progress,
                cancel=job.cancel,
            ),
        )

    # -- generations --------------------------------------------------------------

    def busy(self) -> bool:
        """Whether a generation runs; says so to the user when it does."""
        if self.job is None:
            return False
        self.notify(
            "A generation is running; wait for it or press Esc to cancel it.",
            severity="warning",
            timeout=3,
        )
        return True

    def start_job(self, what: str, instruction: str = "") -> Job:
        job = Job(next(_job_numbers), what, instruction=instruction)
        job.registry = self.ripen.jobs
        job.registry[job.number] = job
        self.job = job
        self.query_one(ProgressLine).start(what)
        return job

    def end_job(self, number: int) -> bool:
        """Forget a job; False if it was not this screen's running job."""
        if self.job is None or self.job.number != number:
            return False
        self.job = None
        self.query_one(ProgressLine).stop()
        return True

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="generation",
        description="Generating a round",
    )
    def _generate(
        self, job: Job, call: Callable[[Callable[[Progress], None]], Any]
    ) -> None:
        """Run one engine call on a thread and post what came of it."""

        def progress(report: Progress) -> None:
            self.post_message(ProgressReported(job.number, report))

        try:
            result = call(progress)
        except RipenError as error:
            self.post_message(AttemptFailed(job.number, error))
        else:
            if isinstance(result, list):
                self.post_message(PairCompleted(job.number, result))
            else:
                self.post_message(RoundCompleted(job.number, result))
        finally:
            job.done.set()
            job.registry.pop(job.number, None)

    @on(ProgressReported)
    def _progress(self, event: ProgressReported) -> None:
        if self.job is not None and self.job.number == event.job:
            self.query_one(ProgressLine).report(event.progress)

    @on(RoundCompleted)
    def _round_completed(self, event: RoundCompleted) -> None:
        if not self.end_job(event.job):
            return
        r = event.round
        self.next_region = None
        planned = self.prompt.next_planned()
        self.reload(cursor=r.id)
        more = " The next planned round is in the prompt." if planned else ""
        if not planned and not self.prompt.text.strip():
            step = self.suggest_next_step()
            if step is not None:
                more = (
                    f" The template's step {step.number} of {step.total} "
                    f"({step.stage}) is in the prompt."
                )
        if r.skipped:
            # Part of the instruction did nothing; say so where it cannot be missed.
            self.notify(
                f"Round #{r.number} saved, but this was not acted on: "
                f"{'; '.join(r.skipped)}. Try saying it another way.{more}",
                title="Partly understood",
                severity="warning",
                markup=False,
                timeout=8,
            )
        else:
            self.notify(f"Round #{r.number} saved.{more}", timeout=3)

    @on(PairCompleted)
    def _pair_completed(self, event: PairCompleted) -> None:
        if not self.end_job(event.job):
            return
        made = [r for r in event.results if isinstance(r, Round)]
        for failure in event.results:
            if isinstance(failure, RipenError):
                show_error(self, failure)
        self.reload(cursor=made[0].id if made else None)
        if len(made) == 2:
            self.pair = (made[0].id, made[1].id)
            self.notify(
                f"A/B pair ready: #{made[0].number} and #{made[1].number}. "
                "c compares them.",
                timeout=6,
            )

    @on(AttemptFailed)
    def _attempt_failed(self, event: AttemptFailed) -> None:
        job = self.job
        if not self.end_job(event.job):
            return
        show_error(self, event.error)
        self.reload(cursor=event.error.attempt)
        if job is not None and job.instruction and not self.prompt.text.strip():
            self.prompt.set_text(job.instruction)  # to change and send again

    # -- actions ------------------------------------------------------------------

    def action_escape(self) -> None:
        """Cancel the running generation; otherwise leave the prompt for the tree."""
        if self.job is not None:
            self.job.cancel.cancel()
            self.query_one(ProgressLine).report(Progress("cancelling", "Cancelling…"))
            return
        if self.focused is self.prompt.area:
            self.session_tree.focus()

    def action_focus_prompt(self) -> None:
        # A priority binding, so that letters typed right after it reach the prompt
        # rather than the tree; in the prompt the key is text and passes through.
        if self.focused is self.prompt.area:
            raise SkipAction()
        self.set_focus(self.prompt.area)

    def selected_round(self, why: str) -> Round | None:
        """The round under the cursor, or None after telling the user why not."""
        item = self.session_tree.selected
        if isinstance(item, Round):
            return item
        self.notify(f"Select a round to {why}.", severity="warning", timeout=3)
        return None

    @shows_errors
    def action_make_current(self) -> None:
        item = self.session_tree.selected
        if isinstance(item, Attempt):
            self.app.push_screen(
                ErrorDetails(
                    f"Failed attempt: {item.kind.replace('_', ' ')}", attempt_text(item)
                )
            )
            return
        if isinstance(item, Round):
            self.make_current(item)

    def make_current(self, r: Round) -> None:
        r = self.engine.restore(r.id)
        self.session_tree.set_current(r)
        self.refresh_context()

    @shows_errors
    def action_branch(self) -> None:
        r = self.selected_round("branch from")
        if r is None:
            return
        self.make_current(r)
        self.prompt.area.focus()
        self.notify(f"The next instruction refines #{r.number}.", timeout=3)

    def action_ab(self) -> None:
        r = self.selected_round("test two alternatives of")
        if r is None or self.busy():
            return
        from tui.screens.dialogs import ABDialog

        def answered(pair: tuple[str, str] | None) -> None:
            if pair is not None:
                self.run_pair(r, pair)

        self.app.push_screen(ABDialog(self.prompt.text.strip()), answered)

    def run_pair(self, r: Round, pair: tuple[str, str]) -> None:
        """Run two alternative refinements of ``r`` at the same time."""
        if self.busy():
            return
        quality, region = self.quality, self.next_region
        job = self.start_job(f"A/B pair from #{r.number}")
        self._generate(
            job,
            lambda progress: self.engine.ab(
                r.id,
                list(pair),
                quality=quality,
                region=region,
                cancel=job.cancel,
                progress=progress,
            ),
        )

    def action_compare(self) -> None:
        pair = self.compare_pair()
        if pair is None:
            self.notify(
                "Nothing to compare here: select a round after the first (it is "
                "compared with a sibling, else its parent), or run an A/B pair "
                "first.",
                severity="warning",
                timeout=4,
            )
            return
        from tui.screens.compare import CompareScreen

        @shows_errors
        def picked(screen: WorkspaceScreen, winner: str | None) -> None:
            if winner:
                screen.reload(cursor=winner)
                screen.make_current(screen.engine.round(winner))

        self.app.push_screen(
            CompareScreen(self.engine, *pair), functools.partial(picked, self)
        )

    def compare_pair(self) -> tuple[str, str] | None:
        """The last A/B pair if the cursor is on it, else the selected round and a
        sibling, else the selected round and its parent; the older of the two first,
        so that A is always the round made first."""
        item = self.session_tree.selected
        if not isinstance(item, Round):
            return self.pair
        if self.pair and item.id in self.pair:
            return self.pair
        assert self.rounds is not None
        siblings = [
            r for r in self.rounds.rounds if r.parent == item.parent and r.id != item.id
        ]
        if siblings:
            other = siblings[0]
            return (
                (other.id, item.id)
                if other.number < item.number
                else (
                    item.id,
                    other.id,
                )
            )
        if item.parent:
            return item.parent, item.id
        return None

    @shows_errors
    def action_winner(self) -> None:
        r = self.selected_round("mark as the winner")
        if r is None:
            return
        r = self.engine.mark_winner(r.id)
        self.reload(cursor=r.id)
        self.notify(
            f"#{r.number} is the winner; refining continues from it.", timeout=3
        )

    @shows_errors
    def action_star(self) -> None:
        r = self.selected_round("star")
        if r is None:
            return
        r = self.engine.star(r.id)
        self.session_tree.relabel(r)
        self.query_one(RoundDetails).show(r)

    def action_tier(self) -> None:
        self.quality = "ultra" if self.quality == "common" else "common"
        self.refresh_context()

    def action_region(self) -> None:
        from tui.screens.dialogs import RegionPicker

        def picked(region: str | None) -> None:
            if region is not None:
                self.next_region = region or None
                self.refresh_context()

        self.app.push_screen(RegionPicker(), picked)

    def action_keep(self) -> None:
        text = self.prompt.text.rstrip()
        if KEEP_CLAUSE.strip() not in text:
            if text and text[-1] not in ".!?;":
                text += "."
            self.prompt.set_text((text + KEEP_CLAUSE).lstrip())
        self.prompt.area.focus()

    def action_promote(self) -> None:
        r = self.selected_round("promote")
        if r is None or self.busy():
            return
        from tui.screens.dialogs import ConfirmDialog

        session = self.engine.session(self.session_id)
        cost = tier_credits(self.engine, session.backend, "ultra")

        def answered(yes: bool | None) -> None:
            if not yes or self.busy():
                return
            job = self.start_job(f"Final render of #{r.number}")
            self._generate(
                job,
                lambda progress: self.engine.promote(
                    r.id, progress=progress, cancel=job.cancel
                ),
            )

        self.app.push_screen(
            ConfirmDialog(
                f"Render the final image of #{r.number} on Ultra for {cost} credits?",
                yes="Render",
            ),
            answered,
        )

    def action_retry(self) -> None:
        item = self.session_tree.selected
        if not isinstance(item, Attempt):
            self.notify(
                "Select a failed attempt to retry.", severity="warning", timeout=3
            )
            return
        if self.busy():
            return
        job = self.start_job(f"Retrying {item.kind.replace('_', ' ')} attempt")
        self._generate(
            job,
            lambda progress: self.engine.retry(
                item.id, progress=progress, cancel=job.cancel
            ),
        )

    def action_note(self) -> None:
        r = self.selected_round("write a note on")
        if r is None:
            return
        from tui.screens.dialogs import NoteEditor

        def written(text: str | None) -> None:
            if text is None:
                return
            try:
                updated = self.engine.note(r.id, text)
            except RipenError as error:
                show_error(self, error)
                return
            self.session_tree.relabel(updated)
            self.query_one(RoundDetails).show(updated)

        self.app.push_screen(NoteEditor(r.note, title=f"Note on #{r.number}"), written)

    def action_export(self) -> None:
        r = self.selected_round("export")
        if r is None:
            return
        from tui.screens.dialogs import ExportDialog, ExportRequest

        def answered(request: ExportRequest | None) -> None:
            if request is not None:
                self.notify(
                    f"Exporting #{r.number} to {request.out_dir}…",
                    title="Exporting",
                    markup=False,
                    timeout=3,
                )
                self._export(r.id, request.out_dir, request.format, request.force)

        self.app.push_screen(ExportDialog(Path.cwd()), answered)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="export",
        description="Exporting a round",
    )
    def _export(self, round_id: str, out: Path, fmt: str, force: bool) -> None:
        from core.export import export

        try:
            written = export(self.engine, round_id, out, fmt=fmt, force=force)
        except RipenError as error:
            self.app.call_from_thread(show_error, self, error)
            return
        self.app.call_from_thread(
            self.notify,
            f"Exported {written.image.name} and its report to {out}",
            title="Exported",
            markup=False,
        )

    def action_templates(self) -> None:
        from tui.screens.templates import TemplatesScreen

        current = self.branch[-1].id if self.branch else ""

        def closed(applied: str | None) -> None:
            self.refresh_context()
            if applied and not self.prompt.text.strip():
                self.suggest_next_step()
                self.prompt.area.focus()

        self.app.push_screen(
            TemplatesScreen(self.engine, self.session_id, current), closed
        )

    def suggest_next_step(self) -> library.NextStep | None:
        """Put the template's next instruction in the prompt, at its tier, for
        Enter to run; the step, or None when the session follows no template or
        has taken every step."""
        try:
            applied = library.progress(self.engine, self.session_id)
        except RipenError:
            return None
        if applied is None or applied.next is None:
            return None
        step = applied.next
        self.prompt.set_text(step.instruction)
        tier: Quality = "ultra" if step.tier == "ultra" else "common"
        if tier != self.quality:
            self.quality = tier
            self.refresh_context()
        return step

    def action_sessions(self) -> None:
        self.ripen.open_sessions()
