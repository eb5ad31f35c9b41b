"""Draw every screen of ripen as an SVG in this folder, from the demo session.

Run from the repository root: ``python screenshots/make.py`` (``--only help`` draws
one). The demo session is built in a throwaway data folder with the local backend,
its timestamps and timings are frozen, and each screen is drawn at 120x40 with the
half-cell renderer once its workers have finished, so a rerun without code changes
rewrites the same bytes. The states drawn are the ones the snapshot tests check
(``SCREENS`` in ``tests/tui_support.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (120, 40)


async def draw(name: str, home: Path, folder: Path) -> str:
    """One screen as SVG text."""
    from core.config import load_config
    from core.engine import Engine
    from tests.tui_support import SCREENS, demo_app, still

    engine = Engine(load_config(home))
    app = demo_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await still(pilot)
        await SCREENS[name](pilot, folder)
        await still(pilot)
        return app.export_screenshot(title=f"ripen · {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="draw only these screens")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="ripen-screens-") as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        os.environ["RIPEN_HOME"] = str(home)
        for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "RIPEN_IMAGES"):
            os.environ.pop(name, None)
        from tests.tui_support import SCREENS, build_frozen_demo

        build_frozen_demo(home)
        for name in args.only or list(SCREENS):
            folder = Path(scratch) / name
            folder.mkdir()
            svg = asyncio.run(draw(name, home, folder))
            target = args.out / f"{name}.svg"
            target.write_text(svg, encoding="utf-8")
            print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)


if __name__ == "__main__":
    main()
