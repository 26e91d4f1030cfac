"""Alert decisions to Slack: `open` posts one message in the incident channel and stores its
ts on the incident; `update` edits that message in place (never a new post); `resolve` marks
it resolved (buttons gone) and leaves a short note in its thread.

Silenced incidents (`bot.history.silence`): while snoozed an update edits nothing; an
escalation (warning → critical) of an incident nobody acknowledged is also said in the thread,
which notifies its followers; once acknowledged, changes only edit the message (no ping).
`refresh` shows an incident's message again after someone acknowledged or snoozed it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.assess import Risk
from bot.history.alerts import AlertDecision, AlertPolicy, current_decision
from bot.history.records import AlertRecord
from bot.history.silence import Silence
from bot.slack.handlers.replies import Posted, attach
from bot.slack.views.alert import alert_message, escalated_note, resolved_note, silenced_note
from bot.slack.views.common import Message
from bot.store.api import Store

log = logging.getLogger(__name__)
# chat.update errors after which an update is posted as a new message instead
GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found",
                  "is_archived", "not_in_channel"})


async def post_message(client: AsyncWebClient, channel: str, message: Message,
                       thread_ts: str | None = None) -> Posted:
    """chat.postMessage, then the attachment (if any) in the message's thread."""
    answer = await client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                           **message.body())
    posted = Posted(str(answer["channel"]), str(answer["ts"]))
    if message.attachment is not None:
        await attach(client, posted, message.attachment)
    return posted


@dataclass
class AlertPoster:
    client: AsyncWebClient
    store: Store
    channel: str | None  # the incident channel; None: incidents are stored, not posted
    _warned: bool = field(default=False, repr=False)

    async def deliver(self, decisions: Sequence[AlertDecision], now: datetime) -> int:
        """Post or edit one message per decision; how many Slack calls succeeded. A failure
        on one incident is logged and does not stop the others."""
        done = 0
        for decision in decisions:
            try:
                done += await self.apply(decision, now)
            except Exception:
                log.exception("could not %s the alert message of incident #%d (%s)",
                              decision.kind, decision.alert.id, decision.host)
        return done

    async def apply(self, decision: AlertDecision, now: datetime) -> int:
        alert = decision.alert
        silence = Silence.of(alert)
        if decision.kind == "update" and silence.snoozed(now):
            return 0  # snoozed: the message stays as it is until the snooze ends
        message = alert_message(decision, now)
        if alert.channel and alert.message_ts:
            where = Posted(alert.channel, alert.message_ts)
            if decision.kind == "open":  # another replica posted it already
                return 0
            try:
                await self.client.chat_update(channel=where.channel, ts=where.ts,
                                              **message.body())
            except SlackApiError as err:
                if err.response.get("error") not in GONE or decision.kind == "resolve":
                    raise
                log.warning("the message of incident #%d is gone (%s): posting a new one",
                            alert.id, err.response.get("error"))
                return await self._post(decision, message)
            if decision.kind == "resolve":
                await post_message(self.client, where.channel, resolved_note(decision, now),
                                   thread_ts=where.ts)
                return 2
            if _escalated(decision) and not silence.acknowledged:
                await post_message(self.client, where.channel, escalated_note(decision),
                                   thread_ts=where.ts)
                return 2
            return 1
        if decision.kind == "resolve":  # never posted (no channel then, or the post failed)
            return 0
        return await self._post(decision, message)

    async def refresh(self, alert: AlertRecord, now: datetime,
                      policy: AlertPolicy | None = None) -> bool:
        """Edit the incident's message to show `alert` as it is now (after an acknowledgement
        or a snooze); whether there was a message to edit."""
        if not (alert.channel and alert.message_ts):
            return False
        decision = await current_decision(self.store, alert, policy)
        if decision is None:
            return False
        await self.client.chat_update(channel=alert.channel, ts=alert.message_ts,
                                      **alert_message(decision, now).body())
        return True

    async def _post(self, decision: AlertDecision, message: Message) -> int:
        if self.channel is None:
            if not self._warned:
                log.warning("no incident channel configured (slack.incident_channel): alerts "
                            "are stored but not posted")
                self._warned = True
            return 0
        posted = await post_message(self.client, self.channel, message)
        await self.store.set_alert_message(decision.alert.id, posted.channel, posted.ts)
        return 1


def _escalated(decision: AlertDecision) -> bool:
    return decision.level is Risk.CRITICAL and any(c.startswith("level ")
                                                   for c in decision.changes)


async def show_silenced(client: AsyncWebClient, store: Store, alert: AlertRecord, text: str,
                        user: str, now: datetime, policy: AlertPolicy | None = None) -> bool:
    """After `acknowledge` or `snooze`: the incident's message shows who and until when, and
    its thread says it once. Whether the incident has a message."""
    poster = AlertPoster(client, store, None)
    if not await poster.refresh(alert, now, policy):
        return False
    assert alert.channel and alert.message_ts  # refresh edits only a posted message
    await post_message(client, alert.channel, silenced_note(text, user),
                       thread_ts=alert.message_ts)
    return True
