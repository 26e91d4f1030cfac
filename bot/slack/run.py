"""`aio-bot serve` (HTTP) and `aio-bot socket` (Socket Mode): tokens from the environment,
the demo fleet or the configured inventory, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import gc
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

from bot import messages
from bot.config import SlackAccess, demo_remediation, load_config, ssh_password
from bot.errors import ConfigError
from bot.esx.collect import scan_concurrency
from bot.esx.ssh import SshSettings, SshTransport
from bot.history.settings import HistorySettings
from bot.remediation.setup import open_remediation, pyvmomi_vcenter
from bot.slack.app import build_app
from bot.slack.client import api_url, slack_client
from bot.slack.fleet import FleetProcess
from bot.slack.history_jobs import describe, start_history, wanted
from bot.slack.runtime import Runtime
from bot.slack.server import EVENTS_PATH, start_site, web_app
from bot.store import open_store, store_url
from bot.threads import default_workers, started_pool
from commands.catalog import build_registry

HTTP_NEEDS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
SOCKET_NEEDS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
# SSH sessions at once against the demo fleet: on a 2-core machine more worker threads only
# take the GIL from the event loop (bench/ack.py: p99 ack 50 ms at 8, 225-315 ms at 32).
DEMO_SSH_PARALLEL = 8


@dataclass(frozen=True)
class Options:
    demo: bool = False
    demo_hosts: int = 0
    host: str = "0.0.0.0"
    port: int = 3000
    scan_every: float | None = None  # demo: background scans every N seconds (off if None)
    incident_channel: str | None = None  # demo: where alerts go (else AIO_BOT_INCIDENT_CHANNEL)


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


def _freeze_startup_objects() -> None:
    """Move what start-up built (modules, the app, the inventory) out of the cyclic GC's
    reach, so its full collections, which pause the event loop, stay short. Measured with
    bench/load.py (1,008 hosts, bursts of 100 slash commands during a scan): a full collection
    in a burst pushed every ack past 120 ms; with the start-up objects frozen p99 stays under
    the 100 ms budget."""
    gc.collect()
    gc.freeze()


async def serve(opts: Options) -> int:
    secrets = require_env(HTTP_NEEDS)
    async with (runtime_for(opts) as runtime,
                slack_client(secrets["SLACK_BOT_TOKEN"], api_url()) as client):
        app = build_app(client=client, signing_secret=secrets["SLACK_SIGNING_SECRET"],
                        registry=build_registry(), runtime=runtime)
        runtime.start_sweeper()
        history = _start_history(runtime, client)
        runner = await start_site(web_app(runtime, app), opts.host, opts.port)
        _start_worker_threads()
        _freeze_startup_objects()
        try:
            _say(f"serving {len(runtime.inventory)} host(s) on "
                 f"http://{_where(runner, opts.host)}{EVENTS_PATH}")
            if history:
                _say(history)
            await _until_stopped()
        finally:
            await runner.cleanup()
    return 0


async def socket(opts: Options) -> int:
    secrets = require_env(SOCKET_NEEDS)
    async with (runtime_for(opts) as runtime,
                slack_client(secrets["SLACK_BOT_TOKEN"], api_url()) as client):
        app = build_app(client=client, signing_secret=os.environ.get("SLACK_SIGNING_SECRET", ""),
                        registry=build_registry(), runtime=runtime)
        handler = AsyncSocketModeHandler(app, secrets["SLACK_APP_TOKEN"])  # inside the loop
        runtime.start_sweeper()
        history = _start_history(runtime, client)
        runner = await start_site(web_app(runtime, None), opts.host, opts.port)
        try:
            await handler.connect_async()  # type: ignore[no-untyped-call]
            _start_worker_threads()
            _freeze_startup_objects()
            _say(f"connected over Socket Mode with {len(runtime.inventory)} host(s); "
                 f"health on http://{_where(runner, opts.host)}/healthz")
            if history:
                _say(history)
            await _until_stopped()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            await runner.cleanup()
    return 0


@asynccontextmanager
async def runtime_for(opts: Options) -> AsyncIterator[Runtime]:
    """The demo fleet (`--demo`) or the configured inventory, closed at the end."""
    if opts.demo:
        async with _demo_runtime(opts) as runtime:
            yield runtime
        return
    config = load_config()
    transport = SshTransport(SshSettings(
        known_hosts=config.ssh.known_hosts, password=ssh_password(),
        key_file=config.ssh.key_file, connect_timeout=config.ssh.connect_timeout,
        command_timeout=config.ssh.command_timeout, max_parallel=config.ssh.max_parallel))
    runtime = Runtime(config.inventory, transport, config.thresholds, config.slack,
                      concurrency=scan_concurrency(config.ssh.max_parallel),
                      history=config.history)
    if config.vcenter is not None:
        runtime.vcenter = pyvmomi_vcenter(config.vcenter)
        runtime.sweep_interval = config.remediation.sweep_seconds
        runtime.remediation = await open_remediation(
            store_url(), runtime.vcenter, config.inventory, transport,
            approvers=config.slack.approvers, thresholds=config.thresholds,
            settings=config.remediation)
    elif wanted(config.history):  # the history needs a store even without remediation
        runtime.store = open_store(store_url())
        await runtime.store.migrate()
    try:
        yield runtime
    finally:
        await _close(runtime)
        await transport.close()


@asynccontextmanager
async def _demo_runtime(opts: Options) -> AsyncIterator[Runtime]:
    """The demo fleet (in a child process, or shared through `AIO_DEMO_FLEET`), its vCenter
    stand-in, a store (`AIO_BOT_DB`, else a temporary SQLite file) and the approvers in
    `AIO_BOT_APPROVERS` (comma-separated Slack user IDs). Background scans only with
    `--scan-every SECONDS`; alerts go to `--incident-channel` or `AIO_BOT_INCIDENT_CHANNEL`."""
    parallel = int(os.environ.get("AIO_DEMO_SSH_PARALLEL") or DEMO_SSH_PARALLEL)
    manifest = os.environ.get("AIO_DEMO_FLEET")
    approvers = tuple(a.strip() for a in os.environ.get("AIO_BOT_APPROVERS", "").split(",")
                      if a.strip())
    with tempfile.TemporaryDirectory(prefix="aio-bot-serve-") as tmp:
        url = os.environ.get("AIO_BOT_DB") or str(Path(tmp) / "aio-bot.db")
        async with FleetProcess(opts.demo_hosts, parallel,
                                Path(manifest) if manifest else None) as fleet:
            assert fleet.transport is not None and fleet.vcenter is not None
            incident = (opts.incident_channel
                        or os.environ.get("AIO_BOT_INCIDENT_CHANNEL", "").strip() or None)
            history = HistorySettings(scan_interval=timedelta(seconds=opts.scan_every)
                                      if opts.scan_every else None)
            runtime = Runtime(fleet.inventory, fleet.transport, vcenter=fleet.vcenter,
                              access=SlackAccess(approvers=approvers,
                                                 incident_channel=incident),
                              history=history, concurrency=scan_concurrency(parallel))
            settings = demo_remediation()
            runtime.sweep_interval = settings.sweep_seconds
            runtime.remediation = await open_remediation(
                url, fleet.vcenter, fleet.inventory, fleet.transport, approvers=approvers,
                thresholds=runtime.thresholds, settings=settings, poll_interval=0.5)
            try:
                yield runtime
            finally:
                await _close(runtime)


def _start_history(runtime: Runtime, client: AsyncWebClient) -> str | None:
    """Start the scheduler of background scans and digests when configured (off in the demo
    unless `--scan-every` is given); the line to print about it."""
    if start_history(runtime, client) is None:
        return None
    where = runtime.access.incident_channel or "no incident channel: alerts not posted"
    return f"history: {describe(runtime.history)} (alerts: {where})"


async def _close(runtime: Runtime) -> None:
    await runtime.close()
    if runtime.store is not None:
        await runtime.store.close()
    if runtime.remediation is not None:
        await runtime.remediation.store.close()
    if runtime.vcenter is not None:
        await runtime.vcenter.close()


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
