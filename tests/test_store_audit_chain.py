"""The audit trail's hash chain and the explicit migration step, on SQLite and on a real
PostgreSQL (fixtures in conftest.py): every tampering an intruder with SQL access can do
around the append-only triggers is found and named; two processes appending at once still
build one chain; rows written before the chain are sealed by the migration; the schema
version is read without migrating."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing as mp
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from bot.store import NewRequest, SchemaOutOfDate, State, Store, migrations, open_store
from bot.store.audit_chain import GENESIS, row_hash
from bot.store.dburl import Backend
from bot.store.migrations import LATEST
from bot.store.rows import iso
from bot.store.sql import SqlStore

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
SPAWN = mp.get_context("spawn")
APPENDS = 60  # per process


# ---- raw SQL, as an intruder who can lift the append-only triggers ---------------------------

def raw(url: str, *statements: tuple[str, Sequence[Any]] | str) -> list[tuple[Any, ...]]:
    """Run statements outside the store (`?` placeholders); the last one's rows."""
    pg = url.startswith("postgresql://")
    conn: Any = psycopg.connect(url) if pg else sqlite3.connect(url)
    rows: list[tuple[Any, ...]] = []
    try:
        for item in statements:
            sql, params = (item, ()) if isinstance(item, str) else item
            cur = conn.execute(sql.replace("?", "%s") if pg else sql, tuple(params))
            rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        conn.commit()
    finally:
        conn.close()
    return rows


def lift_triggers(url: str) -> list[str]:
    if url.startswith("postgresql://"):
        return ["ALTER TABLE audit DISABLE TRIGGER USER"]
    return ["DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"]


def tamper(url: str, *statements: tuple[str, Sequence[Any]] | str) -> None:
    raw(url, *lift_triggers(url), *statements)


async def _fill(store: Store, n: int = 3) -> list[int]:
    """`n` requests, each proposed, approved and given an output row: 3n audit rows."""
    ids = []
    for i in range(n):
        req = await store.create(NewRequest("reboot", f"esx{i}", f"esx{i}", {"i": i}, "U_A",
                                            T0 + timedelta(hours=1)), now=T0)
        await store.transition(req.id, State.PROPOSED, State.APPROVED, actor="U_B",
                               approved_by="U_B", now=T0 + timedelta(seconds=i))
        await store.audit(req.id, f"esx{i}", "aio-bot", "output", {"stdout": f"ok {i}"},
                          now=T0 + timedelta(seconds=i, microseconds=7))
        ids.append(req.id)
    return ids


async def _audit_ids(url: str) -> list[int]:
    return [int(r[0]) for r in raw(url, "SELECT id FROM audit ORDER BY id")]


# ---- the chain ---------------------------------------------------------------------------

async def test_an_untouched_chain_verifies(store: Store) -> None:
    report = await store.verify_audit()
    assert report.ok and report.rows == 0 and report.head == GENESIS
    await _fill(store)
    report = await store.verify_audit()
    assert report.ok and report.rows == 9, report
    assert report.describe() == f"Audit chain OK: 9 rows, head {report.head}."


async def test_each_row_hashes_its_fields_and_the_previous_hash(db_url: str,
                                                                store: Store) -> None:
    """The hash is reproducible from the row alone: sha256 of canonical JSON + prev."""
    await _fill(store, 1)
    rows = raw(db_url, "SELECT request_id, host, at, actor, event, detail, prev_hash, hash"
               " FROM audit ORDER BY id")
    prev = GENESIS
    for request_id, host, at, actor, event, detail, prev_hash, digest in rows:
        at_text = iso(at) if isinstance(at, datetime) else at
        assert prev_hash == prev
        assert digest == row_hash(prev, request_id, host, at_text, actor, event, detail)
        prev = digest


