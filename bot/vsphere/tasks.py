"""Waiting on vCenter with a deadline (`time.monotonic()`): tasks, and a guest shutdown."""

from __future__ import annotations

import time

from pyVmomi import vim

from bot.errors import TaskFailed, TaskTimeout
from bot.vsphere.errors import fault_text
from bot.vsphere.session import Conn, Session

FIRST_POLL = 0.1


def remaining(deadline: float, operation: str) -> float:
    """Seconds left; TaskTimeout when none are (before anything was started)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TaskTimeout(operation, "the deadline passed before it started; nothing was done")
    return left


def wait_for_task(session: Session, operation: str, task: str, deadline: float,
                  poll_interval: float) -> None:
    """Poll task `task` (moref) until it succeeds; TaskFailed with vCenter's message, or
    TaskTimeout at the deadline (the task may still finish in vCenter: the message says so)."""
    delay = FIRST_POLL
    while True:
        info = session.call(operation, lambda c: _info(c, task))
        if info.state == vim.TaskInfo.State.success:
            return
        if info.state == vim.TaskInfo.State.error:
            fault = info.error
            if isinstance(fault, vim.fault.Timedout):
                raise TaskTimeout(operation, f"vCenter gave up at the deadline ({task})")
            raise TaskFailed(operation, fault_text(fault) if fault else f"task {task} failed")
        left = deadline - time.monotonic()
        if left <= 0:
            raise TaskTimeout(operation, f"task {task} was still {info.state} at the deadline; "
                                         "it may yet complete in vCenter")
        time.sleep(min(delay, left))
        delay = min(delay * 2, poll_interval)


def wait_powered_off(session: Session, operation: str, vm: str, deadline: float,
                     poll_interval: float) -> None:
    """Poll VM `vm` (moref) until it is powered off, or TaskTimeout at the deadline."""
    delay = FIRST_POLL
    while True:
        state = session.call(operation, lambda c: _power_state(c, vm))
        if state == vim.VirtualMachine.PowerState.poweredOff:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise TaskTimeout(operation, f"the guest was still {state} at the deadline")
        time.sleep(min(delay, left))
        delay = min(delay * 2, poll_interval)


def _info(conn: Conn, task: str) -> vim.TaskInfo:
    return conn.bind(vim.Task, task).info


def _power_state(conn: Conn, vm: str) -> str:
    runtime = conn.bind(vim.VirtualMachine, vm).runtime
    return str(runtime.powerState)
