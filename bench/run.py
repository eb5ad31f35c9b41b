"""Run ripen's benchmarks and write ``bench/RESULTS.md``.

Usage::

    python bench/run.py              # every benchmark; writes bench/RESULTS.md
    python bench/run.py --quick      # fewer repeats, for a short look
    python bench/run.py --only engine --only ab   # some; prints, writes nothing

Each benchmark module has ``run(quick) -> Section``; the linter's module
(``bench/bench_lint.py``) has its own ``run()`` returning a dict, adapted here. A
benchmark that fails is reported as failed and the others still run. The file
records the machine it ran on, because every figure depends on it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"

BENCHMARKS = {
    "engine": "bench.bench_engine",
    "requests": "bench.bench_requests",
    "ab": "bench.bench_ab",
    "local": "bench.bench_local",
    "store": "bench.bench_store",
    "tui": "bench.bench_tui",
    "lint": "bench.bench_lint",
}
PACKAGES = ("textual", "textual-image", "google-genai", "pillow", "sqlite-utils")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, run the chosen benchmarks, print and write results."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="write the results here (default: bench/RESULTS.md for a full run; "
        "nothing is written for --only without --out)",
    )
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    from bench.harness import Section

    names = args.only or list(BENCHMARKS)
    machine = describe_machine()
    started = time.perf_counter()
    sections: list[Section] = []
    for name in names:
        print(f"== {name} ...", flush=True)
        section = run_one(name, args.quick)
        sections.append(section)
        print(render_section(section), flush=True)
    machine["Load average at the end"] = _load()
    total = time.perf_counter() - started
    target = args.out or (None if args.only else RESULTS)
    if target is not None:
        target.write_text(render(sections, machine, args.quick, total), "utf-8")
        print(f"wrote {target}")


def run_one(name: str, quick: bool) -> Any:
    """One benchmark's Section; a failure becomes a Section that says so."""
    from bench.harness import Section

    started = time.perf_counter()
    try:
        module = importlib.import_module(BENCHMARKS[name])
        runner: Callable[..., Any] = module.run
        if name == "lint":
            section = lint_section(runner())
        else:
            section = runner(quick=quick)
    except ModuleNotFoundError as error:
        if error.name != BENCHMARKS[name]:
            raise
        section = Section(f"{name} (not run)")
        section.notes.append(f"`{BENCHMARKS[name]}` does not exist yet.")
    except Exception:
        section = Section(f"{name} (failed)")
        section.notes.append(
            "The benchmark raised:\n\n```\n" + traceback.format_exc() + "```"
        )
    section.seconds = time.perf_counter() - started
    return section


def lint_section(figures: dict[str, Any]) -> Any:
    """The linter module's dict of figures as a Section (its own targets kept)."""
    from bench.harness import Figure, Section, table

    section = Section("Prompt linter (issue 4)")
    cases: dict[str, dict[str, float]] = figures.get("cases", {})
    chars = figures.get("instruction_chars", 300)
    rounds = figures.get("branch_rounds", 10)
    named = f"{figures.get('instruction_chars', 300)} chars, 10-round branch"
    reference = cases.get(named) or cases.get("300 chars, 10-round branch")
    if reference is None and cases:
        reference = next(iter(cases.values()))
    median_target = float(figures.get("target_median_ms", 0.2))
    p99_target = float(figures.get("target_p99_ms", 1.0))
    if reference is not None:
        section.figures = [
            Figure(
                f"Median lint, {chars}-character instruction, {rounds}-round branch",
                reference["median_ms"],
                target=f"< {median_target:g} ms",
                met=reference["median_ms"] < median_target,
                digits=4,
            ),
            Figure(
                "99th percentile, same case",
                reference["p99_ms"],
                target=f"< {p99_target:g} ms",
                met=reference["p99_ms"] < p99_target,
                digits=4,
            ),
        ]
    rows = [
        [name, f"{row['median_ms']:.4f}", f"{row['p99_ms']:.4f}", f"{row['runs']:,}"]
        for name, row in cases.items()
    ]
    if rows:
        section.tables.append(table(["case", "median ms", "p99 ms", "runs"], rows))
    note = "Figures from `bench/bench_lint.py`'s `run()`"
    if "load_average" in figures:
        note += f"; one-minute load average {figures['load_average']:.2f} at the time"
    section.notes.append(note + ".")
    return section


# --- the machine ------------------------------------------------------------------


def describe_machine() -> dict[str, str]:
    """What the figures depend on: processor, cores, memory, Python, packages."""
    info = {
        "CPU": _cpu_model(),
        "Cores": _cores(),
        "Memory": _memory(),
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    for package in PACKAGES:
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = "not installed"
    info["Commit"] = _commit()
    info["Load average at the start"] = _load()
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    text = f"{os.cpu_count()} logical"
    if usable is not None and usable != os.cpu_count():
        text += f" ({usable} usable by this process)"
    return text


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg()) + " (1/5/15 min)"
    except OSError:
        return "unknown"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head


# --- rendering --------------------------------------------------------------------


def render_section(section: Any) -> str:
    """A section as Markdown: its figures, tables and notes."""
    from bench.harness import table

    parts = [f"## {section.title}"]
    if section.figures:
        rows = [
            [figure.name, figure.shown, figure.target or "-", figure.verdict]
            for figure in section.figures
        ]
        parts.append(table(["figure", "value", "target", "verdict"], rows, "lrll"))
    parts += section.tables
    parts += section.notes
    parts.append(f"_Ran in {section.seconds:.0f} s._")
    return "\n\n".join(parts)


def render(
    sections: list[Any], machine: dict[str, str], quick: bool, total: float
) -> str:
    """The whole RESULTS.md."""
    from bench.harness import table

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "`python bench/run.py --quick`" if quick else "`python bench/run.py`"
    figures = [
        (section.title, figure)
        for section in sections
        for figure in section.figures
        if figure.met is not None
    ]
    met = sum(1 for _, figure in figures if figure.met)
    summary = table(
        ["benchmark", "figure", "value", "target", "verdict"],
        [
            [title, figure.name, figure.shown, figure.target, figure.verdict]
            for title, figure in figures
        ],
        "llrll",
    )
    lines = [
        "# Benchmark results",
        f"Written by {mode} on {when}, in {total / 60:.1f} minutes. "
        f"{met} of {len(figures)} targets met.",
        "The machine is shared with other work (tests and builds of other "
        "engineers ran at the same time), so absolute times drift from run to run. "
        "Timings are medians of repeated runs; comparisons are ratios of medians "
        "measured in the same run with the two sides interleaved.",
        "## Machine",
        table(["", ""], [[key, value] for key, value in machine.items()], "ll"),
        "## Every target",
        summary,
    ]
    lines += [render_section(section) for section in sections]
    return "\n\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
