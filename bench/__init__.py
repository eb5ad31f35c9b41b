"""Benchmarks: figures against targets, printed and written to ``bench/RESULTS.md``.

They are not tests. ``python bench/run.py`` runs them all; each module's ``run``
returns a :class:`bench.harness.Section`.
"""
