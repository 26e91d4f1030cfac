"""`aio-bot serve` (HTTP) and `aio-bot socket` (Socket Mode): tokens from the environment,
the demo fleet or the configured inventory, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import gc_policy, messages
from bot.config import SlackAccess, demo_remediation, load_config
from bot.demo import DEMO_POLL_SECONDS, demo_config
from bot.errors import ConfigError
from bot.history.settings import HistorySettings
from bot.proxy_env import proxy_for
from bot.services import Services, open_services
from bot.sim.fleet_process import FleetProcess
from bot.slack.app import build_app
from bot.slack.handlers.history_jobs import describe, start_history
from bot.slack.runtime import Runtime
from bot.slack.web.client import api_url, slack_client
from bot.slack.web.server import EVENTS_PATH, Handler, metrics_app, start_site, web_app
from bot.threads import default_workers, started_pool
from commands.catalog import build_registry

HTTP_NEEDS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
SOCKET_NEEDS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
# SSH sessions at once against the demo fleet: on a 2-core machine more worker threads only
# take the GIL from the event loop (bench/ack.py: p99 ack 50 ms at 8, 225-315 ms at 32).
DEMO_SSH_PARALLEL = 8
METRICS_OFF = -1


@dataclass(frozen=True)
class Options:
    demo: bool = False
    demo_hosts: int = 0
    host: str = "0.0.0.0"
    port: int = 3000
    scan_every: float | None = None  # demo: background scans every N seconds (off if None)
    incident_channel: str | None = None  # demo: where alerts go (else AIO_BOT_INCIDENT_CHANNEL)
    metrics_port: int | None = None  # None: [metrics] port; METRICS_OFF: no own listener


def require_env(names: tuple[str, ...], env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The named secrets, or a ConfigError (exit 2) naming the missing ones, never a value."""
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise ConfigError(messages.slack_missing_env(missing))
    return {n: env[n] for n in names}


def _start_worker_threads() -> None:
    """asyncio's default executor (store, vCenter, charts) with its threads already running
    (see bot.threads): none is started on the event loop in the middle of a burst."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(started_pool(default_workers(), "aio-worker"))


async def serve(opts: Options) -> int:
    secrets = require_env(HTTP_NEEDS)
    async with (runtime_for(opts) as runtime,
                slack_client(secrets["SLACK_BOT_TOKEN"], api_url()) as client):
        app = build_app(client=client, signing_secret=secrets["SLACK_SIGNING_SECRET"],
                        registry=build_registry(), runtime=runtime)
        await runtime.learn_home_team()
        runtime.start_sweeper()
        history = _start_history(runtime, client)
        runner = await start_site(
            web_app(runtime, app, signing_secret=secrets["SLACK_SIGNING_SECRET"],
                    metrics_token=runtime.services.config.metrics.token(),
                    alertmanager=_alertmanager(runtime, client)),
            opts.host, opts.port)
        metrics = await _metrics_site(runtime, opts)
        _start_worker_threads()
        try:
            with gc_policy.after_startup():
                _say(f"serving {len(runtime.inventory)} host(s) on "
                     f"http://{_where(runner, opts.host)}{EVENTS_PATH}")
                if history:
                    _say(history)
                _say_metrics(metrics, runtime, opts)
                await _until_stopped()
        finally:
            if metrics is not None:
                await metrics.cleanup()
            await runner.cleanup()
    return 0


async def socket(opts: Options) -> int:
    secrets = require_env(SOCKET_NEEDS)
    async with (runtime_for(opts) as runtime,
                slack_client(secrets["SLACK_BOT_TOKEN"], api_url()) as client):
        app = build_app(client=client, signing_secret=os.environ.get("SLACK_SIGNING_SECRET", ""),
                        registry=build_registry(), runtime=runtime)
        await runtime.learn_home_team()
        handler = AsyncSocketModeHandler(app, secrets["SLACK_APP_TOKEN"],  # inside the loop
                                         proxy=proxy_for(api_url()))
        handler.client.proxy = proxy_for(api_url())  # None: direct (slack_sdk ignores NO_PROXY)
        runtime.health.socket_connected = handler.client.is_connected
        runtime.start_sweeper()
        history = _start_history(runtime, client)
        runner = await start_site(
            web_app(runtime, None, metrics_token=runtime.services.config.metrics.token(),
                    alertmanager=_alertmanager(runtime, client)),
            opts.host, opts.port)
        metrics = await _metrics_site(runtime, opts)
        try:
            await handler.connect_async()  # type: ignore[no-untyped-call]
            _start_worker_threads()
            with gc_policy.after_startup():
                _say(f"connected over Socket Mode with {len(runtime.inventory)} host(s); "
                     f"health on http://{_where(runner, opts.host)}/healthz")
                if history:
                    _say(history)
                _say_metrics(metrics, runtime, opts)
                await _until_stopped()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            if metrics is not None:
                await metrics.cleanup()
            await runner.cleanup()
    return 0


async def _metrics_site(runtime: Runtime, opts: Options) -> web.AppRunner | None:
    """The metrics listener (`[metrics]`, `--metrics-port`), or None when it is off. The
    demo listens on `--host` and, unless told a port, a free one (printed), so that several
    demo replicas can run side by side."""
    config = runtime.services.config.metrics
    port = opts.metrics_port
    if port is None:
        port = 0 if opts.demo else config.port
    if not config.listen or port == METRICS_OFF:
        return None
    host = opts.host if opts.demo else config.host
    return await start_site(metrics_app(runtime, config.token()), host, port)


def _say_metrics(metrics: web.AppRunner | None, runtime: Runtime, opts: Options) -> None:
    config = runtime.services.config.metrics
    if metrics is not None:
        host = opts.host if opts.demo else config.host
        _say(f"metrics on http://{_where(metrics, host)}/metrics")
    elif config.token() is not None:
        _say("metrics on the Slack port's /metrics, for requests with the bearer token "
             f"(${config.bearer_token_env})")
    else:
        _say("metrics off ([metrics] listen = false and no "
             f"${config.bearer_token_env})")


def _alertmanager(runtime: Runtime, client: AsyncWebClient) -> Handler | None:
    """POST /alertmanager when its bearer token is set in the environment."""
    from bot.slack.handlers.alertmanager import webhook

    config = runtime.services.config.alertmanager
    token = config.token()
    return None if token is None else webhook(runtime, build_registry(), client, token,
                                              config.identity)


@asynccontextmanager
async def runtime_for(opts: Options, env: Mapping[str, str] = os.environ
                      ) -> AsyncIterator[Runtime]:
    """The bot's services (`bot.services.open_services`) on the configured inventory, or on
    the demo fleet with `--demo`, behind the Slack front end's runtime; closed at the end."""
    async with (_demo_services(opts, env) if opts.demo
                else open_services(load_config(env=env), env, ssh_workers=True)) as services:
        runtime = Runtime(services)
        try:
            yield runtime
        finally:
            await runtime.close()


