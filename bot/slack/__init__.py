"""The Slack front end: a Bolt AsyncApp (HTTP via aiohttp, or Socket Mode), Block Kit views,
and the small pieces Slack needs around them (retries, dedupe, metrics, access)."""
