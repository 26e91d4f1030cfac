"""The `[metrics]` and `[alertmanager]` configuration tables (read with `bot.settings_table`;
`bot.config` calls `metrics_settings` and `alertmanager_settings`).

```toml
[metrics]
port = 9464                          # its own listener for GET /metrics (and the probes)
host = "0.0.0.0"
listen = true                        # false: no own listener
bearer_token_env = "AIO_METRICS_TOKEN"  # when that variable is set, /metrics is also served
                                     # on the Slack port, to requests bearing the token (and
                                     # the own listener asks for it too)

[alertmanager]
bearer_token_env = "AIO_ALERTMANAGER_TOKEN"  # POST /alertmanager exists only when it is set
identity = "alertmanager"            # the service caller the gate sees (reads only)
```"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings_table import Table

DEFAULT_METRICS_PORT = 9464
METRICS_TOKEN_ENV = "AIO_METRICS_TOKEN"  # noqa: S105 (a variable name)
ALERTMANAGER_TOKEN_ENV = "AIO_ALERTMANAGER_TOKEN"  # noqa: S105 (a variable name)
MIN_TOKEN = 16  # characters: a shorter bearer token is refused as too guessable


@dataclass(frozen=True)
class MetricsConfig:
    port: int = DEFAULT_METRICS_PORT
    host: str = "0.0.0.0"
    listen: bool = True
    bearer_token_env: str = METRICS_TOKEN_ENV

    def token(self, env: Mapping[str, str] = os.environ) -> str | None:
        return _token(env, self.bearer_token_env)


@dataclass(frozen=True)
class AlertmanagerConfig:
    bearer_token_env: str = ALERTMANAGER_TOKEN_ENV
    identity: str = "alertmanager"

    def token(self, env: Mapping[str, str] = os.environ) -> str | None:
        return _token(env, self.bearer_token_env)


def _token(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value if len(value) >= MIN_TOKEN else None


def metrics_settings(t: Table) -> MetricsConfig:
    config = MetricsConfig(
        port=t.integer("port", DEFAULT_METRICS_PORT, low=0, high=65535),
        host=t.string("host", "0.0.0.0"),
        listen=t.boolean("listen", True),
        bearer_token_env=t.string("bearer_token_env", METRICS_TOKEN_ENV))
    t.finish()
    return config


def alertmanager_settings(t: Table) -> AlertmanagerConfig:
    config = AlertmanagerConfig(
        bearer_token_env=t.string("bearer_token_env", ALERTMANAGER_TOKEN_ENV),
        identity=t.string("identity", "alertmanager"))
    t.finish()
    if not config.identity.strip():
        t.problems.add(f"`{t.where}.identity` must not be empty.")
    return config
