"""The template library: list, preview, apply, and save the current branch.

``TemplatesScreen(engine, session_id, current_round_id)`` lists the built-in and saved
templates; the highlighted one is previewed step by step (stage, tier, goal and
skeleton instruction) with what following it would cost, and where the current
branch would stand in it. Applying a template only points the session at it: the
workspace then shows the next step on the line above the prompt, and a notice says
which step is next and its instruction, or, on a branch that already has as many
refinements as the template has steps, that none is left and how to start over. ``s``
saves the branch ending at the current round as a new template, and ``d`` deletes a
saved one after asking.

The screen answers through ``dismiss``: the name of the template now applied to the
session, ``""`` when the user cleared it, or ``None`` when the session's template did
not change.
"""

from __future__ import annotations

import re
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from core import library
from core.engine import Engine
from core.meter import tier_credits
from core.templates import Template, TemplateStep
from tui.errors import WRITE_FAILURES, AnswersOnce, show_failure
from tui.keys import key
from tui.screens.dialogs import ConfirmDialog, TextDialog
from tui.widgets.lists import KeyedOptionList

SLOT = re.compile(r"\{[a-z][a-z0-9_]*\}")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def rounds_of(step: TemplateStep) -> int:
    """Rounds a step runs: one, or one per alternative of an A/B step."""
    return max(1, len(step.alternatives))


def instruction_text(text: str) -> Text:
    """An instruction with its slots (``{product}``) picked out."""
    shown = Text(text)
    shown.highlight_regex(SLOT, "italic cyan")
    return shown


def steps_table(template: Template) -> Table:
    """A template's steps: number, stage, tier, goal and the instruction(s)."""
    table = Table(expand=True, show_edge=False, pad_edge=False, box=None)
    table.add_column("#", justify="right", width=2, style="dim")
    table.add_column("stage", width=11)
    table.add_column("tier", width=6)
    table.add_column("goal, then the instruction", ratio=1)
    for number, step in enumerate(template.steps, start=1):
        body = Text()
        body.append(step.goal, style="bold")
        if step.alternatives:
            for letter, alternative in zip("ABCDEF", step.alternatives, strict=False):
                body.append(f"\n{letter}: ")
                body.append_text(instruction_text(alternative))
        else:
            body.append("\n")
            body.append_text(instruction_text(step.skeleton))
        body.append("\n")
        tier = Text(step.tier, style="bold magenta" if step.tier == "ultra" else "")
        table.add_row(str(number), step.stage, tier, body)
    return table


def applied_notice(template: Template, applied: library.Applied) -> tuple[str, str]:
    """The title and text of the notice after applying: what comes next and where
    to type it, or why nothing is left and how to start over."""
    name = template.title or template.name
    total = len(template.steps)
    step = applied.next
    if step is None:
        return (
            f"{name}: every step already taken",
            f"Each refinement on this branch counts as one step, and it already has "
            f"at least {total}, so none of the {total} steps is left. To follow it "
            "from step 1, select #1 in the tree, press b to branch from it, then "
            "refine.",
        )
    return (
        f"Following {name}: step {step.number} of {total}",
        f"{step.stage.capitalize()}: {step.goal}.\n"
        f"Suggested instruction: {step.instruction}\n"
        "It is in the prompt (unless you had typed there), on the step's tier: "
        "press Enter to run it, or change it first. Each step that follows is "
        "put there when the round before it is saved.",
    )


def branch_standing(template: Template, done: int) -> str:
    """Where the current branch would stand in ``template`` if it were applied."""
    total = len(template.steps)
    if done >= total:
        return (
            f"This branch already has {plural(done, 'refinement')}: applied here, "
            f"all {total} steps count as taken. Branch from #1 to follow it from "
            "step 1."
        )
    step = template.steps[done]
    return (
        f"Applied here, the next round would be step {done + 1} of {total} "
        f"({step.stage}). Nothing runs by itself: each step is a suggestion on "
        "the line above the prompt."
    )


