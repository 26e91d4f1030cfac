"""The modals' listeners: open (from a `top` message's buttons, App Home or the global
shortcut), answer option searches, update the view as things are picked, and submit.

Nothing here bypasses the gate: the pickers ask it for READ as the user (checked against the
channel the modal was opened from; a shortcut's modal is private to its user, as a DM is)
before answering (`commands.choices`), and a submission becomes the command's words
(`migrate <vm> to <host>`, `power-off <vm> [hard]`, `fix <host>`) run as the submitter
through `dispatch.execute`, with the channel the proposal goes to as the caller's channel.
A refusal or a wrong choice comes back in the modal (`response_action: errors`); an error
after that replaces the modal's content, never a new message."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.errors import AioBotError
from bot.gate import Caller, Effect, Refused
from bot.slack.handlers.dispatch import Invocation, execute
from bot.slack.handlers.replies import Posted
from bot.slack.runtime import Runtime
from bot.slack.views.common import Message
from bot.slack.views.help import notice_message
from bot.slack.views.modals import (
    CHANNEL,
    HARD_OK,
    HOST,
    MODE,
    MOVE_VM,
    POWER_OFF,
    PROPOSE_FIX,
    TARGET,
    VM,
    Meta,
    done_view,
    fix_view,
    host_options,
    loading_view,
    message_view,
    move_vm_view,
    power_off_view,
    vm_options,
)
from bot.slack.web.dedupe import delivery_key
from commands import choices
from commands.registry import CommandUsageError, Registry

log = logging.getLogger(__name__)
Notify = Callable[[str], Awaitable[None]]  # tells the clicker privately (a refusal)


@dataclass
class ModalReply:
    """Where a submitted modal's command answers: the proposal in the chosen channel, and
    everything meant for the submitter in the modal itself."""

    client: AsyncWebClient
    channel: str
    view_id: str
    meta: Meta
    help_is_private: bool = True

    async def public(self, message: Message) -> Posted | None:
        answer = await self.client.chat_postMessage(channel=self.channel, **message.body())
        posted = Posted(str(answer["channel"]), str(answer["ts"]))
        await self._show(done_view(self.meta, f":white_check_mark: Posted in <#{posted.channel}>"
                                              ": an approver runs it with its Approve button."))
        return posted

    async def update(self, posted: Posted, message: Message) -> None:
        await self.client.chat_update(channel=posted.channel, ts=posted.ts, **message.body())

    async def private(self, message: Message) -> None:
        await self._show(message_view(self.meta, message))

    async def _show(self, view: dict[str, Any]) -> None:
        await self.client.views_update(view_id=self.view_id, view=view)


class Modals:
    def __init__(self, registry: Registry, runtime: Runtime) -> None:
        self.registry = registry
        self.runtime = runtime

    # --- opening ---------------------------------------------------------------------------

    async def open(self, client: AsyncWebClient, trigger_id: str, caller: Caller, meta: Meta,
                   notify: Notify) -> None:
        """Ask the gate, open a modal at once (a trigger lasts 3 s), then fill it in."""
        try:
            await self.runtime.learn_home_team()
            await self.runtime.gate.authorize(caller, Effect.READ)
        except Refused as err:
            await notify(str(err))
            return
        if meta.kind != MOVE_VM and self.runtime.remediation is None:
            await notify(messages.changes_not_set_up())
            return
        answer = await client.views_open(trigger_id=trigger_id,
                                         view=loading_view(meta, _reading(meta)))
        view = answer.get("view") or {}
        await self.fill(client, str(view.get("id", "")), caller, meta)

    async def shortcut(self, ack: AsyncAck, body: dict[str, Any],
                       client: AsyncWebClient) -> None:
        """The global shortcut: Move a VM, with the host and the VM to search."""
        await ack()
        caller = _person(body, None)
        meta = Meta(MOVE_VM, search=True)

        async def tell(text: str) -> None:  # a shortcut has no channel: a DM says it
            await client.chat_postMessage(channel=caller.user, **notice_message(text).body())

        self.runtime.spawn(self._guarded(self.open(client, str(body.get("trigger_id", "")),
                                                   caller, meta, tell)))

    # --- filling in ------------------------------------------------------------------------

    async def fill(self, client: AsyncWebClient, view_id: str, caller: Caller,
                   meta: Meta) -> None:
        """Read what the modal offers, as `caller`, and show it (or why not) in the modal."""
        await client.views_update(view_id=view_id, view=await self.view_for(caller, meta))

    async def view_for(self, caller: Caller, meta: Meta) -> dict[str, Any]:
        ctx = self.runtime.context(caller)
        try:
            if meta.kind == PROPOSE_FIX:
                plan = await choices.fix_preview(ctx, meta.host) if meta.host else None
                return fix_view(meta, plan)
            vms = await choices.vms_on(ctx, meta.host) if meta.host else None
            if meta.kind == POWER_OFF:
                return power_off_view(meta, vms)
            targets = await choices.targets_for(ctx, meta.vm) if meta.vm else None
            return move_vm_view(meta, vms, targets)
        except (AioBotError, Refused) as err:
            return _view_with_note(replace(meta, vm=None), str(err))
        except Exception:
            log.exception("could not fill the %s modal", meta.kind)
            return _view_with_note(replace(meta, vm=None, host=None),
                                   messages.slack_failed(meta.kind))

    async def picked(self, ack: AsyncAck, body: dict[str, Any],
                     client: AsyncWebClient) -> None:
        """A host or a VM picked in a modal: show what follows from it."""
        await ack()
        view = body.get("view") or {}
        meta = Meta.load(view.get("private_metadata"))
        action = (body.get("actions") or [{}])[0]
        value = str((action.get("selected_option") or {}).get("value", ""))
        if action.get("action_id") == HOST:
            meta = replace(meta, host=value or None, vm=None)
        else:
            meta = replace(meta, vm=value or None)
        caller = _person(body, meta.channel)
        self.runtime.spawn(self._guarded(self.fill(client, str(view.get("id", "")), caller,
                                                   meta)))

    async def options(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """A select searching the inventory: hosts, or VMs (the picked host's, heaviest
        first; else running VMs by name). Nothing for a caller the gate refuses."""
        meta = Meta.load((body.get("view") or {}).get("private_metadata"))
        caller = _person(body, meta.channel)
        query = str(body.get("value", ""))[:100]
        ctx = self.runtime.context(caller)
        found: list[dict[str, Any]] = []
        try:
            await self.runtime.learn_home_team()
            if body.get("action_id") == HOST:
                found = host_options(await choices.hosts_matching(ctx, query))
            elif meta.host:
                found = vm_options(await choices.vms_on(ctx, meta.host, query))
            else:
                found = vm_options(await choices.vms_matching(ctx, query))
        except (AioBotError, Refused) as err:
            log.info("no options for %s: %s", body.get("action_id"), err)
        except Exception:
            log.exception("options for %s failed", body.get("action_id"))
        await ack(options=found)

    # --- submitting ------------------------------------------------------------------------

    async def submit(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The modal's words, checked now (usage and the gate: errors in the modal), then run
        as the submitter; the modal shows the outcome."""
        view = body.get("view") or {}
        meta = Meta.load(view.get("private_metadata"))
        values = (view.get("state") or {}).get("values") or {}
        channel = _selected(values, CHANNEL, "selected_conversation") or meta.channel or ""
        words, problems = _words(meta, values)
        caller = _person(body, channel)
        if not problems:
            problems = await self._check(words, caller)
        if problems:
            await ack(response_action="errors", errors=problems)
            return
        done = replace(meta, channel=channel)
        await ack(response_action="update", view=loading_view(done, "Proposing…"))
        reply = ModalReply(client, channel, str(view.get("id", "")), done)
        inv = Invocation(words, caller, reply, delivery=delivery_key(body))
        self.runtime.spawn(execute(inv, self.registry, self.runtime))

    async def _check(self, words: str, caller: Caller) -> dict[str, str]:
        """What the gate and the words say before anything runs; {} when they may run."""
        if not caller.channel:
            return {CHANNEL: "Pick the channel the proposal goes to."}
        try:
            await self.runtime.learn_home_team()
            command, _ = self.registry.match(words)
            await self.runtime.gate.authorize(caller, command.effect)
        except Refused as err:
            return {CHANNEL: str(err)[:150]}
        except CommandUsageError as err:
            return {CHANNEL: err.problem[:150]}
        if self.runtime.remediation is None:
            return {CHANNEL: messages.changes_not_set_up()[:150]}
        return {}

    async def _guarded(self, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:
            log.exception("a modal could not be shown")


def _words(meta: Meta, values: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The command the modal stands for, or the problems to show on its fields."""
    if meta.kind == PROPOSE_FIX:
        host = meta.host or _selected(values, HOST, "selected_option")
        if not host:
            return "", {HOST: "Pick a host."}
        return f"fix {shlex.quote(host)}", {}
    vm = _selected(values, VM, "selected_option") or meta.vm
    if not vm:
        return "", {VM: "Pick a VM."}
    if meta.kind == POWER_OFF:
        hard = _selected(values, MODE, "selected_option") == "hard"
        ticked = (values.get(HARD_OK) or {}).get(HARD_OK, {}).get("selected_options") or []
        if hard and not ticked:
            return "", {HARD_OK: "Tick this to confirm a hard power-off."}
        return f"power-off {shlex.quote(vm)}" + (" hard" if hard else ""), {}
    target = _selected(values, TARGET, "selected_option")
    if not target:
        return "", {VM: "No host can take this VM; pick another."}
    return f"migrate {shlex.quote(vm)} to {shlex.quote(target)}", {}


def _selected(values: dict[str, Any], block: str, key: str) -> str | None:
    """An input's value from a view's state (`selected_option`'s value, or a string)."""
    state = (values.get(block) or {}).get(block) or {}
    value = state.get(key)
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) and value else None


def _person(body: dict[str, Any], channel: str | None) -> Caller:
    """Who is using the modal. With no channel (a shortcut's modal), a private surface like
    a direct message: reads are allowed where the gate allows them, changes are not."""
    user = body.get("user") or {}
    team = str(user.get("team_id") or (body.get("team") or {}).get("id") or "")
    direct = channel is None or channel.startswith("D")
    return Caller(str(user.get("id", "")), "slack", channel, team or None, direct)


def _reading(meta: Meta) -> str:
    if meta.kind == PROPOSE_FIX and meta.host:
        return f"Planning the fix for {meta.host}…"
    return f"Reading {meta.host}'s VMs…" if meta.host else "Opening…"


def _view_with_note(meta: Meta, note: str) -> dict[str, Any]:
    if meta.kind == PROPOSE_FIX:
        return fix_view(meta, None, note=note)
    if meta.kind == POWER_OFF:
        return power_off_view(meta, None, note=note)
    return move_vm_view(meta, None, None, note=note)