async def test_a_changed_detail_is_found(db_url: str, store: Store) -> None:
    await _fill(store)
    target = (await _audit_ids(db_url))[4]
    tamper(db_url, ("UPDATE audit SET detail = ? WHERE id = ?", ('{"stdout":"all fine"}',
                                                                 target)))
    report = await store.verify_audit()
    assert not report.ok and report.broken_id == target and report.rows == 4
    assert "contents do not match its hash" in report.reason
    assert report.describe().startswith(f"Audit chain broken at row {target}: ")


@pytest.mark.parametrize("column, value", [("actor", "U_MALLORY"), ("event", "rejected"),
                                           ("host", "esx9"), ("request_id", None)])
async def test_any_changed_field_is_found(db_url: str, store: Store, column: str,
                                          value: Any) -> None:
    await _fill(store)
    target = (await _audit_ids(db_url))[2]
    tamper(db_url, (f"UPDATE audit SET {column} = ? WHERE id = ?", (value, target)))
    report = await store.verify_audit()
    assert (report.ok, report.broken_id) == (False, target), report


async def test_a_changed_time_is_found(db_url: str, store: Store) -> None:
    await _fill(store)
    target = (await _audit_ids(db_url))[1]
    later = T0 + timedelta(days=1)
    value: Any = later if db_url.startswith("postgresql://") else iso(later)
    tamper(db_url, ("UPDATE audit SET at = ? WHERE id = ?", (value, target)))
    report = await store.verify_audit()
    assert (report.ok, report.broken_id) == (False, target), report


async def test_a_deleted_row_is_found(db_url: str, store: Store) -> None:
    await _fill(store)
    ids = await _audit_ids(db_url)
    tamper(db_url, ("DELETE FROM audit WHERE id = ?", (ids[3],)))
    report = await store.verify_audit()
    assert not report.ok and report.broken_id == ids[4]
    assert f"does not follow row {ids[2]}" in report.reason


async def test_a_deleted_first_row_is_found(db_url: str, store: Store) -> None:
    await _fill(store)
    ids = await _audit_ids(db_url)
    tamper(db_url, ("DELETE FROM audit WHERE id = ?", (ids[0],)))
    report = await store.verify_audit()
    assert (report.ok, report.broken_id) == (False, ids[1])
    assert "rows before it were removed" in report.reason


@pytest.mark.parametrize("removed", [1, 2])
async def test_deleted_newest_rows_are_found(db_url: str, store: Store, removed: int) -> None:
    await _fill(store)
    ids = await _audit_ids(db_url)
    tamper(db_url, ("DELETE FROM audit WHERE id >= ?", (ids[-removed],)))
    report = await store.verify_audit()
    assert (report.ok, report.broken_id) == (False, ids[-1]), report
    assert "newest rows were removed" in report.reason


async def test_reordered_rows_are_found(db_url: str, store: Store) -> None:
    """Two rows swap everything but their ids (hashes included)."""
    await _fill(store)
    ids = await _audit_ids(db_url)
    a, b = ids[2], ids[5]
    columns = ("request_id", "host", "at", "actor", "event", "detail", "prev_hash", "hash")
    select = f"SELECT {', '.join(columns)} FROM audit WHERE id = ?"
    row_a, row_b = raw(db_url, (select, (a,)))[0], raw(db_url, (select, (b,)))[0]
    update = f"UPDATE audit SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"
    tamper(db_url, (update, (*row_b, a)), (update, (*row_a, b)))
    report = await store.verify_audit()
    assert (report.ok, report.broken_id) == (False, a), report
    assert "reordered" in report.reason


async def test_a_rewritten_row_with_a_recomputed_hash_is_found(db_url: str,
                                                               store: Store) -> None:
    """The intruder recomputes the changed row's hash: the next row no longer follows it."""
    await _fill(store)
    ids = await _audit_ids(db_url)
    (request_id, host, at, actor, event, prev), = raw(db_url, (
        "SELECT request_id, host, at, actor, event, prev_hash FROM audit WHERE id = ?",
        (ids[4],)))
    at_text = iso(at) if isinstance(at, datetime) else at
    forged = '{"stdout":"nothing happened"}'
    digest = row_hash(prev, request_id, host, at_text, actor, event, forged)
    tamper(db_url, ("UPDATE audit SET detail = ?, hash = ? WHERE id = ?",
                    (forged, digest, ids[4])))
    report = await store.verify_audit()
    assert (report.ok, report.broken_id) == (False, ids[5]), report
    assert f"row {ids[4]} was rewritten" in report.reason


