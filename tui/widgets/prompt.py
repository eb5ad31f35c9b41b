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
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from core.lint import (
    BranchRound,
    BudgetState,
    Change,
    LintWarning,
    Report,
    lint,
    split_rounds,
)
from tui.keys import PROMPT_BINDINGS, after_earlier_keys, binding_by_id
from tui.text import Piece, line
from tui.widgets.bounded import BoundedTextArea

SHOWN_WARNINGS = 3
SEVERITY_MARKS = {"warning": ("⚠", "#ffb000"), "info": ("ℹ", "cyan")}
SPLITTING_CODES = ("too-many-changes", "too-long")


@dataclass(frozen=True)
class Fix:
    """What the fix key does for one warning: the new instruction, any rounds
    planned after it, and a few words for the warning line."""

    text: str
    later: tuple[str, ...] = ()
    label: str = ""


def round_instruction(changes: Sequence[Change]) -> str:
    """The changes of one planned round as one instruction."""
    parts = [c.text.strip(" \t\n,;:.-*\u2022") for c in changes]
    parts = [p for p in parts if p]
    if not parts:
        return ""
    return ", ".join([parts[0][:1].upper() + parts[0][1:], *parts[1:]]) + "."


def fix_for(warning: LintWarning, text: str, report: Report) -> Fix | None:
    """The fix one key applies for ``warning``, or None when it is advice only.

    The keep clause is appended; too many changes (or too long an instruction) are
    split into rounds by stage, the first kept in the prompt and the rest planned.
    """
    if warning.code == "missing-keep-clause" and warning.suggestion:
        return Fix(text.rstrip() + warning.suggestion, label="append the keep clause")
    if warning.code in SPLITTING_CODES:
        groups = split_rounds(report.changes)
        rounds = [r for r in (round_instruction(g) for _, g in groups) if r]
        if len(rounds) > 1:
            return Fix(rounds[0], tuple(rounds[1:]), f"split into {len(rounds)} rounds")
    return None


def shown_warnings(
    report: Report, text: str, shown: int = SHOWN_WARNINGS
) -> list[LintWarning]:
    """The warnings the prompt shows, at most ``shown``: the one the fix key would
    apply first (the box may be too short for the last), then the rest in order."""
    warnings = list(report.warnings)
    fixable = next((w for w in warnings if fix_for(w, text, report)), None)
    if fixable is not None:
        warnings.remove(fixable)
        warnings.insert(0, fixable)
    return warnings[:shown]


def warnings_text(
    report: Report, text: str, fix_key: str, shown: int = SHOWN_WARNINGS
) -> Text:
    """Up to ``shown`` warnings, one a line: code, message, and the suggestion or
    what the fix key would do about it."""
    out = Text()
    warnings = report.warnings
    for number, warning in enumerate(shown_warnings(report, text, shown)):
        if number:
            out.append("\n")
        mark, style = SEVERITY_MARKS.get(warning.severity, ("·", "dim"))
        fix = fix_for(warning, text, report)
        if fix is not None:
            advice: Piece = (f"{fix_key}: {fix.label}", "bold")
        elif warning.suggestion:
            advice = (f"→ {warning.suggestion.strip()}", "italic dim")
        else:
            advice = ("", "")
        out.append_text(
            line(
                (f"{mark} {warning.code} ", style),
                (warning.message + " " * bool(advice[0]), ""),
                advice,
                wrap=True,
            )
        )
    if len(warnings) > shown:
        out.append(f"\nand {len(warnings) - shown} more", style="dim")
    return out


class PromptArea(BoundedTextArea):
    """The instruction box; Enter submits instead of breaking the line."""

    BINDING_GROUP_TITLE = "Prompt"
    BINDINGS: ClassVar[list[BindingType]] = PROMPT_BINDINGS

    class Submitted(Message):
        """The user pressed Enter on an instruction."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class FixWanted(Message):
        """The user asked for the first warning's fix."""

    @after_earlier_keys
    def action_submit(self) -> None:
        self.post_message(self.Submitted(self.text))

    @after_earlier_keys
    def action_newline(self) -> None:
        self.insert("\n")

    @after_earlier_keys
    def action_apply_suggestion(self) -> None:
        self.post_message(self.FixWanted())


class LintingPrompt(Vertical):
    """Status line, instruction box and live warnings."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.branch: Sequence[BranchRound] = ()
        self.quality = "common"
        self.budget: BudgetState | None = None
        self.report = Report()
        self.planned: list[str] = []

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
        fix_key = self.app.get_key_display(binding_by_id("prompt.fix"))
        warnings = self.query_one("#prompt-warnings", Static)
        warnings.update(warnings_text(self.report, text, fix_key))
        warnings.display = bool(self.report.warnings)

    def apply_fix(self) -> Fix | None:
        """Apply the first warning's fix; return it, or None when none applies."""
        text = self.text
        for warning in self.report.warnings:
            fix = fix_for(warning, text, self.report)
            if fix is not None:
                self.planned = [*fix.later, *self.planned]
                self.set_text(fix.text)
                return fix
        return None

    def next_planned(self) -> bool:
        """Load the next planned round into an empty prompt; False if none."""
        if not self.planned or self.text.strip():
            return False
        self.set_text(self.planned.pop(0))
        return True

    @on(TextArea.Changed, "#prompt-input")
    def _changed(self) -> None:
        self.relint()
