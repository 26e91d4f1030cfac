"""`inventory [refresh]`: the hosts aio-bot works on, where each comes from (the file,
vCenter, or vCenter with a file override) and what vCenter says of it."""

from __future__ import annotations

from commands.context import Context
from commands.registry import Args, Command
from commands.results import InventoryResult


async def run_inventory(ctx: Context, args: Args) -> InventoryResult:
    refresh = "refresh" in args
    inventory = await ctx.inventory.refresh() if refresh else ctx.inventory
    return InventoryResult(list(inventory), inventory.source, inventory.refreshed_at,
                           refreshed_now=refresh and inventory.refreshable,
                           refreshable=inventory.refreshable)


COMMAND = Command(
    alias="inventory [refresh]",
    summary="The hosts, with their source (file or vCenter), cluster and state.",
    details=(
        "With `[inventory] source = \"vcenter\"` the hosts come from vCenter, discovered again "
        "every `refresh_minutes`; `refresh` discovers them now. A host vCenter calls "
        "disconnected is listed as such and not contacted."
    ),
    handler=run_inventory,
)
