"""PostgreSQL privileges for the role the bot runs as: what its operations need and nothing
more. The tables' owner runs `aio-bot migrate`; the bot's role may read and write rows but not
alter, drop or truncate anything, and may only add to the audit trail (INSERT and SELECT on
`audit`: no code path updates or deletes an audit row). DELETE is granted only where the bot
forgets rows by design: released leases, old Slack deliveries, pruned snapshots.

docs/database.md shows the same statements (a test keeps the two equal). SQLite has no roles:
whoever can write the file can change anything in it."""

from __future__ import annotations

import re

# table -> privileges; every table of the schema has a line (a test checks)
TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "schema_version": ("SELECT",),
    "requests": ("SELECT", "INSERT", "UPDATE"),
    "audit": ("SELECT", "INSERT"),
    "audit_chain": ("SELECT", "UPDATE"),  # the chain head: locked and moved on each append
    "leases": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "deliveries": ("SELECT", "INSERT", "DELETE"),
    "snapshots": ("SELECT", "INSERT", "DELETE"),
    "alerts": ("SELECT", "INSERT", "UPDATE"),
    "job_runs": ("SELECT", "INSERT", "UPDATE"),
    "scan_items": ("SELECT", "INSERT", "UPDATE", "DELETE"),
}
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_statements(role: str, schema: str = "public") -> list[str]:
    """The GRANT statements for `role` (a plain lower-case identifier), to run as the owner
    after every `aio-bot migrate`."""
    for name in (role, schema):
        if not _ROLE.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain lower-case SQL identifier")
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        *(f"GRANT {', '.join(privileges)} ON {schema}.{table} TO {role}"
          for table, privileges in TABLE_PRIVILEGES.items()),
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]
