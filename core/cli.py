"""The ``ripen`` command: the engine, scriptable.

With no arguments it opens the interface. Every other command drives the same
:class:`~core.engine.Engine`; with ``--json`` it prints exactly one JSON object on
stdout and nothing else there, while messages go to stderr. Exit codes: 0 done,
1 the operation failed, 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from core.cancel import Progress
from core.errors import BadInput, RipenError
from core.text import clean_text

Handler = Callable[[argparse.Namespace], dict[str, Any]]

REGION_HELP = (
    "limit the change to: background, subject, a ninth such as lower-right or "
    "upper-centre, a half (left-half...) or third (top-third...), edges, "
    "highlights, shadows, midtones, "
    "or box:x0,y0,x1,y1 in fractions of the image"
)


class UsageError(BadInput):
    """A command line argparse could not make sense of."""


def credits_count(text: str) -> int:
    """A whole, positive number of credits that fits the database."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 < value <= 1_000_000_000:
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and 1000000000")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _engine() -> Any:
    from core.engine import Engine

    return Engine()


def _progress(args: argparse.Namespace) -> Callable[[Progress], None] | None:
    if args.json or not sys.stderr.isatty():
        return None

    def show(progress: Progress) -> None:
        line = f"{progress.message} ({progress.elapsed:.0f}s)"
        if progress.retry_in is not None:
            line = f"{progress.message}: retrying in {progress.retry_in:.0f}s"
        print(f"\r\x1b[2K{line}", end="", file=sys.stderr, flush=True)
        if progress.phase == "done":
            print(file=sys.stderr)

    return show


def _round_out(engine: Any, r: Any) -> dict[str, Any]:
    return dict(r.to_json(engine.session_credits(r.session)))


# -- commands -------------------------------------------------------------------


