"""Sentences aio-bot says to a user: errors, refusals and notices shared by the front ends.

Functions here take plain values and return plain text (no Slack markup), so the CLI,
the console and Slack say the same thing. Each result's own wording lives with its renderer
(`bot/console/table.py`, `bot/slack/views/`), and a command's help with the command."""

from __future__ import annotations

_HOST_ERRORS = {
    "HostUnreachable": "I could not reach {host}{detail}.",
    "HostKeyUnknown": (
        "{host} offered an SSH host key I do not know ({detail}); add it to the known_hosts "
        "file if it is genuine."
    ),
    "HostKeyChanged": (
        "{host} offered a different SSH host key than the one on record ({detail}); "
        "refusing to connect until someone checks it."
    ),
    "HostKeyRevoked": (
        "{host} offered an SSH host key that the known_hosts file marks as revoked ({detail}); "
        "refusing to connect."
    ),
    "AuthFailed": "{host} refused my SSH login{detail}.",
    "CommandTimeout": "{host} did not finish `{command}` in time{detail}.",
    "CommandFailed": "`{command}` failed on {host}{detail}.",
    "OutputTooLarge": "{host} sent more output for `{command}` than I accept{detail}.",
    "OutputTruncated": "{host} cut off the output of `{command}` mid-line{detail}.",
    "HostError": "Something went wrong talking to {host}{detail}.",
}


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def shown(word: str, limit: int = 40) -> str:
    """A word the user typed, as echoed back: on one line, at most `limit` characters."""
    return _one_line(word, limit)


def host_error(kind: str, host: str, command: str | None, detail: str) -> str:
    template = _HOST_ERRORS.get(kind, _HOST_ERRORS["HostError"])
    short = _one_line(detail)
    return template.format(
        host=host,
        command=_one_line(command or "", 80),
        detail=f" ({short})" if short and kind not in ("HostKeyUnknown", "HostKeyChanged",
                                                      "HostKeyRevoked")
        else short,
    )


def unknown_host(name: str, suggestions: list[str]) -> str:
    shown = _one_line(name, 60)
    if suggestions:
        return f"There is no host `{shown}` in the inventory. Did you mean {_or_list(suggestions)}?"
    return f"There is no host `{shown}` in the inventory."


def parse_error(fmt: str, line_no: int, line: str, why: str) -> str:
    return f"I cannot read line {line_no} of the {fmt} output ({why}): {_one_line(line, 120)!r}"


def _or_list(items: list[str]) -> str:
    quoted = [f"`{i}`" for i in items]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


# --- vCenter: SSH on demand and lockdown mode (bot.vsphere.host_access) ---------------------

_LOCKDOWN = {"lockdownNormal": "normal lockdown mode", "lockdownStrict": "strict lockdown mode"}


def ssh_blocked_by_lockdown(host: str, mode: str, user: str, exceptions: tuple[str, ...], *,
                            user_allowed: bool, ssh_running: bool) -> str:
    where = _LOCKDOWN.get(mode, f"lockdown mode ({_one_line(mode, 40)})")
    listed = (f"its exception users are {', '.join(exceptions)}" if exceptions
              else "it has no exception users")
    blocks, fixes = [], []
    if not user_allowed:
        blocks.append(f"in lockdown, SSH admits only exception users and {user} is not one "
                      f"({listed})")
        fixes.append(f"add {user} to the host's exception users (vSphere Client: the host, "
                     "Configure, Security Profile, Lockdown Mode; the account needs the "
                     "Administrator role on the host)")
    if not ssh_running:
        blocks.append("its SSH service (TSM-SSH) is stopped, and I do not start SSH on a host "
                      "in lockdown mode")
        fixes.append("start SSH for the read and stop it afterwards")
    return (f"I cannot read {host} over SSH: it is in {where}; {'; and '.join(blocks)}. "
            f"An admin can {' and '.join(fixes)}, or capture the output by hand for "
            "`aio-bot analyze`. I never change lockdown mode myself.")


def ssh_worker_stopped() -> str:
    return ("my SSH worker process stopped before it answered; it starts again with the next "
            "command: try again")


def ssh_stopped(host: str) -> str:
    return (f"SSH (TSM-SSH) is stopped on {host}. Start it for the read, or set "
            "`ssh.enable_on_demand = true` to let me start it through vCenter and stop it "
            "again afterwards.")


def ssh_host_not_connected(host: str, state: str) -> str:
    return f"vCenter says {host} is {_one_line(state, 40)}; I did not try to reach it over SSH."


def host_keys_to_confirm(count: int) -> str:
    return (f"{count} host(s) offered an SSH host key that is not on record, or differs from "
            "it, so I did not read them. Nothing is trusted from chat: check each fingerprint "
            "against the host's own console (ESXi Shell: `ssh-keygen -lf "
            "/etc/ssh/ssh_host_ecdsa_key.pub`), then, on the machine aio-bot runs on:")


def host_keys_commands(names: list[str], changed: list[str]) -> str:
    hosts = " ".join(names)
    lines = [f"aio-bot known-hosts scan {hosts}", f"aio-bot known-hosts add {hosts} --yes"]
    if changed:
        lines[-1] += "".join(f" --replace {name}" for name in changed)
    return "\n".join(lines)


