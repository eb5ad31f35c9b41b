"""The demo session: a real photograph refined offline, built once per data folder.

It walks the workflow ripen serves on scikit-image's coffee photograph with the
local backend: a base round, composition, lighting, an A/B pair with a winner, detail
work, a note, a star, and one instruction the local backend cannot carry out (kept as
a failed attempt, as any real session would have).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from core.cancel import ProgressCallback
from core.engine import Engine
from core.errors import BadInput, NotFound, NotUnderstood
from core.models import Round, Session

DEMO_KEY = "demo_session"


def sample_photo(name: str, folder: Path) -> Path:
    """Save one of scikit-image's bundled photographs as a PNG in ``folder``."""
    try:
        from skimage import data
    except ImportError:
        raise BadInput(
            "The demo needs scikit-image for its sample photograph: "
            "pip install -e '.[demo]'"
        ) from None
    from PIL import Image

    path = folder / f"{name}.png"
    Image.fromarray(getattr(data, name)()).save(path)
    return path


def ensure_demo(
    engine: Engine, progress: ProgressCallback | None = None, fresh: bool = False
) -> Session:
    """Return the demo session, building it first if this data folder has none.

    ``fresh`` builds a new one even so; the old one stays, as any other session.
    """
    existing = None if fresh else engine.store.setting(DEMO_KEY)
    if existing:
        try:
            return engine.session(existing)
        except NotFound:
            pass
    with tempfile.TemporaryDirectory() as folder:
        photo = sample_photo("coffee", Path(folder))
        base = engine.new_session(
            "Cup of coffee on a saucer, product shot for a café menu",
            [photo],
            backend="local",
            title="Demo: coffee for the menu",
            progress=progress,
        )

    def refine(round_id: str, instruction: str) -> Round:
        return engine.refine(round_id, instruction, backend="local", progress=progress)

    framed = refine(base.id, "Crop in slightly and move the cup a little lower")
    lit = refine(
        framed.id,
        "Add a subtle warm cast to the highlights, deepen the shadows slightly "
        "and increase the contrast",
    )
    engine.note(lit.id, "Warm highlights suit the wooden table; keep them.")
    # The A/B pair is made one after the other, not with engine.ab, so the
    # demo's round numbers are the same on every machine.
    warm = refine(lit.id, "Make the light warmer overall")
    refine(lit.id, "Make the light cooler overall")
    engine.mark_winner(warm.id)
    detailed = refine(
        warm.id,
        "Sharpen the cup slightly and blur the background. "
        "Keep everything else unchanged.",
    )
    engine.star(detailed.id, True)
    try:
        refine(detailed.id, "Make it better")
    except NotUnderstood:
        pass  # kept as the demo's failed attempt, shown dimmed in the tree
    engine.restore(detailed.id)
    engine.store.set_setting(DEMO_KEY, base.session)
    return engine.session(base.session)
