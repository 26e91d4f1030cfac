"""The bot's PostgreSQL role (bot/store/grants.py, docs/database.md) on a real server: every
operation the bot performs works under it, and it cannot alter, drop or truncate anything,
lift the audit triggers, or change or remove audit rows. The grants cover every table, and
docs/database.md shows exactly these statements."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.history.records import Snapshot
from bot.store import NewRequest, State, Store, StoreError, migrations, open_store
from bot.store.grants import TABLE_PRIVILEGES, grant_statements
from bot.store.migrations import LATEST
from bot.store.sql import SqlStore
from tests.pg_helpers import PgServer

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "database.md"


@dataclass
class Roles:
    owner_url: str  # the tables' owner: runs migrate and the grants
    bot_url: str  # the bot's role


_counter = iter(range(1_000_000))


def _limited_role(server: PgServer, owner_url: str) -> str:
    """A new login role with nothing granted yet; its URL for the owner's database."""
    role, password = f"aiobot_{next(_counter)}", "pw-" + secrets.token_hex(8)
    with server.admin() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    dbname = owner_url.rsplit("/", 1)[1]
    return f"postgresql://{role}:{password}@127.0.0.1:{server.port}/{dbname}"


def _role_of(url: str) -> str:
    match = re.match(r"postgresql://([^:]+):", url)
    assert match
    return match[1]


def _grant(owner_url: str, role: str) -> None:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        for statement in grant_statements(role):
            conn.execute(statement)


@pytest.fixture
def roles(pg_server: PgServer) -> Iterator[Roles]:
    owner_url = pg_server.fresh_database()
    with psycopg.connect(host=str(pg_server.root), port=pg_server.port, user="postgres",
                         dbname=owner_url.rsplit("/", 1)[1], autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # as docs/database.md
    yield Roles(owner_url, _limited_role(pg_server, owner_url))


@pytest.fixture
async def bot_store(roles: Roles) -> AsyncIterator[Store]:
    owner = open_store(roles.owner_url)
    assert await owner.migrate() == LATEST
    await owner.close()
    _grant(roles.owner_url, _role_of(roles.bot_url))
    store = open_store(roles.bot_url)
    yield store
    await store.close()


async def test_the_bot_role_runs_every_operation(bot_store: Store) -> None:
    store = bot_store
    assert (await store.require_schema()).ok
    assert await store.migrate() == LATEST  # up to date: nothing to run, nothing denied
    hour = timedelta(hours=1)
    req = await store.create(NewRequest("reboot", "esx01", "esx01", {"a": 1}, "U_A",
                                        T0 + hour, channel="C1"), now=T0)
    await store.set_message(req.id, "C1", "1700000000.000100")
    approved = await store.transition(req.id, State.PROPOSED, State.APPROVED, actor="U_B",
                                      approved_by="U_B", now=T0)
    assert approved is not None and approved.version == 2
    await store.transition(req.id, State.APPROVED, State.RUNNING, actor="aio-bot", now=T0)
    await store.audit(req.id, "esx01", "aio-bot", "output", {"stdout": "ok"}, now=T0)
    await store.transition(req.id, State.RUNNING, State.SUCCEEDED, actor="aio-bot", now=T0,
                           outcome="done")
    stale = await store.create(NewRequest("reboot", "esx02", "esx02", {}, "U_A", T0), now=T0)
    assert [r.id for r in await store.expire_due(now=T0 + hour)] == [stale.id]
    assert len(await store.audit_trail(host="esx01")) == 5
    assert len(await store.requests(states=frozenset({State.SUCCEEDED}))) == 1
    assert await store.lease("job", "me", 60, T0) and await store.release_lease("job", "me")
    assert await store.first_delivery("ev1", now=T0, keep=timedelta(minutes=5))
    assert await store.first_delivery("ev2", now=T0 + hour, keep=timedelta(minutes=5))
    snaps = [Snapshot("esx01", "c", T0 + timedelta(days=d), 100, 32768, 32768)
             for d in range(3)]
    assert await store.add_snapshots(snaps) == 3
    assert len(await store.snapshots("esx01")) == 3 and await store.latest_snapshots()
    assert await store.prune_snapshots(T0 + timedelta(days=1)) == 1
    alert = await store.open_alert("esx01", "warning", {}, now=T0)
    assert alert is not None
    await store.update_alert(alert.id, "critical", {}, now=T0)
    await store.set_alert_message(alert.id, "C1", "1.2")
    assert await store.active_alert("esx01") and await store.active_alerts()
    assert await store.resolve_alert(alert.id, {}, now=T0 + hour) is not None
    assert await store.get_alert(alert.id) and await store.alerts(T0)
    assert await store.claim_firing("digest", T0, "me", now=T0)
    await store.finish_firing("digest", T0, "ok", now=T0)
    assert await store.last_firing("digest") == T0
    report = await store.verify_audit()
    assert report.ok and report.rows == 7, report  # 5 of esx01, 2 of esx02


DENIED = [
    "ALTER TABLE audit ADD COLUMN note TEXT",
    "ALTER TABLE requests DROP COLUMN outcome",
    "ALTER TABLE audit DISABLE TRIGGER audit_no_change",
    "DROP TRIGGER audit_no_change ON audit",
    "DROP TABLE audit",
    "DROP TABLE requests",
    "DROP FUNCTION audit_append_only()",
    "TRUNCATE audit",
    "TRUNCATE requests",
    "UPDATE audit SET actor = 'U_MALLORY'",
    "UPDATE audit SET detail = '{}' WHERE id = 1",
    "DELETE FROM audit",
    "DELETE FROM requests",
    "DELETE FROM audit_chain",
    "INSERT INTO audit_chain (id, last_id, hash, rows) VALUES (2, 0, 'x', 0)",
    "UPDATE schema_version SET version = 1",
    "INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'x', 'y')",
    "CREATE TABLE mine (a INTEGER)",
    "CREATE INDEX audit_actor ON audit (actor)",
]


@pytest.mark.parametrize("sql", DENIED)
async def test_the_bot_role_cannot_change_the_schema_or_the_audit(
        roles: Roles, bot_store: Store, sql: str) -> None:
    await bot_store.audit(None, "esx01", "aio-bot", "output", {}, now=T0)
    with psycopg.connect(roles.bot_url) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege):
        conn.execute(sql)
    assert (await bot_store.verify_audit()).ok


