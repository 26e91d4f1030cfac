"""The scheduled work, as jobs for `bot.history.schedule.Scheduler`.

The engine part of each job is here; what to do with the results (post alert messages,
upload the digest) is the front end's callback:

```python
jobs = history_jobs(settings, store,
                    scan=lambda at: scan_and_alert(store, transport, inventory, thresholds, at,
                                                   policy=settings.alert_policy),  # + post
                    digest=lambda at: ...build_summary(...) and upload...)
await Scheduler(store, jobs).run(stop=stop_event)
```"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from bot.assess import Thresholds
from bot.esx.collect import scan_hosts
from bot.esx.transport import Transport
from bot.history.alerts import AlertDecision, AlertPolicy, process_scan
from bot.history.schedule import Cron, Every, Job
from bot.history.settings import HistorySettings
from bot.history.snapshot import retention_cutoff
from bot.inventory import HostEntry
from bot.store.api import Store

PRUNE_EVERY = timedelta(hours=1)


async def scan_and_alert(store: Store, transport: Transport, hosts: Sequence[HostEntry],
                         thresholds: Thresholds, now: datetime, *, concurrency: int = 32,
                         policy: AlertPolicy | None = None) -> list[AlertDecision]:
    """One background scan: collect every host, store the snapshots, decide the alerts."""
    outcomes = await scan_hosts(transport, hosts, concurrency=concurrency, now=now)
    return await process_scan(store, outcomes, thresholds, now, policy=policy)


def history_jobs(settings: HistorySettings, store: Store, *,
                 scan: Callable[[datetime], Awaitable[object]] | None = None,
                 digest: Callable[[datetime], Awaitable[object]] | None = None) -> list[Job]:
    """`scan` every `scan_interval` (when set), `digest` on `digest_cron` (when set), and the
    hourly retention prune."""
    jobs: list[Job] = []
    if scan is not None and settings.scan_interval is not None:
        jobs.append(Job("scan", Every(settings.scan_interval), scan))
    if digest is not None and settings.digest_cron:
        jobs.append(Job("digest", Cron.parse(settings.digest_cron), digest))

    async def prune(at: datetime) -> int:
        return await store.prune_snapshots(retention_cutoff(at, settings.retention))

    jobs.append(Job("prune", Every(PRUNE_EVERY), prune))
    return jobs
