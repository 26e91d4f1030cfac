"""The registry every front end uses: every `Command` defined at the top level of a module in
this package, found by looking (a new command is one new file here, and nothing else to
edit), listed in help by what they do (reads, proposals, decisions, silencing) and name, with
`help` last."""

from __future__ import annotations

import importlib
import pkgutil

import commands
from bot.gate import Effect
from commands.help import make_help
from commands.registry import Command, Registry

_EFFECT_ORDER = {effect: n for n, effect in enumerate(Effect)}


def build_registry() -> Registry:
    registry = Registry()
    for command in sorted(_declared(), key=lambda c: (_EFFECT_ORDER[c.effect], c.name)):
        registry.add(command)
    registry.add(make_help(registry))
    return registry


def _declared() -> list[Command]:
    """Each Command once, though a module may import another's."""
    found: dict[int, Command] = {}
    for module in pkgutil.iter_modules(commands.__path__):
        loaded = importlib.import_module(f"commands.{module.name}")
        found.update((id(v), v) for v in vars(loaded).values() if isinstance(v, Command))
    return list(found.values())
