"""The Textual interface over the engine in ``core``.

Nothing here is imported by ``core``; the engine works the same without it. The app
itself lives in :mod:`tui.app` and is imported only when the interface starts, so
that ``ripen --json`` commands never pay for loading Textual.
"""
