"""The template library: built-in and saved multi-round plans, kept in the database.

The guide asks users to save sequences of rounds that worked and reuse them. A
template is a list of steps, each a stage, a goal, a tier and a skeleton instruction
(see :mod:`core.templates`, which holds the pure data and the TOML format). This
module is where templates meet a data folder: built-ins come from code and cannot be
changed or deleted; the user's own live in the ``templates`` table, saved from a
branch or imported from a TOML file, and can be exported back to one.

Applying a template only points a session at it; the next step is then a hint the
user follows or ignores. :func:`run` is the one path that runs steps by itself.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.backends.base import Quality
from core.cancel import CancelToken, ProgressCallback
from core.errors import BadInput, NotFound, RipenError
from core.lint import classify_stage
from core.store import now_iso
from core.templates import (
    Template,
    TemplateStep,
    builtin_templates,
    fill,
    next_step,
    template_from_toml,
    template_to_toml,
)

if TYPE_CHECKING:
    from core.engine import Engine
    from core.models import Round

MAX_NAME = 60


@dataclass(frozen=True)
class NextStep:
    """Where a session stands in its template and what the next round should be."""

    template: str
    number: int  # 1-based step number of the next step
    total: int
    stage: str
    goal: str
    tier: str
    skeleton: str
    instruction: str  # the skeleton with its slots filled in
    alternatives: tuple[str, ...] = ()  # an A/B step's instructions, filled in

    def to_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "step": self.number,
            "total": self.total,
            "stage": self.stage,
            "goal": self.goal,
            "tier": self.tier,
            "skeleton": self.skeleton,
            "instruction": self.instruction,
            "alternatives": list(self.alternatives),
        }


@dataclass(frozen=True)
class Applied:
    """A template applied to a session, and the session's next step in it."""

    session: str
    template: str
    steps_done: int
    next: NextStep | None

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "template": self.template,
            "steps_done": self.steps_done,
            "next": self.next.to_json() if self.next else None,
            "finished": self.next is None,
        }


@dataclass(frozen=True)
class TemplateRun:
    """The rounds a template run produced, and the error that stopped it, if any."""

    template: str
    rounds: list[Round]
    error: RipenError | None = None


# -- reading ----------------------------------------------------------------------


def _builtins() -> dict[str, Template]:
    return {t.name: t for t in builtin_templates()}


def is_builtin(name: str) -> bool:
    return name in _builtins()


def _saved_rows(engine: Engine) -> list[dict[str, Any]]:
    return engine.store.all(
        "SELECT name, body FROM templates WHERE builtin = 0 ORDER BY name"
    )


def list_templates(engine: Engine) -> list[Template]:
    """Built-in templates first (in their own order), then the user's, by name."""
    builtins = _builtins()
    saved = [
        template_from_toml(row["body"])
        for row in _saved_rows(engine)
        if row["name"] not in builtins
    ]
    return [*builtins.values(), *saved]


def get_template(engine: Engine, name: str) -> Template:
    """A template by name, built in or saved."""
    builtins = _builtins()
    if name in builtins:
        return builtins[name]
    row = engine.store.one(
        "SELECT body FROM templates WHERE name = ? AND builtin = 0", [name]
    )
    if row is None:
        known = ", ".join(t.name for t in list_templates(engine))
        raise NotFound(f"No template named {name!r}; known templates: {known}.")
    return template_from_toml(row["body"])


def template_json(template: Template) -> dict[str, Any]:
    """A template as the CLI prints it."""
    return {
        "name": template.name,
        "title": template.label,
        "description": template.description,
        "builtin": is_builtin(template.name),
        "steps": [
            {
                "number": number,
                "stage": step.stage,
                "goal": step.goal,
                "tier": step.tier,
                "skeleton": step.skeleton,
                "alternatives": list(step.alternatives),
            }
            for number, step in enumerate(template.steps, start=1)
        ],
    }


# -- writing ----------------------------------------------------------------------


