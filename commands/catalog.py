"""The registry every front end uses."""

from __future__ import annotations

from commands import check, scan, top
from commands.help import make_help
from commands.registry import Registry


def build_registry() -> Registry:
    registry = Registry()
    for module in (top, check, scan):
        registry.add(module.COMMAND)
    registry.add(make_help(registry))
    return registry
