"""The command palette's commands, named "group: action" so they sort and read well.

Every command is an action the workspace (or the app) already has a key for; the
palette is a second way in, for the command whose key the user forgot, and it
shows that key beside the command. A search matches the name or the line of help
("sessions" finds "session: open another"). Commands of the workspace are offered
only while the palette is open over the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from tui.keys import APP_BINDINGS, PROMPT_BINDINGS, TREE_BINDINGS, WORKSPACE_BINDINGS


@dataclass(frozen=True)
class Command:
    """A palette entry: its name, the action it runs and a line of help."""

    name: str
    action: str
    help: str
    workspace: bool = True


COMMANDS: tuple[Command, ...] = (
    Command(
        "round: refine", "focus_prompt", "Type an instruction for the current round"
    ),
    Command("round: make current", "make_current", "The next refinement starts here"),
    Command("round: branch", "branch", "Start a branch from the selected round"),
    Command("round: A/B pair", "ab", "Two alternative refinements, run at once"),
    Command("round: compare", "compare", "Two rounds side by side; pick the winner"),
    Command(
        "round: mark winner", "winner", "The selected round wins among its siblings"
    ),
    Command("round: star", "star", "Star or unstar the selected round"),
    Command("round: promote", "promote", "Final render of the branch on Ultra"),
    Command("round: note", "note", "Write a note on the selected round"),
    Command("round: retry attempt", "retry", "Run a failed attempt again"),
    Command("prompt: keep clause", "keep", "Append the keep clause to the instruction"),
    Command(
        "prompt: toggle tier", "tier", "Switch the next round between Common and Ultra"
    ),
    Command("prompt: region", "region", "Limit the next change to a region"),
    Command("session: export", "export", "Write the image, contact sheet and report"),
    Command("session: templates", "templates", "Browse, apply or save templates"),
    Command("session: open another", "app.sessions", "The sessions list", False),
    Command(
        "session: new", "app.new_session", "Start one from a prompt or photos", False
    ),
    Command("app: help", "app.help", "Every key of this screen", False),
    Command("app: quit", "app.quit", "Quit ripen", False),
)


def key_for(action: str) -> Binding | None:
    """The binding that runs ``action`` by a key, if there is one."""

    def bare(name: str) -> str:
        return name.removeprefix("app.").removeprefix("screen.")

    for table in (APP_BINDINGS, WORKSPACE_BINDINGS, TREE_BINDINGS, PROMPT_BINDINGS):
        for binding in table:
            if isinstance(binding, Binding) and bare(binding.action) == bare(action):
                return binding
    return None


def available(screen: Screen[Any]) -> list[Command]:
    """The commands that make sense over ``screen``."""
    from tui.screens.workspace import WorkspaceScreen

    on_workspace = isinstance(screen, WorkspaceScreen)
    return [c for c in COMMANDS if on_workspace or not c.workspace]


class RipenCommands(Provider):
    """ripen's commands for Textual's command palette."""

    def _help(self, command: Command) -> str:
        binding = key_for(command.action)
        if binding is None:
            return command.help
        keys = self.app._keymap.get(binding.id or "", binding.key)
        shown = [
            self.app.get_key_display(replace(binding, key=k, key_display=None))
            for k in keys.split(",")
        ]
        if binding.key_display:
            shown = [binding.key_display]
        return f"{command.help} (key: {' or '.join(shown)})"

    async def discover(self) -> Hits:
        for command in available(self.screen):
            yield DiscoveryHit(
                command.name,
                partial(self.screen.run_action, command.action),
                help=self._help(command),
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in available(self.screen):
            # The name counts more than the help line, so names rank first.
            score = max(matcher.match(command.name), matcher.match(command.help) / 2)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.name),
                    partial(self.screen.run_action, command.action),
                    help=self._help(command),
                )
