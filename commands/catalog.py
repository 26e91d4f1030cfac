"""The registry every front end uses."""

from __future__ import annotations

from commands import (
    acknowledge,
    approve,
    audit,
    check,
    fix,
    inventory,
    migrate,
    power_off,
    raise_limit,
    reboot,
    scan,
    summary,
    top,
)
from commands.help import make_help
from commands.registry import Registry


def build_registry() -> Registry:
    registry = Registry()
    for module in (top, check, scan, inventory, fix, migrate, raise_limit, reboot, power_off,
                   audit, summary):
        registry.add(module.COMMAND)
    registry.add(approve.APPROVE)
    registry.add(approve.REJECT)
    registry.add(acknowledge.ACKNOWLEDGE)
    registry.add(acknowledge.SNOOZE)
    registry.add(make_help(registry))
    return registry