async def test_a_row_written_around_the_chain_is_found(db_url: str, store: Store) -> None:
    """Correct-looking hashes, but the head never moved: the row lies beyond it."""
    await _fill(store, 1)
    (head,) = raw(db_url, "SELECT hash FROM audit_chain")[0]
    at = T0 + timedelta(minutes=5)
    at_value: Any = at if db_url.startswith("postgresql://") else iso(at)
    digest = row_hash(head, None, "esx0", iso(at), "U_MALLORY", "approved", "{}")
    raw(db_url, ("INSERT INTO audit (request_id, host, at, actor, event, detail, prev_hash,"
                 " hash) VALUES (NULL, 'esx0', ?, 'U_MALLORY', 'approved', '{}', ?, ?)",
                 (at_value, head, digest)))
    report = await store.verify_audit()
    [forged] = (await _audit_ids(db_url))[3:]
    assert (report.ok, report.broken_id) == (False, forged), report
    assert "written around the chain" in report.reason


async def test_a_row_without_a_hash_is_refused(db_url: str, store: Store) -> None:
    await _fill(store, 1)
    errors = (sqlite3.IntegrityError, psycopg.errors.NotNullViolation)
    with pytest.raises(errors):
        raw(db_url, ("INSERT INTO audit (host, at, actor, event) VALUES ('esx0', ?, 'x', 'y')",
                     (T0 if db_url.startswith("postgresql://") else iso(T0),)))
    assert (await store.verify_audit()).ok


