"""bot.threads: every worker runs before the first job, so none is started on the event loop."""

from __future__ import annotations

import threading

from bot.threads import default_workers, started_pool


def _named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_all_threads_run_before_the_first_job() -> None:
    pool = started_pool(6, "aio-test-pool")
    try:
        assert len(_named("aio-test-pool")) == 6
        results = [pool.submit(lambda n=n: n * n) for n in range(20)]
        assert [f.result(5) for f in results] == [n * n for n in range(20)]
        assert len(_named("aio-test-pool")) == 6  # no thread started on demand
    finally:
        pool.shutdown(wait=True)
    assert _named("aio-test-pool") == []


def test_default_size_is_asyncios() -> None:
    assert 5 <= default_workers() <= 32