def host_keys_changed_note() -> str:
    return ("A CHANGED key is what an attack looks like, and also what a reinstalled host "
            "looks like: `--replace HOST` only after its admin confirmed the new key. A "
            "REVOKED key is never written.")


# --- Slack ------------------------------------------------------------------------------------


def slack_help_footer() -> str:
    return ("Results of `top`, `check` and `scan` are posted in the channel for everyone; help "
            "and errors are shown only to you. `@aio-bot <words>` answers in a thread.")


def slack_try_help() -> str:
    return "Type `/aio help` to see what I can do."


def slack_refused() -> str:
    return ("Sorry, I am not enabled for you in this channel; the bot's admins can add you or "
            "the channel to its allowed list.")


def slack_failed(command: str) -> str:
    return (f"Something went wrong while running `{_one_line(command, 40)}`; the details are in "
            "the bot's log for its admins.")


def slack_not_refreshable() -> str:
    return "This button no longer fits a command I know; run the command again."


def slack_missing_env(names: list[str]) -> str:
    return (f"Set {' and '.join(names)} in the environment (see docs/slack-setup.md); "
            "secrets are never read from the configuration file.")


def vcenter_error(operation: str, detail: str) -> str:
    return f"vCenter could not {operation} ({_one_line(detail)})."


# --- the gate (bot.gate) -----------------------------------------------------------------------


def gate_other_team() -> str:
    return ("Sorry, I only take commands from the workspace I am installed in (and those in "
            "`[slack] allowed_teams`).")


def gate_no_changes_in_dm() -> str:
    return ("Changes are proposed and approved in a channel, where the others can see them, "
            "not in a direct message; reads work here.")


def gate_not_approver() -> str:
    return "Only the configured approvers can approve changes."


def gate_reject_not_allowed() -> str:
    return "Only approvers or the requester can reject a request."


def gate_own_request() -> str:
    return "You asked for this change; someone else has to approve it."


def gate_groups_unknown() -> str:
    return ("I could not check the approver groups with Slack just now, so I cannot accept "
            "this approval; try again in a minute.")


def gate_too_many_open(limit: int, open_ids: list[int]) -> str:
    ids = ", ".join(f"#{i}" for i in open_ids[:10])
    more = f" and {len(open_ids) - 10} more" if len(open_ids) > 10 else ""
    return (f"You already have {len(open_ids)} open proposal(s) ({ids}{more}); the limit is "
            f"{limit}. Withdraw one (`reject <id>`) or wait for a decision.")


def gate_service_reads_only(identity: str) -> str:
    return (f"`{shown(identity)}` is a service identity: it may read and post, never propose, "
            "approve, reject or silence.")


def no_open_incident(host: str) -> str:
    return f"There is no open incident on `{shown(host)}`."


def silencing_needs_store() -> str:
    return ("Acknowledging and snoozing alerts needs the store: configure [history] scans or "
            "set AIO_BOT_DB.")


def acknowledged(host: str, alert_id: int) -> str:
    return f"Incident #{alert_id} on {host} acknowledged: later changes will not ping."


def snoozed(host: str, alert_id: int, until: str) -> str:
    return f"Incident #{alert_id} on {host} snoozed {until}."


def changes_not_set_up() -> str:
    return ("Changes are not set up here (they need a vCenter, a store and approvers); "
            "`top`, `check`, `scan`, `summary` and `audit` work.")


def interrupts_guests_note() -> str:
    return "Approving it interrupts guests, so it asks for a confirmation."


# --- analyze: captures handed over by an operator (bot.analyze) ---------------------------------


def capture_refused(what: str, path: str, looks_like: str) -> str:
    return (f"I cannot use {path} as {what} output: {looks_like}. Nothing in it has the shape "
            "of that command's output.")


def capture_missing(path: str) -> str:
    return f"There is no file {path}."


def capture_unreadable(path: str, reason: str) -> str:
    return f"Cannot read {path}: {reason}."


def lines_skipped(total: int, first: list[tuple[str, int, str]]) -> str:
    """One line for the table view: how many lines were not used, and the first few."""
    shown = "; ".join(f"{file} line {line}: {why}" for file, line, why in first[:3])
    more = ", ..." if total > len(first[:3]) else ""
    noun = "line" if total == 1 else "lines"
    return f"{total:,} {noun} skipped ({shown}{more}); --format json lists them."


def window_in_capture(start: str, end: str) -> str:
    return f"in the capture, {start} to {end} UTC"


def window_since(start: str, end: str) -> str:
    return f"from {start} to {end} UTC"


def not_captured(what: str, command: str) -> str:
    return f"{what}: not captured (run `{command}`)"


def plan_not_posted(request_id: int) -> str:
    return (f"I could not post request #{request_id} in this channel, so I withdrew it; "
            "try again in a moment (or invite me to the channel).")


def store_unavailable() -> str:
    return ("The bot's database is not answering just now, so nothing was changed; try again "
            "in a minute. Its admins can see why in the bot's log.")


def vcenter_failed(operation: str) -> str:
    return (f"vCenter could not {_one_line(operation, 80)}; nothing more was done. The "
            "details are in the bot's log.")