def check_name(name: str) -> str:
    """A template name a user can type back: short, one line, not blank."""
    clean = " ".join(name.split())
    if not clean:
        raise BadInput("A template needs a name.")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in clean):
        raise BadInput(
            f"The template name {clean.encode('unicode_escape').decode()!r} holds "
            "control characters; use letters, digits and spaces."
        )
    if len(clean) > MAX_NAME:
        raise BadInput(f"A template name is at most {MAX_NAME} characters.")
    return clean


def _put(engine: Engine, template: Template, *, force: bool) -> Template:
    if is_builtin(template.name):
        raise BadInput(
            f"{template.name!r} is a built-in template; choose another name."
        )
    body = template_to_toml(template)
    with engine.store.transaction() as db:
        exists = db.execute(
            "SELECT 1 FROM templates WHERE name = ?", [template.name]
        ).fetchone()
        if exists and not force:
            raise BadInput(
                f"A template named {template.name!r} exists; pass --force to replace "
                "it."
            )
        db.execute(
            "INSERT INTO templates (name, builtin, body, created) VALUES (?, 0, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET body = excluded.body",
            [template.name, body, now_iso()],
        )
    return template


def steps_of_branch(branch: list[Round]) -> list[TemplateStep]:
    """The refinement rounds of a branch as template steps, written as they ran."""
    steps = []
    for r in branch:
        if r.mode != "refine":
            continue  # the first round is the start, a promote has no instruction
        stage = classify_stage(r.instruction)
        steps.append(
            TemplateStep(
                stage=stage,
                goal=f"Round {r.number}: {stage}",
                skeleton=r.instruction,
                tier=r.quality,
            )
        )
    return steps


def save_branch(
    engine: Engine,
    round_id: str,
    name: str,
    *,
    description: str | None = None,
    force: bool = False,
) -> Template:
    """Save the branch ending at ``round_id`` as a template named ``name``."""
    name = check_name(name)
    branch = engine.path(round_id)
    steps = steps_of_branch(branch)
    if not steps:
        raise BadInput(
            f"Round {branch[-1].number} has no refinement rounds on its branch to save."
        )
    title = engine.session(branch[-1].session).title
    template = Template(
        name=name,
        description=description or f"Saved from {title!r}, round {branch[-1].number}.",
        steps=tuple(steps),
    )
    return _put(engine, template, force=force)


def delete_template(engine: Engine, name: str) -> None:
    """Delete a saved template; built-ins cannot be deleted."""
    if is_builtin(name):
        raise BadInput(f"{name!r} is a built-in template and cannot be deleted.")
    get_template(engine, name)
    with engine.store.transaction() as db:
        db.execute("DELETE FROM templates WHERE name = ?", [name])
        db.execute("UPDATE sessions SET template = NULL WHERE template = ?", [name])


def export_template(
    engine: Engine, name: str, path: Path, *, force: bool = False
) -> Path:
    """Write a template to a TOML file; an existing file needs ``force``."""
    template = get_template(engine, name)
    try:
        if path.is_dir():
            raise BadInput(
                f"{path.name} is a folder; give a file name ending in .toml."
            )
        if path.exists() and not force:
            raise BadInput(f"{path.name} exists; pass --force to overwrite it.")
        write_atomic(path, template_to_toml(template).encode("utf-8"))
    except (OSError, ValueError) as exc:  # no permission, a file where a folder is
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise BadInput(f"Cannot write {str(path)!r}: {reason}.") from None
    return path


_MAX_TEMPLATE_BYTES = 1_000_000


def import_template(
    engine: Engine, path: Path, *, name: str | None = None, force: bool = False
) -> Template:
    """Read a template from a TOML file into the library."""
    if path.exists() and not path.is_file():
        raise BadInput(f"{path.name} is not a regular file.")
    if path.exists() and path.stat().st_size > _MAX_TEMPLATE_BYTES:
        raise BadInput(
            f"{path.name} is {path.stat().st_size:,} bytes; a template file is "
            f"at most {_MAX_TEMPLATE_BYTES:,}."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"No file {path.name}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path.name} could not be read as text: {exc}.") from None
    template = template_from_toml(text)
    if name is not None:
        template = dataclasses.replace(template, name=check_name(name))
    else:
        check_name(template.name)
    return _put(engine, template, force=force)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: a temporary file in the folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".ripen-")
    try:
        # mkstemp makes the file private; an exported file is for sharing.
        os.chmod(temporary, 0o644)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- following a template ---------------------------------------------------------


