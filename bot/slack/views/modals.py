"""The modals: Move a VM, Power off a VM, Propose a fix. Pick, don't type: the host's VMs
heaviest first (or a search of the inventory), the hosts a VM can move to with their
projected usage, the plan before it is posted, and the channel the proposal goes to.

A modal only collects a choice: submitting it runs the command's words as the submitter
(`bot.slack.handlers.modals`). Every view is checked as Slack's `modal` surface before it is
sent (`check_view`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.remediation.plan import Plan
from bot.slack.limits import BlockLimitError, check_message
from bot.slack.views.common import Message, clip, esc
from bot.slack.views.plan import step_text
from commands.choices import Targets, VmChoice

MOVE_VM = "aio_move_vm"  # the modal's callback_id, and the global shortcut's
POWER_OFF = "aio_power_off"
PROPOSE_FIX = "aio_propose_fix"
KINDS = (MOVE_VM, POWER_OFF, PROPOSE_FIX)
TITLES = {MOVE_VM: "Move a VM", POWER_OFF: "Power off a VM", PROPOSE_FIX: "Propose a fix"}

# input blocks: block_id == action_id, so that one handler answers each of them
HOST = "modal_host"
VM = "modal_vm"
TARGET = "modal_target"
CHANNEL = "modal_channel"
MODE = "modal_mode"
HARD_OK = "modal_hard_ok"
PICKERS = (HOST, VM)  # picking one updates the view

VIEW_TEXT_LIMIT = 24  # title, submit, close
METADATA_LIMIT = 3000
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
SECTION_LIMIT = 3000
MAX_PLAN_STEPS = 40


@dataclass(frozen=True)
class Meta:
    """What a modal carries between Slack's requests (`private_metadata`): what is picked,
    and the channel it was opened from (the proposal's default, and the gate's)."""

    kind: str
    host: str | None = None
    vm: str | None = None
    channel: str | None = None
    search: bool = False  # opened by the shortcut: the host stays searchable

    def dump(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v is not None and v is not False}
        return json.dumps(data)

    @classmethod
    def load(cls, text: object) -> Meta:
        try:
            data = json.loads(text) if isinstance(text, str) and text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        kind = data.get("kind")

        def field(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) and value else None

        return cls(kind if kind in KINDS else MOVE_VM, field("host"), field("vm"),
                   field("channel"), data.get("search") is True)


# --- the views -------------------------------------------------------------------------------


def loading_view(meta: Meta, text: str) -> dict[str, Any]:
    """Shown at once (a trigger lasts 3 s), while the host or the plan is read."""
    return _view(meta, [_section(f":hourglass_flowing_sand: {esc(text)}")], submit=None)


def notice_view(meta: Meta, text: str, *, mark: str = ":warning:") -> dict[str, Any]:
    """A sentence in place of the form: an error after the submission, or the outcome."""
    return _view(meta, [_section(f"{mark} {esc(text)}")], submit=None, close="Close")


def done_view(meta: Meta, mrkdwn_text: str) -> dict[str, Any]:
    """The outcome, in mrkdwn the caller built (channel links stay links)."""
    return _view(meta, [_section(mrkdwn_text)], submit=None, close="Close")


def message_view(meta: Meta, message: Message) -> dict[str, Any]:
    """A message meant for the caller only (a refusal, an error), shown in the modal."""
    blocks = [b for b in message.blocks if b.get("type") in ("section", "context", "header")]
    return _view(meta, blocks or [_section(esc(message.text))], submit=None, close="Close")


def move_vm_view(meta: Meta, vms: Sequence[VmChoice] | None,
                 targets: Targets | None = None, *, note: str | None = None) -> dict[str, Any]:
    """Pick the VM (the host's, heaviest first; or search), then a target among the hosts
    that can take it, each with its projected usage, then the channel."""
    blocks = _vm_pickers(meta, vms, dispatch=True)
    if note:
        blocks.append(_context(f":warning: {esc(note)}"))
    if targets is not None:
        blocks += _targets(targets)
    blocks.append(_channel(meta))
    offered = targets is not None and bool(targets.choices)
    return _view(meta, blocks, submit="Propose" if offered else None, close="Cancel")


def power_off_view(meta: Meta, vms: Sequence[VmChoice] | None, *,
                   note: str | None = None) -> dict[str, Any]:
    """Pick the VM, guest shutdown or hard power-off (hard needs its own confirmation)."""
    blocks = _vm_pickers(meta, vms, dispatch=False)
    if note:
        blocks.append(_context(f":warning: {esc(note)}"))
    guest = _option("Shut the guest down (asks the guest OS)", "guest")
    hard = _option("Hard power-off (like pulling the plug)", "hard")
    blocks.append({"type": "input", "block_id": MODE, "label": _plain("How"),
                   "element": {"type": "radio_buttons", "action_id": MODE,
                               "options": [guest, hard], "initial_option": guest}})
    blocks.append({"type": "input", "block_id": HARD_OK, "optional": True,
                   "label": _plain("Hard power-off only"),
                   "hint": _plain("Unsaved work in the guest is lost; its disks may need a "
                                  "check. Required for a hard power-off."),
                   "element": {"type": "checkboxes", "action_id": HARD_OK, "options": [
                       _option("Yes, power it off without asking the guest", "yes")]}})
    blocks.append(_context("The proposal is posted in the channel; an approver runs it."))
    blocks.append(_channel(meta))
    return _view(meta, blocks, submit="Propose", close="Cancel")


def fix_view(meta: Meta, plan: Plan | None, *, note: str | None = None) -> dict[str, Any]:
    """The plan `fix <host>` would propose, shown before it is posted."""
    blocks: list[dict[str, Any]] = []
    if meta.host is None:
        blocks.append(_host_picker(meta))
    if note:
        blocks.append(_context(f":warning: {esc(note)}"))
    if plan is not None:
        blocks.append(_section(f"*{esc(plan.title)}*"))
        for i, step in enumerate(plan.steps[:MAX_PLAN_STEPS], 1):
            blocks.append(_section(clip(step_text(i, step), SECTION_LIMIT)))
        if len(plan.steps) > MAX_PLAN_STEPS:
            blocks.append(_context(f"…and {len(plan.steps) - MAX_PLAN_STEPS} more steps."))
        if plan.notes:
            blocks.append(_context(clip(esc(" ".join(plan.notes)), SECTION_LIMIT)))
    if plan is not None and plan.steps:
        blocks.append(_context("Posting plans it again with the hosts' numbers at that "
                               "moment; an approver runs it with a button."))
        blocks.append(_channel(meta))
    return _view(meta, blocks, submit="Post the proposal" if plan and plan.steps else None,
                 close="Cancel")


# --- option lists (answers to block_suggestion) ----------------------------------------------


def host_options(hosts: Sequence[str]) -> list[dict[str, Any]]:
    return [_option(h, h) for h in hosts if len(h) <= OPTION_VALUE_LIMIT]


def vm_options(vms: Sequence[VmChoice]) -> list[dict[str, Any]]:
    """`vdi-eng-016 · 1,234 handles on host01` (values are the names: they must fit)."""
    return [_option(_vm_label(v), v.name) for v in vms if len(v.name) <= OPTION_VALUE_LIMIT]


def options_problems(options: Sequence[dict[str, Any]]) -> list[str]:
    """What Slack would refuse in an `options` answer."""
    problems = [f"options: {len(options)}, limit 100"] if len(options) > 100 else []
    for i, o in enumerate(options):
        if len(o["text"]["text"]) > OPTION_TEXT_LIMIT:
            problems.append(f"options[{i}].text: over {OPTION_TEXT_LIMIT} chars")
        if len(o["value"]) > OPTION_VALUE_LIMIT:
            problems.append(f"options[{i}].value: over {OPTION_VALUE_LIMIT} chars")
    return problems


# --- checks ----------------------------------------------------------------------------------


def check_view(view: dict[str, Any]) -> list[str]:
    """Every reason Slack would refuse this modal: its blocks (as a `modal` surface) and the
    view's own limits (title, submit and close 24 characters, private_metadata 3000)."""
    problems = check_message(view.get("blocks"), None, surface="modal")
    for key in ("title", "submit", "close"):
        text = (view.get(key) or {}).get("text", "")
        if key == "title" and not text:
            problems.append("title: missing")
        if len(text) > VIEW_TEXT_LIMIT:
            problems.append(f"{key}: {len(text)} chars, limit {VIEW_TEXT_LIMIT}")
    if len(view.get("private_metadata", "")) > METADATA_LIMIT:
        problems.append(f"private_metadata: over {METADATA_LIMIT} chars")
    has_input = any(b.get("type") == "input" for b in view.get("blocks", []))
    if has_input and "submit" not in view:
        problems.append("submit: a modal with input blocks needs a submit button")
    return problems


# --- pieces ----------------------------------------------------------------------------------


def _view(meta: Meta, blocks: list[dict[str, Any]], *, submit: str | None,
          close: str = "Cancel") -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "callback_id": meta.kind,
                            "title": _plain(TITLES[meta.kind]), "close": _plain(close),
                            "private_metadata": meta.dump(), "blocks": blocks}
    if submit is None and any(b.get("type") == "input" for b in blocks):
        submit = "Propose"  # Slack needs one with inputs; the submission says what's missing
    if submit is not None:
        view["submit"] = _plain(submit)
    problems = check_view(view)
    if problems:
        raise BlockLimitError(problems)
    return view