def cmd_new(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    r = engine.new_session(
        args.prompt,
        [Path(p) for p in args.image],
        quality=args.quality,
        aspect=args.aspect,
        backend=args.backend,
        budget=args.budget,
        hard_budget=True if args.hard_budget else None,
        title=args.title,
        downscale=args.downscale,
        context_policy=args.context,
        progress=_progress(args),
    )
    return _round_out(engine, r)


def cmd_refine(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    r = engine.refine(
        args.round,
        args.instruction,
        quality=args.quality,
        region=args.region,
        keep=args.keep,
        refs=args.ref,
        backend=args.backend,
        over_budget=args.over_budget,
        image_size=args.size,
        progress=_progress(args),
    )
    return _round_out(engine, r)


def cmd_ab(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    results = engine.ab(
        args.round,
        args.instructions,
        quality=args.quality,
        region=args.region,
        keep=args.keep,
        backend=args.backend,
        over_budget=args.over_budget,
    )
    rounds = [_round_out(engine, r) for r in results if not isinstance(r, RipenError)]
    errors = [e.to_json() for e in results if isinstance(e, RipenError)]
    out: dict[str, Any] = {"rounds": rounds}
    if errors:
        out["errors"] = errors
        if not rounds:
            first = next(e for e in results if isinstance(e, RipenError))
            raise first
    return out


def cmd_promote(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    r = engine.promote(
        args.round,
        image_size=args.size,
        backend=args.backend,
        progress=_progress(args),
    )
    return _round_out(engine, r)


def cmd_retry(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    return _round_out(engine, engine.retry(args.attempt, progress=_progress(args)))


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    return _round_out(engine, engine.round(args.round))


def cmd_tree(args: argparse.Namespace) -> dict[str, Any]:
    return dict(_engine().tree(args.session).to_json())


def cmd_sessions(args: argparse.Namespace) -> dict[str, Any]:
    return {"sessions": [s.to_json() for s in _engine().sessions()]}


def cmd_star(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    return _round_out(engine, engine.star(args.round, False if args.off else True))


def cmd_winner(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    return _round_out(engine, engine.mark_winner(args.round))


def cmd_note(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    return _round_out(engine, engine.note(args.round, args.text))


def cmd_restore(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    return _round_out(engine, engine.restore(args.round))


def cmd_path(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine()
    return {"rounds": [_round_out(engine, r) for r in engine.path(args.round)]}


def cmd_demo(args: argparse.Namespace) -> dict[str, Any]:
    from core.demo import ensure_demo

    engine = _engine()
    # Progress lines would stay in the terminal behind the interface; show them
    # only when the demo is built without it.
    show = _progress(args) if args.no_ui else None
    session = ensure_demo(engine, progress=show, fresh=args.fresh)
    if args.json or args.no_ui:
        return dict(engine.tree(session.id).to_json())
    _open_interface(session=session.id, images=args.images)
    return {}


def _open_interface(
    session: str | None = None, last: bool = False, images: str | None = None
) -> None:
    from tui.app import run_app

    run_app(session=session, last=last, images=images)


# -- parser ---------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ripen")
    except PackageNotFoundError:
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ripen",
        description="Refine images round by round with Gemini, in the terminal.",
    )
    parser.add_argument(
        "--last", action="store_true", help="reopen the last session in the interface"
    )
    parser.add_argument("--version", action="version", version=f"ripen {_version()}")
    parser.add_argument(
        "--images",
        choices=["auto", "tgp", "sixel", "halfcell", "unicode"],
        help="how previews are drawn (default: RIPEN_IMAGES or auto)",
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    def command(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        sub.set_defaults(handler=handler)
        return sub

    def generation_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--quality", choices=["common", "ultra"])
        sub.add_argument("--backend", choices=["local", "gemini"])

    new = command(
        "new", cmd_new, "start a session from a prompt, a photo or references"
    )
    new.add_argument("prompt", help="what to make, or what to do with the photo")
    new.add_argument(
        "--image", action="append", default=[], metavar="FILE", help="photo/reference"
    )
    generation_options(new)
    new.set_defaults(quality="common")
    new.add_argument("--aspect", metavar="RATIO", help="e.g. 1:1, 4:3, 16:9")
    new.add_argument("--budget", type=credits_count, metavar="CREDITS")
    new.add_argument(
        "--hard-budget", action="store_true", help="refuse rounds past the budget"
    )
    new.add_argument("--title", metavar="TEXT")
    new.add_argument(
        "--downscale", action="store_true", help="shrink photos over the size limit"
    )
    new.add_argument("--context", metavar="POLICY", help="full, window:K or fresh")

    refine = command(
        "refine", cmd_refine, "refine a round (a branch if it has children)"
    )
    refine.add_argument("round")
    refine.add_argument("instruction")
    generation_options(refine)
    refine.add_argument("--region", metavar="REGION", help=REGION_HELP)
    refine.add_argument(
        "--keep", action="store_true", help="append keep-everything-else-unchanged"
    )
    refine.add_argument("--ref", action="append", default=[], metavar="ROUND")
    refine.add_argument("--over-budget", action="store_true")
    refine.add_argument("--size", choices=["1K", "2K", "4K"])

    ab = command("ab", cmd_ab, "run two or more alternative refinements concurrently")
    ab.add_argument("round")
    ab.add_argument("instructions", nargs="+", metavar="INSTRUCTION")
    generation_options(ab)
    ab.add_argument("--region", metavar="REGION", help=REGION_HELP)
    ab.add_argument("--keep", action="store_true")
    ab.add_argument("--over-budget", action="store_true")

    promote = command("promote", cmd_promote, "final Ultra render of a branch")
    promote.add_argument("round")
    promote.add_argument("--size", choices=["1K", "2K", "4K"])
    promote.add_argument("--backend", choices=["local", "gemini"])

    retry = command("retry", cmd_retry, "run a failed attempt again")
    retry.add_argument("attempt")

    for name, handler, text in (
        ("show", cmd_show, "one round"),
        ("star", cmd_star, "star a round"),
        ("winner", cmd_winner, "mark a round the winner among its siblings"),
        ("restore", cmd_restore, "make a round the current one"),
        ("path", cmd_path, "the branch from the first round to this one"),
    ):
        sub = command(name, handler, text)
        sub.add_argument("round")
        if name == "star":
            sub.add_argument("--off", action="store_true", help="remove the star")

    tree = command("tree", cmd_tree, "a session's rounds and attempts")
    tree.add_argument("session")
    command("sessions", cmd_sessions, "every session")
    note = command("note", cmd_note, "set a round's note (empty text clears it)")
    note.add_argument("round")
    note.add_argument("text")

    demo = command("demo", cmd_demo, "open the demo session (built once, offline)")
    demo.add_argument(
        "--no-ui", action="store_true", help="build the demo and print its tree"
    )
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="build a new demo session (the old one stays in the sessions list)",
    )
    demo.add_argument(
        "--images", choices=["auto", "tgp", "sixel", "halfcell", "unicode"]
    )

    from core import cli_more

    cli_more.register(command)
    return parser


# -- output ---------------------------------------------------------------------


def _print_human(result: dict[str, Any]) -> None:
    if "round" in result and "mode" in result:
        _print_round(result)
    elif "rounds" in result and "title" in result:
        print(f"{result['title']}  ({result['credits']}/{result['budget']} credits)")
        for r in result["rounds"]:
            mark = "*" if r["status"] == "current" else " "
            flags = ("★" if r["starred"] else "") + ("✓" if r["winner"] else "")
            instruction = " / ".join(r["instruction"].splitlines())  # one line each
            print(
                f"{mark} #{r['number']:<3} {r['round']}  parent={r['parent'] or '-':<6}"
                f"  {r['quality']:<6} {r['credits']:>3}cr {flags:<2} {instruction}"
            )
        for a in result["attempts"]:
            print(f"  ✗ {a['attempt']}  from {a['parent'] or '-'}: {a['message']}")
    elif "rounds" in result:
        for r in result["rounds"]:
            _print_round(r)
    elif "sessions" in result:
        if not result["sessions"]:
            print(
                "No sessions yet: `ripen new PROMPT` starts one; `ripen demo` has one."
            )
        for s in result["sessions"]:
            rounds = "round " if s["rounds"] == 1 else "rounds"
            print(
                f"{s['session']}  {s['rounds']:>3} {rounds}  "
                f"{s['credits']:>4}/{s['budget']} cr  {s['title']}"
            )
    elif "text" in result and isinstance(result["text"], str):
        print(result["text"])
    elif result:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    for error in result.get("errors", []):
        print(f"error ({error['kind']}): {error['message']}", file=sys.stderr)


def _print_round(r: dict[str, Any]) -> None:
    print(
        f"round {r['round']} (#{r['number']}, {r['mode']}, {r['quality']}, "
        f"{r['credits']} cr) in session {r['session']} "
        f"({r['session_credits']} cr spent)"
    )
    print(f"  image: {r['image']} ({r['width']}x{r['height']})")
    marks = [name for name in ("starred", "winner") if r.get(name)]
    if marks:
        print(f"  {' and '.join(marks)}")
    if r.get("note"):
        print(f"  note: {r['note']}")
    if r["applied"]:
        print(f"  applied: {'; '.join(r['applied'])}")
    if r["skipped"]:
        print(f"  not understood: {'; '.join(r['skipped'])}")
    if r["text"]:
        print(f"  {r['text']}")
    for warning in r["warnings"]:
        print(f"  ! {warning.get('message', '')}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Until the line is parsed, guess; after, trust the parser (a note may say
    # "--json" after "--").
    want_json = "--json" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        want_json = bool(getattr(args, "json", False))
        if args.command is None:
            _open_interface(last=args.last, images=args.images)
            return 0
        result = args.handler(args)
    except KeyboardInterrupt:
        print("Cancelled.", file=sys.stderr)
        return 130
    except RipenError as error:
        message = clean_text(error.message)
        lines = [f"{error.title}: {message}"]
        if error.attempt:
            lines.append(f"(recorded as attempt {error.attempt})")
        payload = {"error": {**error.to_json(), "message": message}}
        _emit(json.dumps(payload, ensure_ascii=False) if want_json else None, lines)
        return error.exit_code
    if want_json:
        _emit(json.dumps(result, ensure_ascii=False), [])
    else:
        _emit(None, [], result)
    return 1 if result.get("errors") else 0


def _emit(out: str | None, err: list[str], human: dict[str, Any] | None = None) -> None:
    """Write the results; a reader that closed the pipe early is not a failure."""
    try:
        if out is not None:
            print(out)
        if human is not None:
            _print_human(human)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    for line in err:
        print(line, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
