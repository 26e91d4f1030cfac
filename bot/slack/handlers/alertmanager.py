"""POST /alertmanager: Prometheus Alertmanager's webhook (format version 4). For every host
named in the alerts' labels (`host`, `hostname`, `esxi_host`, or `instance` without its port)
that is in the inventory, `check <host>` runs as the configured service identity
(`Caller(user=[alertmanager] identity, front="alertmanager")`, which the gate lets READ only)
and its answer goes into the host's open incident thread, or the incident channel when the
host has none. The request is answered at once (202); the checks run after it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.gate import Caller
from bot.inventory import Inventory
from bot.slack.handlers.dispatch import Invocation, execute
from bot.slack.handlers.replies import Posted, ThreadReply
from bot.slack.runtime import Runtime
from bot.slack.views.common import Message
from bot.slack.web.server import bearer_ok, unauthorized
from commands.registry import Registry

log = logging.getLogger(__name__)
HOST_LABELS = ("host", "hostname", "esxi_host", "instance")
MAX_HOSTS = 20  # checks one webhook call may start
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class ServiceReply(ThreadReply):
    """Answers in a thread (or the channel); a service has no private view, so refusals
    and errors are posted there too, for the people reading the incident."""

    async def public(self, message: Message) -> Posted | None:
        return await self._post(message, self.thread_ts or None)

    async def private(self, message: Message) -> None:
        await self._post(message, self.thread_ts or None)


def hosts_named(payload: Any, inventory: Inventory) -> tuple[list[str], int]:
    """The inventory's names of the hosts the alerts name (first MAX_HOSTS, in order), and
    how many named hosts are not in the inventory."""
    alerts = payload.get("alerts") if isinstance(payload, dict) else None
    found: list[str] = []
    unknown = 0
    for alert in alerts if isinstance(alerts, list) else []:
        labels = alert.get("labels") if isinstance(alert, dict) else None
        for name in _names(labels if isinstance(labels, dict) else {}):
            entry = next((h for h in inventory if h.name.lower() == name.lower()), None)
            if entry is None:
                unknown += 1
            elif entry.name not in found:
                found.append(entry.name)
    return found[:MAX_HOSTS], unknown


def _names(labels: dict[str, Any]) -> Iterable[str]:
    for key in HOST_LABELS:
        value = labels.get(key)
        if isinstance(value, str) and value.strip():
            yield value.strip().rsplit(":", 1)[0] if key == "instance" else value.strip()
            return


def webhook(runtime: Runtime, registry: Registry, client: AsyncWebClient, token: str,
            identity: str) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if not bearer_ok(request, token):
            log.warning("refused POST /alertmanager from %s: no or wrong bearer token",
                        request.remote)
            return unauthorized()
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400, text="Bad request")
        hosts, unknown = hosts_named(payload, runtime.inventory)
        runtime.metrics.webhooks.labels(outcome="unknown_host").inc(unknown)
        runtime.metrics.webhooks.labels(outcome="checked").inc(len(hosts))
        for host in hosts:
            runtime.spawn(_check(runtime, registry, client, identity, host))
        return web.json_response({"status": "accepted", "hosts": hosts,
                                  "unknown_hosts": unknown}, status=202)

    return handle


async def _check(runtime: Runtime, registry: Registry, client: AsyncWebClient, identity: str,
                 host: str) -> None:
    """`check <host>` as the service, answered in the host's incident thread."""
    channel, thread = runtime.access.incident_channel, ""
    store = runtime.history_store
    if store is not None:
        try:
            alert = await store.active_alert(host)
        except Exception as err:
            log.warning("alertmanager: the incident of %s could not be read (%s)", host,
                        type(err).__name__)
            alert = None
        if alert is not None and alert.channel and alert.message_ts:
            channel, thread = alert.channel, alert.message_ts
    if channel is None:
        log.warning("alertmanager: no incident channel configured; `check %s` not run", host)
        return
    caller = Caller(identity, "alertmanager", channel)
    reply = ServiceReply(client, channel, identity, thread)
    await execute(Invocation(f"check {host}", caller, reply, verb="Alertmanager asked as"),
                  registry, runtime)
