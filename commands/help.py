"""`help [command]`: what the bot can do."""

from __future__ import annotations

from bot import messages
from commands.context import Context
from commands.registry import Args, Command, CommandUsageError, Registry
from commands.results import HelpResult


def make_help(registry: Registry) -> Command:
    async def run_help(ctx: Context, args: Args) -> HelpResult:
        topic = args.get("command")
        if topic is None:
            return HelpResult([c.help_entry() for c in registry])
        command = registry.get(topic)
        if command is None:
            raise CommandUsageError(f"There is no command `{messages.shown(topic)}`.",
                                    registry.get("help"))
        return HelpResult([command.help_entry()], topic=command.name)

    return Command(
        alias="help [{command}]",
        summary="List the commands, or explain one.",
        details="",
        handler=run_help,
    )
