"""Workflow commands of the ``ripen`` CLI: lint, meter, templates, search, export."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Command = Callable[..., argparse.ArgumentParser]


def register(command: Command) -> None:
    """Add the workflow commands to the parser through the CLI's ``command`` helper."""
