"""The bot's Prometheus metrics (prometheus-client): Slack and SSH counters, process and build
info (`bot.metrics.core.Metrics`), every host's latest figures read from the store
(`bot.metrics.hosts.HostGauges`), and their configuration (`bot.metrics.settings`).
Front-end neutral: the Slack app, the scheduler and the HTTP routes feed and serve the same
object. Nothing is imported here, so that reading the configuration stays light."""
