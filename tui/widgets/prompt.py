"""The prompt: a multi-line instruction box that lints as the user types.

Enter sends the instruction; Alt+Enter adds a line; pasted text arrives whole, new
lines included, because the terminal brackets a paste and Textual hands it over as
one event rather than as key presses. Under the box the linter's warnings are shown
with their codes and suggestions, and one key applies the first suggestion. Above
it a status line says what Enter will do: which round it refines, at which tier, in
which region, and the active template's next step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from core.lint import BranchRound, BudgetState, LintWarning, Report, lint
from tui.keys import PROMPT_BINDINGS

SHOWN_WARNINGS = 3
SEVERITY_MARKS = {"error": ("✗", "bold red"), "warning": ("⚠", "#ffb000")}


def apply_suggestion(text: str, warning: LintWarning) -> str:
    """The instruction with one warning's suggestion applied.

    A suggestion replaces the span it is about; an empty span (at the end, say)
    inserts it there, which is how the keep clause is appended.
    """
    start = max(0, min(len(text), warning.start))
    end = max(start, min(len(text), warning.end))
    return text[:start] + warning.suggestion + text[end:]


def warnings_text(warnings: Sequence[LintWarning], shown: int = SHOWN_WARNINGS) -> Text:
    """Up to ``shown`` warnings, one a line, with code, message and suggestion."""
    text = Text()
    for number, warning in enumerate(warnings[:shown]):
        if number:
            text.append("\n")
        mark, style = SEVERITY_MARKS.get(warning.severity, ("·", "dim"))
        text.append(f"{mark} {warning.code} ", style=style)
        text.append(warning.message)
        if warning.suggestion:
            text.append(f" → {warning.suggestion.strip()}", style="italic dim")
    if len(warnings) > shown:
        text.append(f"\n  and {len(warnings) - shown} more", style="dim")
    return text


class PromptArea(TextArea):
    """The instruction box; Enter submits instead of breaking the line."""

    BINDING_GROUP_TITLE = "Prompt"
    BINDINGS: ClassVar[list[BindingType]] = PROMPT_BINDINGS

    class Submitted(Message):
        """The user pressed Enter on an instruction."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class SuggestionWanted(Message):
        """The user asked for the first warning's suggestion."""

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self.text))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_apply_suggestion(self) -> None:
        self.post_message(self.SuggestionWanted())


class LintingPrompt(Vertical):
    """Status line, instruction box and live warnings."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.branch: Sequence[BranchRound] = ()
        self.quality = "common"
        self.budget: BudgetState | None = None
        self.report = Report()

    def compose(self) -> ComposeResult:
        yield Static("", id="prompt-status", markup=False)
        area = PromptArea(
            "",
            id="prompt-input",
            soft_wrap=True,
            show_line_numbers=False,
            compact=True,
            tab_behavior="focus",
            placeholder="Say what to change, e.g. warm the light slightly and "
            "soften the shadows. Enter refines; Alt+Enter adds a line.",
        )
        yield area
        yield Static("", id="prompt-warnings", markup=False)

    @property
    def area(self) -> PromptArea:
        return self.query_one(PromptArea)

    @property
    def text(self) -> str:
        return self.area.text

    def set_text(self, text: str) -> None:
        """Replace the instruction and put the cursor at its end."""
        area = self.area
        area.load_text(text)
        area.move_cursor(area.document.end)
        self.relint()

    def set_status(self, status: Text) -> None:
        self.query_one("#prompt-status", Static).update(status)

    def set_context(
        self,
        branch: Sequence[BranchRound],
        quality: str,
        budget: BudgetState | None,
    ) -> None:
        """What the next round would extend, at what tier, against what budget."""
        self.branch = branch
        self.quality = quality
        self.budget = budget
        self.relint()

    def relint(self) -> None:
        """Lint the instruction as it stands and show the warnings."""
        text = self.text
        self.report = (
            lint(text, self.branch, self.quality, self.budget)
            if text.strip()
            else Report()
        )
        warnings = self.query_one("#prompt-warnings", Static)
        warnings.update(warnings_text(self.report.warnings))
        warnings.display = bool(self.report.warnings)

    def take_suggestion(self) -> LintWarning | None:
        """Apply the first warning that has a suggestion; return it, or None."""
        for warning in self.report.warnings:
            if warning.suggestion:
                self.set_text(apply_suggestion(self.text, warning))
                return warning
        return None

    @on(TextArea.Changed, "#prompt-input")
    def _changed(self) -> None:
        self.relint()