@asynccontextmanager
async def _demo_services(opts: Options, env: Mapping[str, str]) -> AsyncIterator[Services]:
    """The demo fleet (in a child process, or shared through `AIO_DEMO_FLEET`), its vCenter
    stand-in, a store (`AIO_BOT_DB`, else a temporary SQLite file) and the approvers in
    `AIO_BOT_APPROVERS` (comma-separated Slack user IDs or user group IDs). Background scans
    only with `--scan-every SECONDS`; alerts go to `--incident-channel` or
    `AIO_BOT_INCIDENT_CHANNEL`."""
    parallel = int(env.get("AIO_DEMO_SSH_PARALLEL") or DEMO_SSH_PARALLEL)
    manifest = env.get("AIO_DEMO_FLEET")
    approvers = tuple(a.strip() for a in env.get("AIO_BOT_APPROVERS", "").split(",")
                      if a.strip())
    incident = opts.incident_channel or env.get("AIO_BOT_INCIDENT_CHANNEL", "").strip() or None
    history = HistorySettings(scan_interval=timedelta(seconds=opts.scan_every)
                              if opts.scan_every else None)
    config = demo_config(approvers, access=SlackAccess(approvers=approvers,
                                                       incident_channel=incident),
                         remediation=demo_remediation(env), history=history)
    with tempfile.TemporaryDirectory(prefix="aio-bot-serve-") as tmp:
        url = env.get("AIO_BOT_DB") or str(Path(tmp) / "aio-bot.db")
        async with (FleetProcess(opts.demo_hosts, parallel,
                                 Path(manifest) if manifest else None) as fleet,
                    open_services(config, env, fleet=fleet.source, store_url=url,
                                  poll_interval=DEMO_POLL_SECONDS, migrate=True,
                                  ssh_workers=True) as services):
            yield services


def _start_history(runtime: Runtime, client: AsyncWebClient) -> str | None:
    """Start the scheduler of background scans and digests when configured (off in the demo
    unless `--scan-every` is given); the line to print about it."""
    if start_history(runtime, client) is None:
        return None
    where = runtime.access.incident_channel or "no incident channel: alerts not posted"
    return f"history: {describe(runtime.history)} (alerts: {where})"


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _where(runner: web.AppRunner, host: str) -> str:
    port = runner.addresses[0][1] if runner.addresses else 0
    return f"{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def _say(line: str) -> None:
    print(f"aio-bot: {line}", file=sys.stdout, flush=True)
