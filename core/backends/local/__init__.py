"""The offline ``local`` backend: Pillow edits, layout drafts and collages.

Public names: :class:`LocalBackend` (the :class:`~core.backends.base.Backend`),
:func:`parse_instruction` with its :class:`Parsed` and :class:`Clause` results,
:data:`REGION_NAMES` (the regions the interface offers) and
:func:`validate_region` (a region string to its canonical name, or ``BadInput``).
"""

from core.backends.local.backend import MAX_CHANGES, LocalBackend
from core.backends.local.parser import Clause, Parsed, parse_instruction
from core.backends.local.regions import REGION_NAMES, validate_region

__all__ = [
    "MAX_CHANGES",
    "REGION_NAMES",
    "Clause",
    "LocalBackend",
    "Parsed",
    "parse_instruction",
    "validate_region",
]
