"""A remediation request as one message: each step with its reason and expected effect,
Approve and Reject buttons (danger style and a confirm dialog when guests are interrupted),
and, once decided, who decided and how it ended (buttons gone)."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.remediation.plan import Plan, Step
from bot.slack.limits import CONFIRM_LIMITS, HEADER_TEXT_LIMIT, SECTION_TEXT_LIMIT
from bot.slack.views.common import Message, clip, esc, mrkdwn
from bot.store.api import Request, State

APPROVE = "approve_request"
REJECT = "reject_request"
MAX_STEP_BLOCKS = 40  # 50 blocks per message: the rest of the steps share one section
_STATUS = {
    State.PROPOSED: ":hourglass_flowing_sand: Waiting for an approver",
    State.APPROVED: ":white_check_mark: Approved",
    State.RUNNING: ":gear: Running",
    State.SUCCEEDED: ":white_check_mark: Done",
    State.FAILED: ":x: Failed",
    State.REJECTED: ":no_entry: Rejected",
    State.EXPIRED: ":alarm_clock: Expired",
    State.CANCELLED: ":leftwards_arrow_with_hook: Withdrawn",
    State.INTERRUPTED: ":warning: Interrupted: needs review (a host may be half-way)",
}


def plan_message(request: Request, plan: Plan, note: str | None = None) -> Message:
    blocks: list[Block] = [HeaderBlock(text=clip(f"#{request.id} {plan.title}", HEADER_TEXT_LIMIT)),
                           ContextBlock(elements=[mrkdwn(_who(request))])]
    blocks += _steps(plan.steps)
    if plan.notes:
        blocks.append(ContextBlock(elements=[mrkdwn(esc(" ".join(plan.notes)))]))
    blocks.append(SectionBlock(text=mrkdwn(_status(request, note))))
    if request.state is State.PROPOSED:
        blocks.append(_buttons(request, plan))
    text = f"#{request.id} {esc(plan.title)}: {_STATUS[request.state]}"
    return Message.build(text, blocks)


def confirm_message(request: Request, plan: Plan) -> Message:
    """`/aio approve <id>` on a plan that interrupts guests: the plan, privately, with the
    same buttons (and confirmation dialog) as its message in the channel."""
    return plan_message(request, plan, "This interrupts guests: press Approve and confirm "
                                       "to run it.")


def step_text(number: int, step: Step) -> str:
    what = f"{step.kind.value} *{esc(step.vm or step.host)}*"
    if step.vm_facts:
        what += f" ({esc(step.vm_facts)})"
    if step.target:
        what += f" → *{esc(step.target)}*"
    if step.hard:
        what += " (hard power-off)"
    return f"{number}. {what}\n_why:_ {esc(step.reason)}\n_effect:_ {esc(step.effect)}"


def _steps(steps: list[Step]) -> list[Block]:
    shown = [SectionBlock(text=mrkdwn(step_text(i, s)))
             for i, s in enumerate(steps[:MAX_STEP_BLOCKS], 1)]
    rest = steps[MAX_STEP_BLOCKS:]
    if rest:
        lines = [f"{i}. {s.kind.value} {esc(s.vm or s.host)}" + (f" → {esc(s.target)}"
                 if s.target else "") for i, s in enumerate(rest, MAX_STEP_BLOCKS + 1)]
        shown.append(SectionBlock(text=mrkdwn(clip("\n".join(lines), 3000))))
    return list(shown)


def _who(request: Request) -> str:
    return (f"Proposed by <@{esc(request.requested_by)}> · expires "
            f"<!date^{int(request.expires_at.timestamp())}^{{time}}|"
            f"{request.expires_at:%H:%M} UTC> · only approvers can approve")


def _status(request: Request, note: str | None) -> str:
    status = _STATUS[request.state]
    if request.approved_by and request.state is not State.PROPOSED:
        status += f" by <@{esc(request.approved_by)}>"
    if request.outcome and request.state not in (State.PROPOSED, State.RUNNING):
        status += f"\n{esc(clip(request.outcome, 2500))}"
    if note:
        status += f"\n{esc(note)}"
    return clip(status, SECTION_TEXT_LIMIT)


def _buttons(request: Request, plan: Plan) -> ActionsBlock:
    value = str(request.id)
    approve = ButtonElement(text="Approve", action_id=APPROVE, value=value,
                            style="danger" if plan.destructive else "primary",
                            confirm=_confirm(plan) if plan.destructive else None)
    reject = ButtonElement(text="Reject", action_id=REJECT, value=value)
    return ActionsBlock(block_id=f"request_{request.id}", elements=[approve, reject])


def _confirm(plan: Plan) -> ConfirmObject:
    interrupted = [s.vm or s.host for s in plan.steps if s.destructive]
    text = (f"This interrupts {', '.join(interrupted[:5])}"
            + (f" and {len(interrupted) - 5} more" if len(interrupted) > 5 else "")
            + ". Run the plan now?")
    return ConfirmObject(title="Interrupt guests?", text=clip(text, CONFIRM_LIMITS["text"]),
                         confirm="Run it", deny="Not now", style="danger")
