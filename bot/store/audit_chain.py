"""The audit trail as a hash chain: each row carries `prev_hash` (the hash of the row before
it, by id) and `hash` = sha256 over a canonical JSON of its own fields and `prev_hash`. The
one-row table `audit_chain` holds the head (newest id, its hash, how many rows), so losing the
newest rows shows too.

Appends are serialised: SQLite's write transaction (`BEGIN IMMEDIATE`) already does it;
PostgreSQL locks the head row (`SELECT ... FOR UPDATE`) until commit, so two replicas still
build one chain. Take the head last in a transaction (after any request row), as every caller
here does, so that no two transactions wait for each other.

What it proves: a row changed, removed or moved by someone who did not also recompute every
hash after it and the head. Anyone with the owner's rights can recompute; record
`ChainReport.head` elsewhere now and then (a ticket, a Slack message) to pin the past.

Only our own constant SQL is formatted here; every value is a bound parameter."""
# ruff: noqa: S608

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store.conn import Tx
from bot.store.rows import AUDIT_COLUMNS, iso

GENESIS = "0" * 64  # the `prev_hash` of the first row
BATCH = 1000  # rows read per transaction by `verify`
_HEAD = "SELECT last_id, hash, rows FROM audit_chain WHERE id = 1"


def row_hash(prev: str, request_id: int | None, host: str | None, at: str, actor: str,
             event: str, detail: str) -> str:
    """sha256 over a canonical JSON of one row's fields (`at` as `rows.iso` text, `detail`
    as stored) and the previous row's hash."""
    body = json.dumps({"prev": prev, "request_id": request_id, "host": host, "at": at,
                       "actor": actor, "event": event, "detail": detail},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(body.encode("ascii")).hexdigest()


def append(tx: Tx, request_id: int | None, host: str | None, at: str, actor: str, event: str,
           detail: str, db_at: Any) -> tuple[Any, ...]:
    """Insert one chained audit row inside the caller's write transaction; the row as
    `AUDIT_COLUMNS`. `at` is the `rows.iso` text of the time, `db_at` the same time as the
    backend stores it."""
    lock = " FOR UPDATE" if tx.dialect.backend == "postgres" else ""
    head = tx.execute(_HEAD + lock).one()
    if head is None:
        raise RuntimeError("audit_chain has no head row: run `aio-bot migrate`")
    prev = str(head[1])
    digest = row_hash(prev, request_id, host, at, actor, event, detail)
    row = tx.execute(
        "INSERT INTO audit (request_id, host, at, actor, event, detail, prev_hash, hash)"
        f" VALUES (?,?,?,?,?,?,?,?) RETURNING {AUDIT_COLUMNS}",
        (request_id, host, db_at, actor, event, detail, prev, digest)).one()
    if row is None:
        raise RuntimeError("INSERT returned no row")
    tx.execute("UPDATE audit_chain SET last_id = ?, hash = ?, rows = rows + 1 WHERE id = 1",
               (int(row[0]), digest))
    return row


@dataclass(frozen=True)
class ChainReport:
    """The result of `verify`: `ok`, how many rows were checked, the hash of the newest
    (`head`: record it elsewhere to pin the past), and for a broken chain the first row
    found wrong (`broken_id`) and why (`reason`)."""

    ok: bool
    rows: int
    head: str = GENESIS
    broken_id: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"Audit chain OK: {self.rows} rows, head {self.head}."
        return f"Audit chain broken at row {self.broken_id}: {self.reason}."


# A row as `verify` reads it: id, request_id, host, at, actor, event, detail, prev_hash, hash
_ROW = "id, request_id, host, at, actor, event, detail, prev_hash, hash"
Head = tuple[int, str, int]  # newest id, its hash, row count
ReadHead = Callable[[], Head]
ReadBatch = Callable[[int], Sequence[tuple[Any, ...]]]


def read_head(tx: Tx) -> Head:
    """(newest id, its hash, row count) from the head row; (0, GENESIS, 0) when absent."""
    row = tx.execute(_HEAD).one()
    return (0, GENESIS, 0) if row is None else (int(row[0]), str(row[1]), int(row[2]))


def read_batch(tx: Tx, after: int) -> list[tuple[Any, ...]]:
    return tx.execute(f"SELECT {_ROW} FROM audit WHERE id > ? ORDER BY id LIMIT ?",
                      (after, BATCH)).all()


def verify(read_head: ReadHead, read: ReadBatch, at_text: Callable[[Any], str]) -> ChainReport:
    """Walk every row in id order (`read(after_id)` gives the next batch): each must match
    its hash and follow the one before; the head read before the walk must be on the way
    (else the newest rows were removed), and no row may lie beyond the head read after it
    (else it was written around the chain). Rows appended meanwhile chain on and pass."""
    first_head = read_head()
    prev, prev_id, count = GENESIS, 0, 0
    beyond: list[int] = []  # ids past the first head: appended meanwhile, or forged
    while True:
        batch = read(prev_id)
        for row in batch:
            id_ = int(row[0])
            broken = _check(row, prev, prev_id, at_text) or _past_head(first_head, prev_id,
                                                                        id_)
            if broken:
                return ChainReport(False, count, prev, id_, broken)
            prev, prev_id, count = str(row[8]), id_, count + 1
            if id_ == first_head[0] and (prev, count) != first_head[1:]:
                return ChainReport(False, count, prev, id_, _HEAD_MISMATCH)
            if id_ > first_head[0]:
                beyond.append(id_)
        if len(batch) < BATCH:
            break
    if prev_id < first_head[0]:
        return ChainReport(False, count, prev, first_head[0], _TAIL_GONE.format(*first_head))
    last_head = read_head()
    forged = [i for i in beyond if i > last_head[0]]
    if forged:
        return ChainReport(False, count, prev, forged[0], "it lies beyond the chain head: it "
                           "was written around the chain")
    return ChainReport(True, count, prev)


_HEAD_MISMATCH = "it is the chain head's row, but the head records another hash or row count"
_TAIL_GONE = ("the chain head records {2} rows ending at row {0}, which is missing: the "
              "newest rows were removed")


def _past_head(head: Head, prev_id: int, id_: int) -> str:
    """The walk stepped over the head's row (it was removed, later rows remain)."""
    if prev_id < head[0] < id_:
        return _TAIL_GONE.format(*head)
    return ""


def _check(row: tuple[Any, ...], prev: str, prev_id: int,
           at_text: Callable[[Any], str]) -> str:
    _, request_id, host, at, actor, event, detail, prev_hash, digest = row
    if digest is None or prev_hash is None:
        return "it has no chain hash (written around the chain)"
    if prev_hash != prev:
        if prev_id == 0:
            return "it does not start the chain: rows before it were removed"
        return (f"it does not follow row {prev_id}: a row between them was removed, the "
                f"rows were reordered, or row {prev_id} was rewritten")
    rid = None if request_id is None else int(request_id)
    if row_hash(prev_hash, rid, host, at_text(at), actor, event, detail) != digest:
        return "its contents do not match its hash: the row was changed"
    return ""


# ---- migration: seal the rows written before the chain --------------------------------------

def seal_existing(tx: Tx) -> None:
    """Fill `prev_hash`/`hash` of every existing row in id order and create the head row.
    Runs inside the migration's transaction, as the tables' owner (the append-only trigger
    is lifted for the duration)."""
    postgres = tx.dialect.backend == "postgres"
    at_text = at_text_for(tx.dialect.from_db)
    if postgres:
        tx.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_change")
    else:
        tx.execute("DROP TRIGGER audit_no_update")
    prev, last_id, count = GENESIS, 0, 0
    rows = tx.execute(f"SELECT {_ROW} FROM audit ORDER BY id").all()
    for id_, request_id, host, at, actor, event, detail, _, _ in rows:
        rid = None if request_id is None else int(request_id)
        digest = row_hash(prev, rid, host, at_text(at), actor, event, detail)
        tx.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, id_))
        prev, last_id, count = digest, int(id_), count + 1
    if postgres:
        tx.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_change")
    else:
        tx.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
                   "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END")
    tx.execute("INSERT INTO audit_chain (id, last_id, hash, rows) VALUES (1, ?, ?, ?)",
               (last_id, prev, count))


def at_text_for(from_db: Callable[[Any], Any]) -> Callable[[Any], str]:
    """How a stored `at` value becomes the text that was hashed."""
    return lambda value: iso(from_db(value))
