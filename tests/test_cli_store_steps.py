"""The store's explicit steps from the CLI: `aio-bot migrate` (the bot does not change a
PostgreSQL schema by itself), `aio-bot audit verify` (the hash chain, tampered with by raw
SQL), on SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from bot.cli import main
from bot.config import Config
from bot.inventory import Inventory
from bot.services import open_services
from bot.store.dburl import StoreError, parse_url
from tests.test_store_audit_chain import tamper

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_migrate_then_serve_then_verify(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"AIO_BOT_DB": db_url}
    monkeypatch.setenv("AIO_BOT_DB", db_url)
    postgres = parse_url(db_url).backend == "postgres"
    if postgres:  # an empty database: the bot will not create tables there by itself
        with pytest.raises(StoreError, match="aio-bot migrate"):
            async with open_services(Config(Inventory([])), env):
                pass
    assert await _main(["migrate", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema_version"] >= 5
    async with open_services(Config(Inventory([])), env) as services:
        assert services.store is not None
        for n in range(3):
            await services.store.audit(None, "host01", "U0ALICE", "note", {"n": n}, now=NOW)
    assert await _main(["audit", "verify"]) == 0
    assert "Audit chain OK: 3 rows" in capsys.readouterr().out

    await asyncio.to_thread(tamper, db_url, ("UPDATE audit SET detail = ? WHERE id = ?",
                                             ('{"n": 99}', 2)))
    assert await _main(["audit", "verify", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["broken_id"] == 2


async def _main(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)
