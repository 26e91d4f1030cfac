"""The Slack front end's metrics are the bot's (`bot.metrics`): kept importable from here."""

from bot.metrics.core import ACK_BUCKETS, PROMETHEUS_TYPE, SCAN_BUCKETS, Metrics

__all__ = ["ACK_BUCKETS", "PROMETHEUS_TYPE", "SCAN_BUCKETS", "Metrics"]
