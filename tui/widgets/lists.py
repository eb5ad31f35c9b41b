"""The lists of the sessions and templates screens, moved by j and k too."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType
from textual.widgets import ListView, OptionList

from tui.keys import LIST_BINDINGS


class KeyedListView(ListView):
    """A ListView that j and k move, like the session tree."""

    BINDINGS: ClassVar[list[BindingType]] = LIST_BINDINGS


class KeyedOptionList(OptionList):
    """An OptionList that j and k move, like the session tree."""

    BINDINGS: ClassVar[list[BindingType]] = LIST_BINDINGS
