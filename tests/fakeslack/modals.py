"""Modals as Slack keeps them: `views.open` (with a trigger ID the fake handed out, used once,
within 3 seconds), `views.update` (by view ID, `hash` checked when given), `views.push` (a
stack of at most 3), each user's stack, and each view's `state.values` (initial values, then
what the driver picked; kept across updates for blocks that stay), and the `response_action`
an app answers a submission with (`errors`, `update`, `push`, `clear`)."""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bot.slack.limits import check_message

JsonDict = dict[str, Any]
TRIGGER_SECONDS = 3.0  # a trigger_id opens a modal within 3 s of the interaction
MAX_STACK = 3
VIEW_TEXT_LIMIT = 24  # title, submit, close
METADATA_LIMIT = 3000


@dataclass
class _Trigger:
    user: str
    issued: float
    used: bool = False


@dataclass
class FakeModals:
    trigger_seconds: float = TRIGGER_SECONDS
    views: dict[str, JsonDict] = field(default_factory=dict)  # view_id -> view, as Slack has it
    stacks: dict[str, list[str]] = field(default_factory=dict)  # user -> view IDs, top last
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # view_id -> shown errors
    closed: list[str] = field(default_factory=list)
    _triggers: dict[str, _Trigger] = field(default_factory=dict)

    def issue(self, trigger_id: str, user: str) -> str:
        self._triggers[trigger_id] = _Trigger(user, time.monotonic())
        return trigger_id

    def top(self, user: str) -> JsonDict | None:
        stack = self.stacks.get(user) or []
        return self.views[stack[-1]] if stack else None

    # --- Web API -----------------------------------------------------------------------------

    def open(self, args: JsonDict, team_id: str) -> JsonDict:
        trigger, problem = self._trigger(args.get("trigger_id"))
        if problem:
            return _error(problem)
        assert trigger is not None
        view, problem = self._checked(args.get("view"))
        if problem:
            return view
        stored = self._store(view, team_id, trigger.user)
        self.stacks[trigger.user] = [stored["id"]]
        return {"ok": True, "view": copy.deepcopy(stored)}

    def push(self, args: JsonDict, team_id: str) -> JsonDict:
        trigger, problem = self._trigger(args.get("trigger_id"))
        if problem:
            return _error(problem)
        assert trigger is not None
        stack = self.stacks.get(trigger.user) or []
        if not stack:
            return _error("not_found")
        if len(stack) >= MAX_STACK:
            return _error("push_limit_reached")
        view, problem = self._checked(args.get("view"))
        if problem:
            return view
        stored = self._store(view, team_id, trigger.user)
        stack.append(stored["id"])
        return {"ok": True, "view": copy.deepcopy(stored)}

    def update(self, args: JsonDict) -> JsonDict:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next((k for k, v in self.views.items()
                            if v.get("external_id") == args["external_id"]), None)
        old = self.views.get(str(view_id or ""))
        if old is None or view_id in self.closed:
            return _error("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            return _error("hash_conflict")
        view, problem = self._checked(args.get("view"))
        if problem:
            return view
        self._replace(old, view)
        return {"ok": True, "view": copy.deepcopy(old)}

    # --- what the driver does --------------------------------------------------------------

    def pick(self, view_id: str, action_id: str, value: JsonDict) -> tuple[JsonDict, JsonDict]:
        """Record a value picked in the view (state.values); (block, element) picked in."""
        view = self.views[view_id]
        block, element = find_element(view, action_id)
        view["state"]["values"].setdefault(block["block_id"], {})[action_id] = {
            "type": element["type"], **value}
        return block, element

    def answered(self, user: str, view_id: str, answer: JsonDict | None) -> None:
        """Apply the app's answer to a submission, as Slack does."""
        action = (answer or {}).get("response_action")
        stack = self.stacks.get(user) or []
        if action == "errors":
            self.errors[view_id] = dict(answer["errors"])  # type: ignore[index]
        elif action == "update":
            view, problem = self._checked(answer["view"])  # type: ignore[index]
            assert not problem, view
            self._replace(self.views[view_id], view)
        elif action == "push":
            view, problem = self._checked(answer["view"])  # type: ignore[index]
            assert not problem, view
            stack.append(self._store(view, self.views[view_id]["team_id"], user)["id"])
        elif action == "clear":
            self.closed += stack
            stack.clear()
        else:  # nothing: the submitted view closes
            if view_id in stack:
                stack.remove(view_id)
            self.closed.append(view_id)

    # --- inside ------------------------------------------------------------------------------

    def _trigger(self, trigger_id: object) -> tuple[_Trigger | None, str | None]:
        trigger = self._triggers.get(str(trigger_id or ""))
        if trigger is None:
            return None, "invalid_trigger_id"
        if trigger.used or time.monotonic() - trigger.issued > self.trigger_seconds:
            return None, "expired_trigger_id"
        trigger.used = True
        return trigger, None

    def _checked(self, raw: object) -> tuple[JsonDict, str | None]:
        view = _json(raw)
        if not isinstance(view, dict) or view.get("type") != "modal":
            return _error("invalid_arguments"), "invalid"
        problems = check_message(view.get("blocks", []), None, surface="modal")
        for key in ("title", "submit", "close"):
            text = (view.get(key) or {}).get("text", "")
            if (key == "title" and not text) or len(text) > VIEW_TEXT_LIMIT:
                problems.append(f"{key}: missing or over {VIEW_TEXT_LIMIT} chars")
        if len(view.get("private_metadata", "")) > METADATA_LIMIT:
            problems.append("private_metadata: too long")
        if any(b.get("type") == "input" for b in view.get("blocks", [])) and not view.get(
                "submit"):
            problems.append("submit: required with input blocks")
        if problems:
            return _error("invalid_arguments", errors=problems), "invalid"
        return view, None

    def _store(self, view: JsonDict, team_id: str, user: str) -> JsonDict:
        view_id = "V" + uuid.uuid4().hex[:10].upper()
        stored = {**view, "id": view_id, "team_id": team_id, "hash": _hash(),
                  "user": user, "state": {"values": {}}}
        stored["state"]["values"] = _initial_values(stored)
        self.views[view_id] = stored
        return stored

    def _replace(self, old: JsonDict, view: JsonDict) -> None:
        kept = {k: v for k, v in old["state"]["values"].items()
                if any(b.get("block_id") == k and b.get("type") == "input"
                       for b in view.get("blocks", []))}
        keep = {k: old[k] for k in ("id", "team_id", "user")}
        old.clear()
        old.update({**view, **keep, "hash": _hash(), "state": {"values": {}}})
        old["state"]["values"] = {**_initial_values(old), **kept}
        self.errors.pop(old["id"], None)


def find_element(view: JsonDict, action_id: str) -> tuple[JsonDict, JsonDict]:
    """(block, element) with `action_id` in a view (input, actions or section accessory)."""
    for block in view.get("blocks", []):
        elements = (block.get("elements", []) if block.get("type") == "actions"
                    else [block.get("element") or block.get("accessory") or {}])
        for element in elements:
            if element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"no element {action_id!r} in view {view.get('id')}")


def _initial_values(view: JsonDict) -> JsonDict:
    """What Slack puts in state.values for inputs with an initial value."""
    values: JsonDict = {}
    for block in view.get("blocks", []):
        element = block.get("element") or {}
        if block.get("type") != "input" or not element.get("action_id"):
            continue
        state: JsonDict = {"type": element["type"]}
        if "initial_option" in element:
            state["selected_option"] = element["initial_option"]
        elif "initial_conversation" in element:
            state["selected_conversation"] = element["initial_conversation"]
        elif "initial_options" in element:
            state["selected_options"] = element["initial_options"]
        else:
            continue
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def _hash() -> str:
    return f"{time.time():.6f}.{uuid.uuid4().hex[:8]}"


def _json(value: object) -> object:
    if isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _error(error: str, **extra: Any) -> JsonDict:
    return {"ok": False, "error": error, **extra}
