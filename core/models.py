"""Plain records the engine hands to its callers (the CLI and the interface)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.store import loads


@dataclass(frozen=True)
class Round:
    """One successful generation, a node of a session's tree."""

    id: str
    session: str
    number: int
    parent: str | None
    mode: str
    instruction: str
    stage: str
    quality: str
    backend: str
    model: str
    region: str | None
    keep: bool
    credits: int
    usd: float | None
    tokens: dict[str, int | None]
    latency: float | None
    starred: bool
    winner: bool
    image_sha: str
    image: Path
    width: int
    height: int
    created: str
    text: str
    applied: list[str]
    skipped: list[str]
    warnings: list[dict[str, Any]]
    refs: list[str]
    context: dict[str, Any]
    turn: Any
    note: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any], image: Path, note: str = "") -> Round:
        return cls(
            id=row["id"],
            session=row["session"],
            number=row["number"],
            parent=row["parent"],
            mode=row["mode"],
            instruction=row["instruction"] or "",
            stage=row["stage"] or "other",
            quality=row["quality"],
            backend=row["backend"],
            model=row["model"] or "",
            region=row["region"],
            keep=bool(row["keep"]),
            credits=row["credits"] or 0,
            usd=row["usd"],
            tokens={
                "input": row["tokens_input"],
                "output": row["tokens_output"],
                "image": row["tokens_image"],
                "thoughts": row["tokens_thoughts"],
            },
            latency=row["latency"],
            starred=bool(row["starred"]),
            winner=bool(row["winner"]),
            image_sha=row["image"],
            image=image,
            width=row["width"] or 0,
            height=row["height"] or 0,
            created=row["created"],
            text=row["text"] or "",
            applied=loads(row["applied"], []),
            skipped=loads(row["skipped"], []),
            warnings=loads(row["warnings"], []),
            refs=loads(row["refs"], []),
            context=loads(row["context"], {}),
            turn=loads(row["turn"]),
            note=note,
        )

    def to_json(self, session_credits: int | None = None) -> dict[str, Any]:
        """The CLI's round object."""
        data: dict[str, Any] = {
            "session": self.session,
            "round": self.id,
            "number": self.number,
            "parent": self.parent,
            "mode": self.mode,
            "instruction": self.instruction,
            "stage": self.stage,
            "quality": self.quality,
            "backend": self.backend,
            "model": self.model,
            "region": self.region,
            "image": str(self.image.resolve()),
            "width": self.width,
            "height": self.height,
            "credits": self.credits,
            "usd": self.usd,
            "tokens": dict(self.tokens),
            "latency": self.latency,
            "applied": list(self.applied),
            "skipped": list(self.skipped),
            "text": self.text,
            "warnings": list(self.warnings),
            "note": self.note,
            "starred": self.starred,
            "winner": self.winner,
        }
        if session_credits is not None:
            data["session_credits"] = session_credits
        return data


@dataclass(frozen=True)
class Attempt:
    """A call that produced no round: failed, blocked or cancelled. Never charged."""

    id: str
    session: str
    parent: str | None
    mode: str
    instruction: str
    quality: str
    backend: str
    model: str
    region: str | None
    kind: str
    message: str
    usd: float | None
    created: str
    request: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Attempt:
        return cls(
            id=row["id"],
            session=row["session"],
            parent=row["parent"],
            mode=row["mode"] or "",
            instruction=row["instruction"] or "",
            quality=row["quality"] or "common",
            backend=row["backend"] or "",
            model=row["model"] or "",
            region=row["region"],
            kind=row["kind"],
            message=row["message"],
            usd=row["usd"],
            created=row["created"],
            request=loads(row["request"], {}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.id,
            "parent": self.parent,
            "mode": self.mode,
            "instruction": self.instruction,
            "kind": self.kind,
            "message": self.message,
            "usd": self.usd,
            "created": self.created,
        }


@dataclass(frozen=True)
class Session:
    """A session's settings and running totals."""

    id: str
    title: str
    created: str
    updated: str
    budget: int
    hard_budget: bool
    aspect: str | None
    backend: str
    quality: str
    current_round: str | None
    template: str | None
    context_policy: str | None
    rounds: int = 0
    credits: int = 0
    thumbnail: Path | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any], **extra: Any) -> Session:
        return cls(
            id=row["id"],
            title=row["title"],
            created=row["created"],
            updated=row["updated"],
            budget=row["budget"],
            hard_budget=bool(row["hard_budget"]),
            aspect=row["aspect"],
            backend=row["backend"] or "local",
            quality=row["quality"] or "common",
            current_round=row["current_round"],
            template=row["template"],
            context_policy=row["context_policy"],
            **extra,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "budget": self.budget,
            "credits": self.credits,
            "rounds": self.rounds,
            "backend": self.backend,
            "current_round": self.current_round,
            "template": self.template,
        }


@dataclass(frozen=True)
class Tree:
    """A whole session: its rounds (in creation order) and its attempts."""

    session: Session
    rounds: list[Round]
    attempts: list[Attempt]

    def children(self, round_id: str | None) -> list[Round]:
        return [r for r in self.rounds if r.parent == round_id]

    def branch(self, round_id: str | None) -> list[Round]:
        """The rounds from the first down to ``round_id`` (empty if it is not here)."""
        by_id = {r.id: r for r in self.rounds}
        branch: list[Round] = []
        step = by_id.get(round_id or "")
        while step is not None:
            branch.append(step)
            step = by_id.get(step.parent or "")
        return branch[::-1]

    def to_json(self) -> dict[str, Any]:
        current = self.session.current_round
        return {
            "session": self.session.id,
            "title": self.session.title,
            "budget": self.session.budget,
            "credits": self.session.credits,
            "current": current,
            "rounds": [
                {
                    "round": r.id,
                    "number": r.number,
                    "parent": r.parent,
                    "instruction": r.instruction,
                    "stage": r.stage,
                    "quality": r.quality,
                    "backend": r.backend,
                    "credits": r.credits,
                    "status": _status(r, current),
                    "starred": r.starred,
                    "winner": r.winner,
                    "image": str(r.image.resolve()),
                }
                for r in self.rounds
            ],
            "attempts": [
                {
                    "attempt": a.id,
                    "parent": a.parent,
                    "kind": a.kind,
                    "message": a.message,
                }
                for a in self.attempts
            ],
        }


def _status(r: Round, current: str | None) -> str:
    if not r.image.exists():
        return "missing"
    return "current" if r.id == current else "kept"
