"""ripen's engine: sessions, rounds, backends and workflow help, without any UI."""

__version__ = "0.1.0"