async def test_verify_reads_in_batches(db_url: str, store: Store,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.store.audit_chain.BATCH", 4)
    await _fill(store, 4)  # 12 rows: three batches
    assert (await store.verify_audit()).rows == 12
    ids = await _audit_ids(db_url)
    tamper(db_url, ("DELETE FROM audit WHERE id = ?", (ids[8],)))
    assert (await store.verify_audit()).broken_id == ids[9]


# ---- two processes appending at once ------------------------------------------------------

def _child(url: str, me: str, barrier: Any, out: Any) -> None:
    out.put((me, asyncio.run(_append_many(url, me, barrier))))


async def _append_many(url: str, me: str, barrier: Any) -> int:
    store = open_store(url)
    try:
        await store.get(1)  # connected before the start
        await asyncio.to_thread(barrier.wait, 30)
        for i in range(APPENDS):
            if i % 3 == 0:  # a request and its audit row in one transaction
                await store.create(NewRequest("reboot", me, me, {"i": i}, me,
                                              T0 + timedelta(hours=1)), now=T0)
            else:
                await store.audit(None, me, me, "output", {"i": i}, now=T0)
            # a breath between appends: a writer that takes SQLite's lock back at once can
            # keep the other out for the whole loop, and then nothing was concurrent
            await asyncio.sleep(0.003)
        return APPENDS
    finally:
        await store.close()


async def test_two_processes_appending_at_once_build_one_chain(db_url: str,
                                                               store: Store) -> None:
    await _fill(store, 1)
    barrier, out = SPAWN.Barrier(2), SPAWN.Queue()
    procs = [SPAWN.Process(target=_child, args=(db_url, me, barrier, out))
             for me in ("proc-a", "proc-b")]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert results == {"proc-a": APPENDS, "proc-b": APPENDS}
    report = await store.verify_audit()
    assert report.ok and report.rows == 3 + 2 * APPENDS, report
    actors = [r[0] for r in raw(db_url, "SELECT actor FROM audit ORDER BY id")[3:]]
    assert sum(a != b for a, b in itertools.pairwise(actors)) > 1  # interleaved


# ---- migration: rows written before the chain ---------------------------------------------

async def _store_at(url: str, version: int) -> SqlStore:
    store = open_store(url)
    assert isinstance(store, SqlStore)
    backend: Backend = "postgres" if url.startswith("postgresql://") else "sqlite"
    await store._runner.run(lambda tx: migrations.apply(tx, backend, upto=version))
    return store


async def test_the_migration_seals_existing_rows_in_order(db_url: str) -> None:
    old = await _store_at(db_url, 4)
    try:
        pg = db_url.startswith("postgresql://")
        at, override = (T0, " OVERRIDING SYSTEM VALUE") if pg else (iso(T0), "")
        for i in (1, 2, 4, 7):  # written by an aio-bot before the chain, ids with gaps
            raw(db_url, ("INSERT INTO audit (id, host, at, actor, event, detail)"
                         f"{override} VALUES (?, ?, ?, 'U_A', 'output', ?)",
                         (i, f"esx{i}", at, f'{{"i":{i}}}')))
        if pg:  # explicit ids leave the identity's sequence behind
            raw(db_url, "SELECT setval(pg_get_serial_sequence('audit', 'id'), 7)")
        status = await old.schema_status()
        assert (status.current, status.wanted, status.behind) == (4, LATEST, True)
        assert await old.migrate() == LATEST
        report = await old.verify_audit()
        assert report.ok and report.rows == 4, report
        await old.audit(None, "esx9", "U_A", "output", {}, now=T0)
        assert (await old.verify_audit()).rows == 5
        ids = await _audit_ids(db_url)
        tamper(db_url, ("UPDATE audit SET actor = 'U_X' WHERE id = ?", (ids[1],)))
        assert (await old.verify_audit()).broken_id == ids[1]
    finally:
        await old.close()


# ---- schema status: read, never migrate ---------------------------------------------------

async def test_schema_status_of_an_empty_database_changes_nothing(db_url: str) -> None:
    store = open_store(db_url)
    try:
        status = await store.schema_status()
        assert (status.current, status.wanted, status.behind, status.ok) == (0, LATEST, True,
                                                                             False)
        assert "run `aio-bot migrate`" in status.message()
        with pytest.raises(SchemaOutOfDate, match="run `aio-bot migrate`") as caught:
            await store.require_schema()
        assert caught.value.status == status and "\n" not in str(caught.value)
        assert (await store.schema_status()).current == 0  # still nothing there
        assert await store.migrate() == LATEST
        assert (await store.require_schema()).ok
        assert await store.migrate() == LATEST  # again: nothing to do
    finally:
        await store.close()
    if not db_url.startswith("postgresql://"):
        tables = raw(db_url, "SELECT name FROM sqlite_master WHERE type = 'table'")
        assert ("schema_version",) in tables


async def test_schema_status_behind_and_ahead(db_url: str) -> None:
    store = await _store_at(db_url, 3)
    try:
        with pytest.raises(SchemaOutOfDate, match=f"version 3, this aio-bot needs {LATEST}: "
                           "run `aio-bot migrate`"):
            await store.require_schema()
        await store.migrate()
        raw(db_url, ("INSERT INTO schema_version (version, name, applied_at) VALUES (?,?,?)",
                     (LATEST + 1, "from the future", "2030-01-01")))
        status = await store.schema_status()
        assert status.ahead and not status.behind
        with pytest.raises(SchemaOutOfDate, match="upgrade aio-bot"):
            await store.require_schema()
    finally:
        await store.close()


def test_an_empty_sqlite_file_is_not_created_into_a_schema(tmp_path: Any) -> None:
    path = tmp_path / "new.db"

    async def status() -> int:
        store = open_store(str(path))
        try:
            return (await store.schema_status()).current
        finally:
            await store.close()

    assert asyncio.run(status()) == 0
    assert raw(str(path), "SELECT name FROM sqlite_master") == []