def steps_done(branch: list[Round]) -> int:
    """How many template steps a branch has taken: its refinement rounds."""
    return sum(1 for r in branch if r.mode == "refine")


def step_after(
    template: Template, done: int, slots: Mapping[str, str] | None = None
) -> NextStep | None:
    """The step after ``done`` finished ones, filled in; None when all are done."""
    step = next_step(template, done)
    if step is None:
        return None
    return NextStep(
        template=template.name,
        number=done + 1,
        total=len(template.steps),
        stage=step.stage,
        goal=step.goal,
        tier=step.tier,
        skeleton=step.skeleton,
        instruction=fill(step.skeleton, slots),
        alternatives=tuple(fill(a, slots) for a in step.alternatives),
    )


def _set_template(engine: Engine, session_id: str, name: str | None) -> None:
    with engine.store.transaction() as db:
        db.execute("UPDATE sessions SET template = ? WHERE id = ?", [name, session_id])


def apply(
    engine: Engine,
    session_id: str,
    name: str | None,
    slots: Mapping[str, str] | None = None,
) -> Applied | None:
    """Make ``name`` the session's active template (None clears it)."""
    session = engine.session(session_id)
    template = get_template(engine, name) if name is not None else None
    _set_template(engine, session.id, template.name if template else None)
    if template is None:
        return None
    return progress(engine, session.id, slots)


def progress(
    engine: Engine, session_id: str, slots: Mapping[str, str] | None = None
) -> Applied | None:
    """The session's active template and its next step, given its current branch."""
    session = engine.session(session_id)
    if not session.template:
        return None
    try:
        template = get_template(engine, session.template)
    except NotFound:
        return None  # deleted since it was applied
    branch = engine.path(session.current_round) if session.current_round else []
    done = steps_done(branch)
    return Applied(
        session=session.id,
        template=template.name,
        steps_done=min(done, len(template.steps)),
        next=step_after(template, done, slots),
    )


def run(
    engine: Engine,
    name: str,
    round_id: str,
    backend: str = "local",
    *,
    slots: Mapping[str, str] | None = None,
    over_budget: bool = False,
    progress_callback: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> TemplateRun:
    """Run every step of a template as successive refinements of a round.

    Each step's skeleton runs as written (slots take the given values or their
    defaults) on the round the step before produced. An A/B step runs all its
    alternatives as sibling rounds and goes on from the first, its skeleton; which
    one wins is the user's call afterwards. A step that fails stops the run; the
    rounds made so far are kept and returned with the error.
    """
    template = get_template(engine, name)
    start = engine.round(round_id)
    _set_template(engine, start.session, template.name)
    options: dict[str, Any] = {
        "backend": backend,
        "over_budget": over_budget,
        "progress": progress_callback,
        "cancel": cancel,
    }
    rounds: list[Round] = []
    current = start.id
    for step in template.steps:
        quality: Quality = "ultra" if step.tier == "ultra" else "common"
        try:
            if step.alternatives:
                texts = [fill(a, slots) for a in step.alternatives]
                made = engine.ab(current, texts, quality=quality, **options)
                produced = [r for r in made if not isinstance(r, RipenError)]
                rounds += produced
                if isinstance(made[0], RipenError):
                    raise made[0]
                current = made[0].id
            else:
                one = engine.refine(
                    current, fill(step.skeleton, slots), quality=quality, **options
                )
                rounds.append(one)
                current = one.id
        except RipenError as error:
            return TemplateRun(template=template.name, rounds=rounds, error=error)
    return TemplateRun(template=template.name, rounds=rounds)
