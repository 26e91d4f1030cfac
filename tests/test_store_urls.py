"""Store URLs: which backend, and a password never shown (repr, logs, errors)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.store import StoreError, mask_url, open_store, store_url
from bot.store.dburl import parse_url
from tests.pg_helpers import PASSWORD, PgServer

SECRET = "Zq9-very-secret"


@pytest.mark.parametrize(("url", "backend", "target"), [
    ("aio-bot.db", "sqlite", "aio-bot.db"),
    ("/var/lib/aio-bot/aio.db", "sqlite", "/var/lib/aio-bot/aio.db"),
    ("sqlite:///rel/aio.db", "sqlite", "rel/aio.db"),
    ("sqlite:////abs/aio.db", "sqlite", "/abs/aio.db"),
    ("postgresql://u:p@db:5432/aio", "postgres", "postgresql://u:p@db:5432/aio"),
    ("postgres://db/aio", "postgres", "postgres://db/aio"),
])
def test_parse_url(url: str, backend: str, target: str) -> None:
    parsed = parse_url(url)
    assert (parsed.backend, parsed.target) == (backend, target)


@pytest.mark.parametrize("url", ["", "  ", "mysql://u:pw@db/x", "sqlite://"])
def test_bad_urls_are_refused_masked(url: str) -> None:
    with pytest.raises(StoreError) as err:
        open_store(url)
    assert "pw" not in str(err.value)


def test_store_url_from_env() -> None:
    assert store_url({}) == "aio-bot.db"
    assert store_url({"AIO_BOT_DB": " postgresql://x/y "}) == "postgresql://x/y"


@pytest.mark.parametrize(("url", "masked"), [
    (f"postgresql://aio:{SECRET}@db:5432/aio", "postgresql://aio:***@db:5432/aio"),
    (f"postgresql://db/aio?password={SECRET}&sslmode=require",
     "postgresql://db/aio?password=***&sslmode=require"),
    (f"host=db password='{SECRET}' dbname=aio", "host=db password=*** dbname=aio"),
    ("postgresql://aio@db/aio", "postgresql://aio@db/aio"),
    ("aio-bot.db", "aio-bot.db"),
])
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


async def test_unreachable_postgres_error_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = open_store(f"postgresql://aio:{SECRET}@127.0.0.1:1/aio")
    assert SECRET not in repr(store)
    with pytest.raises(StoreError) as err:
        await store.migrate()
    await store.close()
    shown = f"{err.value}\n{err.value!r}\n{caplog.text}"
    assert SECRET not in shown and "***" in str(err.value)
    assert SECRET not in str(err.value.__cause__)


async def test_wrong_password_error_is_masked(pg_server: PgServer,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = open_store(pg_server.url(password=SECRET))
    with pytest.raises(StoreError, match="password authentication failed") as err:
        await store.migrate()
    await store.close()
    assert SECRET not in f"{err.value}\n{err.value!r}\n{caplog.text}"


async def test_logs_never_show_the_password(pg_server: PgServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = open_store(pg_server.fresh_database())
    await store.migrate()
    assert PASSWORD not in repr(store)
    await store.close()
    assert "aio:***@" in caplog.text and PASSWORD not in caplog.text


async def test_unopenable_sqlite_file(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "missing-dir" / "aio.db"))
    with pytest.raises(StoreError, match="sqlite store"):
        await store.migrate()
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get(1)


async def test_postgres_reconnects_after_connection_loss(
        pg_server: PgServer, caplog: pytest.LogCaptureFixture) -> None:
    store = open_store(pg_server.fresh_database())
    await store.migrate()
    with pg_server.admin() as admin:  # what a server restart or an idle timeout does
        killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = 'aio-bot'").fetchall()
    assert killed == [(True,)]
    assert await store.get(1) is None  # reconnected transparently, nothing lost
    assert "was lost; reconnecting" in caplog.text and PASSWORD not in caplog.text
    assert await store.migrate() > 0
    await store.close()
