"""Workflow commands of the ``ripen`` CLI: lint, meter, templates, search, export.

Each handler returns one dict. With ``--json`` that dict is the command's contract;
without it the handler returns ``{"text": ...}``, a rendering for a person, which
the CLI prints as it is.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import checklist as checks
from core import cli
from core.errors import BadInput

Handler = Callable[[argparse.Namespace], dict[str, Any]]
Command = Callable[[str, Handler, str], argparse.ArgumentParser]


def _slots(args: argparse.Namespace) -> dict[str, str]:
    slots = {}
    for item in args.slot:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"A slot is given as NAME=VALUE, not {item!r}.")
        slots[key.strip()] = value.strip()
    return slots


def _out(args: argparse.Namespace, data: dict[str, Any], text: str) -> dict[str, Any]:
    return data if args.json else {"text": text}


# -- lint -------------------------------------------------------------------------


def cmd_lint(args: argparse.Namespace) -> dict[str, Any]:
    from core.lint import BudgetState, lint
    from core.meter import tier_credits

    branch: list[Any] = []
    budget = None
    if args.parent:
        engine = cli._engine()
        branch = engine.path(args.parent)
        session = engine.session(branch[-1].session)
        budget = BudgetState(
            spent=session.credits,
            budget=session.budget,
            round_cost=tier_credits(engine, session.backend, args.quality),
        )
    report = lint(args.instruction, branch, args.quality, budget).to_json()
    noun = "change" if report["changes"] == 1 else "changes"
    lines = [f"{report['changes']} {noun}, stage: {report['stage']}"]
    for w in report["warnings"]:
        lines.append(f"  {w['severity']} {w['code']}: {w['message']}")
        if w.get("suggestion"):
            lines.append(f"    suggestion: {w['suggestion']}")
    if not report["warnings"]:
        lines.append("  no warnings")
    return _out(args, report, "\n".join(lines))


# -- meter ------------------------------------------------------------------------


def cmd_meter(args: argparse.Namespace) -> dict[str, Any]:
    from core.meter import meter

    result = meter(cli._engine(), args.session)
    return _out(args, result.to_json(), result.summary())


# -- templates --------------------------------------------------------------------


def _template_text(data: dict[str, Any]) -> str:
    kind = "built in" if data["builtin"] else "saved"
    lines = [f"{data['name']} ({kind}): {data['description']}"]
    for step in data["steps"]:
        lines.append(
            f"  {step['number']}. {step['stage']:<11} {step['tier']:<6} "
            f"{step['goal']}\n     {step['skeleton']}"
        )
    return "\n".join(lines)


def _applied_text(data: dict[str, Any]) -> str:
    step = data["next"]
    if step is None:
        return f"Template {data['template']}: every step is done."
    return (
        f"Template {data['template']}: step {step['step']} of {step['total']} next "
        f"({step['stage']}, {step['tier']}): {step['goal']}\n  {step['instruction']}"
    )


def cmd_template_list(args: argparse.Namespace) -> dict[str, Any]:
    from core import library

    templates = [
        library.template_json(t) for t in library.list_templates(cli._engine())
    ]
    lines = [
        f"{t['name']:<24} {'built in' if t['builtin'] else 'saved':<8} "
        f"{len(t['steps'])} steps  {t['description']}"
        for t in templates
    ]
    return _out(args, {"templates": templates}, "\n".join(lines))


def cmd_template_show(args: argparse.Namespace) -> dict[str, Any]:
    from core import library

    data = library.template_json(library.get_template(cli._engine(), args.name))
    return _out(args, data, _template_text(data))


def cmd_template_save(args: argparse.Namespace) -> dict[str, Any]:
    from core import library

    template = library.save_branch(
        cli._engine(),
        args.round,
        args.name,
        description=args.description,
        force=args.force,
    )
    data = library.template_json(template)
    return _out(args, data, "Saved.\n" + _template_text(data))


def cmd_template_delete(args: argparse.Namespace) -> dict[str, Any]:
    from core import library

    library.delete_template(cli._engine(), args.name)
    return _out(args, {"deleted": args.name}, f"Deleted template {args.name}.")


def cmd_template_export(args: argparse.Namespace) -> dict[str, Any]:
    from core import library

    path = library.export_template(
        cli._engine(), args.name, Path(args.file), force=args.force
    )
    data = {"template": args.name, "file": str(path.resolve())}
    return _out(args, data, f"Wrote {path}.")


def cmd_template_import(args: argparse.Namespace) -> dict[str, Any]:
    from core import library

    template = library.import_template(
        cli._engine(), Path(args.file), name=args.name, force=args.force
    )
    data = library.template_json(template)
    return _out(args, data, "Imported.\n" + _template_text(data))


def cmd_template_apply(args: argparse.Namespace) -> dict[str, Any]:
    from core import library

    applied = library.apply(cli._engine(), args.session, args.name, _slots(args))
    assert applied is not None  # a name was given, so a template is active
    data = applied.to_json()
    return _out(args, data, _applied_text(data))


def cmd_template_run(args: argparse.Namespace) -> dict[str, Any]:
    from core import library

    engine = cli._engine()
    result = library.run(
        engine,
        args.name,
        args.round,
        backend=args.backend,
        slots=_slots(args),
        over_budget=args.over_budget,
        progress_callback=cli._progress(args),
    )
    if result.error is not None and not result.rounds:
        raise result.error
    out: dict[str, Any] = {
        "template": result.template,
        "rounds": [cli._round_out(engine, r) for r in result.rounds],
    }
    if result.error is not None:
        out["errors"] = [result.error.to_json()]
    return out


# -- checklist and search ---------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> dict[str, Any]:
    result = checks.tick(cli._engine(), args.round, args.item, on=not args.off)
    return _out(args, result.to_json(), result.summary())


def cmd_checklist(args: argparse.Namespace) -> dict[str, Any]:
    result = checks.checklist(cli._engine(), args.round)
    return _out(args, result.to_json(), result.summary())


def cmd_search(args: argparse.Namespace) -> dict[str, Any]:
    from core.search import search

    hits = search(cli._engine(), args.text, limit=args.limit)
    lines = [f"{h.session} {h.title}  #{h.number} {h.round}: {h.snippet}" for h in hits]
    data = {"query": args.text, "results": [h.to_json() for h in hits]}
    return _out(args, data, "\n".join(lines) or "Nothing found.")


# -- export -----------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    from core.export import export

    result = export(
        cli._engine(), args.round, Path(args.out), fmt=args.format, force=args.force
    )
    text = "\n".join(f"Wrote {path}" for path in result.paths)
    return _out(args, result.to_json(), text)


# -- registration -----------------------------------------------------------------


def register(command: Command) -> None:
    """Add the workflow commands to the parser through the CLI's ``command`` helper."""
    lint = command("lint", cmd_lint, "check an instruction before running it")
    lint.add_argument("instruction")
    lint.add_argument("--parent", metavar="ROUND", help="the round it would refine")
    lint.add_argument("--quality", choices=["common", "ultra"], default="common")

    meter = command("meter", cmd_meter, "credits spent, budget left and projection")
    meter.add_argument("session")

    template = command("template", cmd_template_list, "the template library")
    actions = template.add_subparsers(dest="action", required=True)

    def action(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=text, description=text)
        # SUPPRESS keeps ``ripen template --json list`` working: the sub-parser
        # would otherwise reset the flag to False.
        sub.add_argument(
            "--json",
            action="store_true",
            default=argparse.SUPPRESS,
            help="print one JSON object",
        )
        sub.set_defaults(handler=handler)
        return sub

    action("list", cmd_template_list, "built-in and saved templates")
    action("show", cmd_template_show, "a template's steps").add_argument("name")
    save = action("save", cmd_template_save, "save a branch as a template")
    save.add_argument("round")
    save.add_argument("name")
    save.add_argument("--description", metavar="TEXT")
    save.add_argument("--force", action="store_true", help="replace a saved one")
    action("delete", cmd_template_delete, "delete a saved template").add_argument(
        "name"
    )
    export_ = action("export", cmd_template_export, "write a template to TOML")
    export_.add_argument("name")
    export_.add_argument("file")
    export_.add_argument("--force", action="store_true", help="overwrite the file")
    import_ = action("import", cmd_template_import, "read a template from TOML")
    import_.add_argument("file")
    import_.add_argument("--name", metavar="NAME", help="save it under this name")
    import_.add_argument("--force", action="store_true", help="replace a saved one")
    apply = action("apply", cmd_template_apply, "follow a template in a session")
    apply.add_argument("name")
    apply.add_argument("session")
    run = action("run", cmd_template_run, "run a template's steps from a round")
    run.add_argument("name")
    run.add_argument("round")
    run.add_argument("--backend", choices=["local", "gemini"], default="local")
    run.add_argument("--over-budget", action="store_true")
    for sub in (apply, run):
        sub.add_argument(
            "--slot",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="fill a {slot} of the skeletons, e.g. product=the watch",
        )

    check = command("check", cmd_check, "tick a stop-checklist item on a round")
    check.add_argument("round")
    check.add_argument("item", help=", ".join(checks.ITEMS))
    check.add_argument("--off", action="store_true", help="untick it")
    command("checklist", cmd_checklist, "a branch's stop checklist").add_argument(
        "round"
    )

    search = command("search", cmd_search, "find rounds by instruction or note")
    search.add_argument("text")
    search.add_argument("--limit", type=cli.credits_count, default=50)

    export = command("export", cmd_export, "write a branch's image, sheet and report")
    export.add_argument("round")
    export.add_argument("--out", required=True, metavar="DIR")
    export.add_argument("--format", choices=["png", "jpeg", "webp"], default="png")
    export.add_argument("--force", action="store_true", help="overwrite files")
