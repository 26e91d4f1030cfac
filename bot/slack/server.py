"""`aio-bot serve`: the app over HTTP. POST /slack/events (signed by Slack, answered at ack),
GET /healthz, GET /metrics (Prometheus text)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.slack.runtime import Runtime

EVENTS_PATH = "/slack/events"
MAX_BODY = 1 << 20
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def web_app(runtime: Runtime, app: AsyncApp | None) -> web.Application:
    """The routes; without a Bolt app (Socket Mode) only /healthz and /metrics."""
    web_application = web.Application(client_max_size=MAX_BODY)
    if app is not None:
        web_application.router.add_post(EVENTS_PATH, _events(app, runtime))
    web_application.router.add_get("/healthz", _healthz(runtime))
    web_application.router.add_get("/metrics", _metrics(runtime))
    return web_application


def _events(app: AsyncApp, runtime: Runtime) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        response = await to_aiohttp_response(bolt_response)
        runtime.metrics.ack.observe(time.perf_counter() - started)
        return response

    return handle


def _healthz(runtime: Runtime) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "ok", "hosts": len(runtime.inventory)})

    return handle


def _metrics(runtime: Runtime) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(body=runtime.metrics.render().encode(),
                            headers={"Content-Type": PROMETHEUS_TYPE})

    return handle


async def start_site(application: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `application`; the caller cleans the runner up. Port 0 picks a free port."""
    runner = web.AppRunner(application, shutdown_timeout=5.0, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