async def test_the_bot_role_cannot_migrate(pg_server: PgServer, roles: Roles) -> None:
    """A database behind this aio-bot: the bot's role sees it and may not migrate it."""
    owner = open_store(roles.owner_url)
    assert isinstance(owner, SqlStore)
    await owner._runner.run(lambda tx: migrations.apply(tx, "postgres", upto=LATEST - 1))
    await owner.close()
    role = _role_of(roles.bot_url)
    with psycopg.connect(roles.owner_url, autocommit=True) as conn:
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    store = open_store(roles.bot_url)
    try:
        status = await store.schema_status()
        assert (status.current, status.behind) == (LATEST - 1, True)
        with pytest.raises(StoreError, match=r"may not change the schema .*run `aio-bot "
                           r"migrate` as the role that owns the tables") as caught:
            await store.migrate()
        assert "\n" not in str(caught.value) and "pw-" not in str(caught.value)
    finally:
        await store.close()


async def test_every_table_has_its_grants(bot_store: Store, roles: Roles) -> None:
    with psycopg.connect(roles.owner_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert tables == set(TABLE_PRIVILEGES)


def test_the_docs_show_the_grants() -> None:
    blocks = re.findall(r"```sql\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    shown = [b for b in blocks if "GRANT" in b]
    assert len(shown) == 1
    assert shown[0].strip() == ";\n".join(grant_statements("aiobot")) + ";"


@pytest.mark.parametrize("bad", ["AioBot", "bot; DROP TABLE audit", "", "1bot", "a-b"])
def test_grant_statements_take_plain_names_only(bad: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        grant_statements(bad)
