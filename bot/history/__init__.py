"""Fleet history: snapshots per host per scan, forecasts, alert incidents, summaries with a
chart, the App Home glance, and the scheduler that drives scans and digests.

Engine code: no Slack, no front end. The package init imports nothing, so `bot.store.api`
can name the records in `bot.history.records` without an import cycle."""