class TemplatesScreen(AnswersOnce, Screen[str | None]):
    """Browse the template library and apply one to a session."""

    CSS_PATH = "../screens.tcss"
    BINDING_GROUP_TITLE = "Templates"
    BINDINGS: ClassVar[list[BindingType]] = [
        key(
            "enter,a",
            "apply",
            "Apply",
            "Follow the highlighted template in this session",
            id="templates.apply",
        ),
        key(
            "s",
            "save",
            "Save branch",
            "Save the branch ending at the current round as a template",
            id="templates.save",
        ),
        key(
            "c",
            "clear",
            "Clear",
            "Stop following a template in this session",
            id="templates.clear",
        ),
        key(
            "d,delete",
            "delete",
            "Delete",
            "Delete the highlighted saved template, after asking",
            id="templates.delete",
        ),
        key(
            "escape,q",
            "back",
            "Back",
            "Go back without changing the session's template",
            id="templates.back",
        ),
    ]

    def __init__(self, engine: Engine, session_id: str, current_round_id: str) -> None:
        super().__init__()
        self.engine = engine
        self.session_id = session_id
        self.current_round_id = current_round_id
        self.templates: dict[str, Template] = {}

    def compose(self) -> ComposeResult:
        yield Label(
            "Templates", id="templates-heading", classes="heading", markup=False
        )
        with Horizontal(id="templates-library"):
            yield KeyedOptionList(id="templates-names")
            with VerticalScroll(id="templates-preview"):
                yield Static("", id="templates-about")
                yield Static("", id="templates-steps")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#templates-names", OptionList).focus()

    @property
    def active(self) -> str | None:
        """The template the session follows now, if any."""
        return self.engine.session(self.session_id).template

    @property
    def highlighted(self) -> Template | None:
        names = self.query_one("#templates-names", OptionList)
        if names.highlighted is None:
            return None
        option = names.get_option_at_index(names.highlighted)
        return self.templates.get(option.id or "")

    def reload(self, keep: str | None = None) -> None:
        """Read the library again, keeping the cursor on ``keep`` or the active one."""
        listed = library.list_templates(self.engine)
        self.templates = {t.name: t for t in listed}
        active = self.active
        names = self.query_one("#templates-names", OptionList)
        names.clear_options()
        for template in listed:
            label = Text(template.title or template.name)
            if template.name == active:
                label.append("  ● applied", style="bold green")
            if not library.is_builtin(template.name):
                label.append("  saved", style="dim")
            names.add_option(Option(label, id=template.name))
        wanted = keep or active
        order = [t.name for t in listed]
        names.highlighted = order.index(wanted) if wanted in order else 0
        heading = f"Templates · {len(listed)}"
        if active:
            heading += f" · this session follows {active}"
        self.query_one("#templates-heading", Label).update(heading)
        self._preview()

    @on(OptionList.OptionHighlighted, "#templates-names")
    def _highlighted(self) -> None:
        self._preview()

    @on(OptionList.OptionSelected, "#templates-names")
    def _selected(self) -> None:
        self.action_apply()

    def _preview(self) -> None:
        template = self.highlighted
        about = self.query_one("#templates-about", Static)
        steps = self.query_one("#templates-steps", Static)
        if template is None:
            about.update("No templates.")
            steps.update("")
            return
        about.update(self._about(template))
        steps.update(steps_table(template))

    def _about(self, template: Template) -> Text:
        session = self.engine.session(self.session_id)
        cost = sum(
            tier_credits(self.engine, session.backend, step.tier) * rounds_of(step)
            for step in template.steps
        )
        kind = "built in" if library.is_builtin(template.name) else "saved"
        text = Text()
        text.append(template.title or template.name, style="bold")
        text.append(f"  {template.name} · {kind} · ", style="dim")
        text.append(f"{plural(len(template.steps), 'step')} · {cost} credits", "dim")
        text.append(f"\n{template.description}")
        if template.name == session.template:
            applied = library.progress(self.engine, self.session_id)
            if applied is not None and applied.next is not None:
                step = applied.next
                text.append(
                    f"\nThis session is at step {step.number} of {step.total}: "
                    f"{step.goal.lower()}.",
                    style="green",
                )
            elif applied is not None:
                text.append("\nThis session has taken every step.", style="green")
        else:
            done = library.steps_done(self.engine.path(self.current_round_id))
            text.append(f"\n{branch_standing(template, done)}", style="dim")
        return text

    def action_apply(self) -> None:
        template = self.highlighted
        if template is None:
            return
        try:
            applied = library.apply(self.engine, self.session_id, template.name)
        except WRITE_FAILURES as error:
            show_failure(self, error, "applying the template")
            return
        if applied is not None:
            title, message = applied_notice(template, applied)
            done = applied.next is None
            self.notify(
                message,
                title=title,
                severity="warning" if done else "information",
                timeout=12,
                markup=False,
            )
        self.dismiss(template.name)

    def action_clear(self) -> None:
        if self.active is None:
            self.notify("This session follows no template.")
            return
        try:
            library.apply(self.engine, self.session_id, None)
        except WRITE_FAILURES as error:
            show_failure(self, error, "starting the template over")
            return
        self.dismiss("")

    def action_save(self) -> None:
        def named(name: str | None) -> None:
            if not name:
                return
            try:
                saved = library.save_branch(self.engine, self.current_round_id, name)
            except WRITE_FAILURES as error:
                show_failure(self, error, "saving the template")
                return
            self.notify(
                f"{len(saved.steps)} steps saved as {saved.name}.",
                title="Template saved",
                markup=False,
            )
            self.reload(keep=saved.name)

        number = self.engine.round(self.current_round_id).number
        dialog = TextDialog(
            f"Save the branch up to round {number} as a template",
            placeholder="A name you will recognise, e.g. warm product light",
            max_length=library.MAX_NAME,
        )
        self.app.push_screen(dialog, named)

    def action_delete(self) -> None:
        template = self.highlighted
        if template is None:
            return
        if library.is_builtin(template.name):
            self.notify("Built-in templates cannot be deleted.", severity="warning")
            return

        def answered(sure: bool | None) -> None:
            if not sure:
                return
            try:
                library.delete_template(self.engine, template.name)
            except WRITE_FAILURES as error:
                show_failure(self, error, "deleting the template")
                return
            self.reload()

        question = f"Delete the saved template “{template.name}”?"
        self.app.push_screen(ConfirmDialog(question, yes="Delete"), answered)

    def action_back(self) -> None:
        self.dismiss(None)
