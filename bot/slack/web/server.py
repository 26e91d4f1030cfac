"""`aio-bot serve`: the app over HTTP. POST /slack/events (signed by Slack, answered at ack; a
slash command, whose ack is always an empty 200, as soon as its signature holds),
GET /healthz (liveness), GET /readyz (readiness), and, only with a bearer token, GET /metrics
(Prometheus text) and POST /alertmanager (Alertmanager's webhook). Metrics are normally served
on their own listener (`metrics_app`, `[metrics] port`), not on this public port.

A request to /slack/events is checked before anything parses it (`bot.slack.web.verify`): a
body too large is 413, a missing, malformed, stale or wrong signature 401, a signed body
that does not parse 400; each refusal is one warning line in the log, never a traceback."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.ack_first import acking, my_turn
from bot.health import as_json
from bot.loop import loop_name
from bot.metrics.core import PROMETHEUS_TYPE
from bot.slack.runtime import Runtime
from bot.slack.web.verify import Refused, check_body, check_headers, check_signature

EVENTS_PATH = "/slack/events"
MAX_BODY = 1 << 20
# the HTTP layer's bounds (a request past them is a 400 before any handler runs)
MAX_LINE = MAX_FIELD = 8190  # bytes: the request line, one header
MAX_HEADERS = 64
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)


def web_app(runtime: Runtime, app: AsyncApp | None, *,
            signing_secret: str | None = None, metrics_token: str | None = None,
            alertmanager: Handler | None = None) -> web.Application:
    """The routes; without a Bolt app (Socket Mode) no /slack/events. Requests are verified
    with `signing_secret`, by default the one the Bolt app was built with. /metrics only with
    a `metrics_token` (bearer); /alertmanager only when given (it checks its own token)."""
    web_application = web.Application(client_max_size=MAX_BODY)
    if app is not None:
        secret = signing_secret if signing_secret is not None else _secret_of(app)
        web_application.router.add_post(EVENTS_PATH, _events(app, runtime, secret))
    _add_probes(web_application, runtime)
    if metrics_token is not None:
        web_application.router.add_get("/metrics", _metrics(runtime, metrics_token))
    if alertmanager is not None:
        web_application.router.add_post(ALERTMANAGER_PATH, alertmanager)
    return web_application


def metrics_app(runtime: Runtime, token: str | None = None) -> web.Application:
    """The metrics listener: GET /metrics (bearer `token` when given) and the probes."""
    application = web.Application(client_max_size=1024)
    application.router.add_get("/metrics", _metrics(runtime, token))
    _add_probes(application, runtime)
    return application


ALERTMANAGER_PATH = "/alertmanager"


def _add_probes(application: web.Application, runtime: Runtime) -> None:
    application.router.add_get("/healthz", _healthz(runtime))
    application.router.add_get("/readyz", _readyz(runtime))


def bearer_ok(request: web.Request, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def unauthorized() -> web.Response:
    return web.Response(status=401, text="Unauthorized",
                        headers={"WWW-Authenticate": 'Bearer realm="aio-bot"'})


def _secret_of(app: AsyncApp) -> str:
    secret = getattr(app, "_signing_secret", "")  # Bolt keeps no public accessor
    return secret if isinstance(secret, str) else ""


def _events(app: AsyncApp, runtime: Runtime, secret: str) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        with acking():  # replies being built wait until this request is answered
            return await _answer(request, app, runtime, secret)

    return handle


async def _answer(request: web.Request, app: AsyncApp, runtime: Runtime,
                  secret: str) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        text = await _checked_body(request, secret)
    except Refused as refused:
        log.warning("refused POST %s from %s: %d %s", EVENTS_PATH, request.remote,
                    refused.status, refused.reason)
        return web.Response(status=refused.status, text=_STATUS_TEXT[refused.status])
    query = request.query_string
    headers: dict[str, str | Sequence[str]] = dict(request.headers)
    if is_slash_command(text, request.content_type):
        # Its ack is an empty 200 whatever it asks: answered now, once its signature holds;
        # Bolt's request (which parses the body again) is built and run after the burst it
        # came in (bot.ack_first). Bolt's share of a slash command's ack was a fifth of it
        # in bench/ack.py's bursts of 100, and building its request another third of the rest.
        runtime.spawn(_dispatch_after_ack(app, text, query, headers))
        runtime.metrics.ack.observe(time.perf_counter() - started)
        return web.Response(status=200)
    bolt_request = AsyncBoltRequest(body=text, query=query, headers=headers)
    response = await to_aiohttp_response(await app.async_dispatch(bolt_request))
    runtime.metrics.ack.observe(time.perf_counter() - started)
    return response


MAX_FORM_FIELDS = 64


def is_slash_command(text: str, content_type: str | None) -> bool:
    """A form with a `command` field (and no interaction `payload`): a slash command.

    Only the field names are read (as `parse_qs` would decode them), not the values: this runs
    before every slash command's ack. A form of more than MAX_FORM_FIELDS fields is left to
    Bolt, which answers it itself."""
    if content_type != "application/x-www-form-urlencoded":
        return False
    fields = text.split("&", MAX_FORM_FIELDS)
    if len(fields) > MAX_FORM_FIELDS:
        return False
    names = {unquote_plus(field.partition("=")[0]) for field in fields}
    return "command" in names and "payload" not in names


async def _dispatch_after_ack(app: AsyncApp, body: str, query: str,
                              headers: dict[str, str | Sequence[str]]) -> None:
    await my_turn()
    request = AsyncBoltRequest(body=body, query=query, headers=headers)
    response = await app.async_dispatch(request)
    if response.status != 200:
        log.warning("Bolt refused a slash command after its ack: HTTP %d", response.status)


_STATUS_TEXT = {400: "Bad request", 401: "Unauthorized", 413: "Request too large"}


async def _checked_body(request: web.Request, secret: str) -> str:
    """The body, once signed by Slack and parseable; `Refused` otherwise."""
    check_headers(secret, request.headers)  # before reading a body
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, f"body larger than {MAX_BODY} bytes") from None
    check_signature(secret, request.headers, body)
    return check_body(body, request.content_type)


def _healthz(runtime: Runtime) -> Handler:
    """Liveness: answering at all shows the loop runs; 503 names a dead scheduler."""
    async def handle(request: web.Request) -> web.StreamResponse:
        body = as_json(runtime.health.live())
        body["hosts"] = len(runtime.inventory)
        body["event_loop"] = loop_name()
        return web.json_response(body, status=503 if body["failing"] else 200)

    return handle


def _readyz(runtime: Runtime) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        checks = await runtime.health.ready()
        failing = [c for c in checks if not c.ok]
        if failing:  # INFO: a probe asks every few seconds
            log.info("not ready: %s", "; ".join(f"{c.name}: {c.detail}" for c in failing))
        return web.json_response(as_json(checks), status=503 if failing else 200)

    return handle


def _metrics(runtime: Runtime, token: str | None) -> Handler:
    """The exposition, with every host's newest figures read from the store first (a store
    that fails leaves the last figures read, and is logged once per scrape)."""
    async def handle(request: web.Request) -> web.StreamResponse:
        if token is not None and not bearer_ok(request, token):
            return unauthorized()
        try:
            await runtime.metrics.hosts.refresh(runtime.history_store)
        except Exception as err:
            log.warning("metrics: the store's latest snapshots could not be read (%s)",
                        type(err).__name__)
        return web.Response(body=runtime.metrics.render().encode(),
                            headers={"Content-Type": PROMETHEUS_TYPE})

    return handle


class _OneLineParserErrors(logging.Filter):
    """aiohttp logs a request it cannot parse (a header past `MAX_FIELD`, junk instead of
    HTTP) with a traceback; that is the client's fault: one warning line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            why = (str(exc.message).splitlines() or [""])[0][:120]
            record.msg, record.args = "%s: %d %s", (record.getMessage(), exc.code, why)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_PARSER_FILTER = _OneLineParserErrors()


async def start_site(application: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `application`; the caller cleans the runner up. Port 0 picks a free port."""
    server_log = logging.getLogger("aiohttp.server")
    if _PARSER_FILTER not in server_log.filters:
        server_log.addFilter(_PARSER_FILTER)
    runner = web.AppRunner(application, shutdown_timeout=5.0, access_log=None,
                           max_line_size=MAX_LINE, max_field_size=MAX_FIELD,
                           max_headers=MAX_HEADERS)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
