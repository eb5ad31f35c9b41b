"""The prompt linter: live advice on an instruction before credits are spent.

This first version provides the interface the engine calls; the rules follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

KEEP_CLAUSE = " Keep everything else unchanged."


class BranchRound(Protocol):
    """What the linter needs to know about an earlier round of the branch."""

    @property
    def number(self) -> int: ...

    @property
    def instruction(self) -> str: ...

    @property
    def quality(self) -> str: ...

    @property
    def mode(self) -> str: ...


@dataclass(frozen=True)
class BudgetState:
    """Credits already spent, the session budget and the cost of this round."""

    spent: int
    budget: int
    round_cost: int


@dataclass(frozen=True)
class LintWarning:
    """One piece of advice about an instruction."""

    code: str
    severity: str
    message: str
    start: int
    end: int
    suggestion: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "start": self.start,
            "end": self.end,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class Change:
    """One distinct change found in an instruction."""

    text: str
    start: int
    end: int
    stage: str


@dataclass
class Report:
    """What the linter found in one instruction."""

    changes: list[Change] = field(default_factory=list)
    stage: str = "other"
    warnings: list[LintWarning] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": len(self.changes),
            "stage": self.stage,
            "warnings": [w.to_json() for w in self.warnings],
        }


def classify_stage(instruction: str) -> str:
    """The workflow stage an instruction belongs to."""
    return "other"


def lint(
    instruction: str,
    branch: Sequence[BranchRound] = (),
    quality: str = "common",
    budget: BudgetState | None = None,
) -> Report:
    """Lint an instruction against the branch it would extend."""
    return Report()
