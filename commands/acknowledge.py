"""`acknowledge <host>` and `snooze <host> <1h|4h|resolved>`: silence a host's open alert
incident. The incident message's Acknowledge and Snooze buttons run these words, through the
same gate (effect SILENCE: whoever may use the bot there, not only approvers)."""

from __future__ import annotations

from bot import messages
from bot.errors import UsageError
from bot.gate import Effect
from bot.history.records import AlertRecord
from bot.history.silence import SNOOZES, acknowledge, snooze
from bot.store.api import Store
from commands.context import Context
from commands.params import host
from commands.registry import Args, Command
from commands.results import SilenceResult


async def _open_incident(ctx: Context, name: str) -> tuple[Store, AlertRecord]:
    entry = host(ctx, name)
    if ctx.store is None:
        raise UsageError(messages.silencing_needs_store())
    alert = await ctx.store.active_alert(entry.name)
    if alert is None:
        raise UsageError(messages.no_open_incident(entry.name))
    return ctx.store, alert


async def run_acknowledge(ctx: Context, args: Args) -> SilenceResult:
    store, alert = await _open_incident(ctx, args["host"])
    saved = await acknowledge(store, alert, ctx.caller, ctx.clock())
    return SilenceResult(saved, "acknowledged", ctx.caller)


async def run_snooze(ctx: Context, args: Args) -> SilenceResult:
    span = args["span"].lower()
    if span not in SNOOZES:
        raise SNOOZE.usage(f"Snooze for {', '.join(f'`{s}`' for s in SNOOZES)}.")
    store, alert = await _open_incident(ctx, args["host"])
    saved = await snooze(store, alert, ctx.caller, span, ctx.clock())
    return SilenceResult(saved, "snoozed", ctx.caller, span)


ACKNOWLEDGE = Command(
    alias="acknowledge {host}",
    summary="Acknowledge the host's open alert: you own it; later changes do not ping.",
    details="The incident message says who acknowledged it and when.",
    handler=run_acknowledge,
    effect=Effect.SILENCE,
)

SNOOZE = Command(
    alias="snooze {host} {span}",
    summary="Snooze the host's open alert for 1h, 4h or until it resolves (`resolved`).",
    details="While snoozed its message is not edited; the resolution still shows.",
    handler=run_snooze,
    effect=Effect.SILENCE,
)