def _vm_pickers(meta: Meta, vms: Sequence[VmChoice] | None, *,
                dispatch: bool) -> list[dict[str, Any]]:
    """A static select of the host's VMs when they were read; else the host and VM searches."""
    blocks: list[dict[str, Any]] = [_host_picker(meta)] if meta.search else []
    if vms is not None and meta.host is not None:
        blocks.append(_section(f"VMs on *{esc(meta.host)}*, heaviest first."))
        options = vm_options(vms)
        if not options:
            blocks.append(_section(f"No named VM runs on *{esc(meta.host)}*."))
            return blocks
        element: dict[str, Any] = {"type": "static_select", "action_id": VM,
                                   "placeholder": _plain("Pick a VM"), "options": options}
        chosen = [o for o in options if o["value"] == meta.vm]
        if chosen:
            element["initial_option"] = chosen[0]
    else:
        if not meta.search:
            blocks.append(_host_picker(meta))
        element = {"type": "external_select", "action_id": VM, "min_query_length": 0,
                   "placeholder": _plain("Search running VMs")}
        if meta.vm:
            element["initial_option"] = _option(meta.vm, meta.vm)
    blocks.append(_input(VM, "VM", element, dispatch=dispatch))
    return blocks


def _host_picker(meta: Meta) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "external_select", "action_id": HOST,
                               "min_query_length": 0, "placeholder": _plain("Search hosts")}
    if meta.host:
        element["initial_option"] = _option(meta.host, meta.host)
    return _input(HOST, "Host", element, dispatch=True, optional=meta.kind != PROPOSE_FIX,
                  hint="Narrows the VMs to this host's, heaviest first."
                  if meta.kind != PROPOSE_FIX else None)


