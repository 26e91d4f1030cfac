"""`audit [host]`: requests and the audit trail, newest last."""

from __future__ import annotations

from commands import needs
from commands.context import Context
from commands.params import host
from commands.registry import Args, Command
from commands.results import AuditResult

SHOWN = 50


async def run_audit(ctx: Context, args: Args) -> AuditResult:
    name = host(ctx, args["host"]).name if args.get("host") is not None else None
    store = needs.store(ctx)
    requests = await store.requests(host=name, limit=SHOWN)
    entries = await store.audit_trail(host=name, limit=SHOWN)
    return AuditResult(name, requests, entries)


COMMAND = Command(
    alias="audit [{host}]",
    summary="Who asked for what, who approved it, what ran and how it ended.",
    details=f"The last {SHOWN} requests and audit entries, for one host or all.",
    handler=run_audit,
)