def _targets(t: Targets) -> list[dict[str, Any]]:
    head = (f"*{esc(t.vm)}* holds {t.handles:,} handles on *{esc(t.source)}*: "
            f"{t.source_before:.0f}% → {t.source_after:.0f}% after the move.")
    if not t.choices:
        return [_section(head), _section(f":no_entry: {esc(t.why_none or 'No host can take it.')}")]
    options = [_option(f"{c.host} · {c.before:.0f}% → {c.after:.0f}%"
                       + (" (best)" if c.best else ""), c.host) for c in t.choices]
    best = next((o for o, c in zip(options, t.choices, strict=True) if c.best), options[0])
    element = {"type": "static_select", "action_id": TARGET, "options": options,
               "initial_option": best, "placeholder": _plain("Pick a host")}
    return [_section(head), _input(TARGET, "Move to", element,
                                   hint="Hosts of the same cluster that offer its vGPU "
                                        "profile, with their projected usage after the move.")]


def _channel(meta: Meta) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "conversations_select", "action_id": CHANNEL,
                               "placeholder": _plain("Pick a channel"),
                               "filter": {"include": ["public", "private"],
                                          "exclude_bot_users": True}}
    if meta.channel and not meta.channel.startswith("D"):
        element["initial_conversation"] = meta.channel
    else:
        element["default_to_current_conversation"] = True
    return _input(CHANNEL, "Post the proposal in", element,
                  hint="Approvers press Approve there; your permission is checked for it.")


def _input(block_id: str, label: str, element: dict[str, Any], *, dispatch: bool = False,
           optional: bool = False, hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": _plain(label),
                             "element": element}
    if dispatch:
        block["dispatch_action"] = True
    if optional:
        block["optional"] = True
    if hint:
        block["hint"] = _plain(hint)
    return block


def _vm_label(v: VmChoice) -> str:
    held = f" · {v.handles:,} handles" if v.handles is not None else ""
    where = f" on {v.host}" if v.host else ""
    return clip(f"{v.name}{held}{where}", OPTION_TEXT_LIMIT)


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(clip(text, OPTION_TEXT_LIMIT)), "value": value}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}]}
