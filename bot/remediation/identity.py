"""Which VM a step acts on, proven from structured sources before it acts: the host's
`esxcli --formatter=xml vm process list` (fields are elements: a VM name cannot forge another
field, and a structure with a field twice is not used) and vCenter by BIOS UUID. The name,
the BIOS UUID and the world ID recorded when the change was proposed must all still agree;
otherwise the step refuses, naming what differs."""

from __future__ import annotations

from bot.errors import PreconditionFailed, VCenterError
from bot.esx import commandlines as cl
from bot.esx.records import VmProcess
from bot.esx.transport import Transport
from bot.esx.vmlist import read_vm_list
from bot.inventory import HostEntry
from bot.remediation.plan import Step
from bot.vsphere.api import VCenter, VcVm, bios_uuid_from_esxcli


async def proven_vm(step: Step, transport: Transport, host: HostEntry,
                    vcenter: VCenter) -> VcVm:
    """The step's VM as vCenter knows it, once the host and vCenter agree it is the one
    proposed; PreconditionFailed (nothing changed) when they do not."""
    if not step.vm or not step.vm_uuid:
        raise PreconditionFailed(f"{step.vm or 'The VM'} has no BIOS UUID on record; "
                                 "refusing to guess which VM this is.")
    check_listed(step, await listed_vms(transport, host), host.name)
    try:
        vm = await vcenter.find_vm_by_uuid(bios_uuid_from_esxcli(step.vm_uuid))
    except (VCenterError, ValueError) as err:
        raise PreconditionFailed(f"vCenter cannot say which VM {step.vm} is: {err}") from None
    if vm.name != step.vm:
        raise PreconditionFailed(_differs(step, f"vCenter names that BIOS UUID {vm.name!r}"))
    return vm


async def listed_vms(transport: Transport, host: HostEntry) -> list[VmProcess]:
    """The host's running VMs from the XML form of its VM list."""
    out = await transport.run(host, cl.VM_LIST_XML)
    return read_vm_list(out.stdout).vms


def check_listed(step: Step, vms: list[VmProcess], host: str) -> VmProcess:
    """The one listed VM with the step's BIOS UUID, whose name and world are the step's."""
    wanted = _digits(step.vm_uuid or "")
    matches = [v for v in vms if v.uuid and _digits(v.uuid) == wanted]
    if not matches:
        raise PreconditionFailed(f"{step.vm} is no longer on {host} (its BIOS UUID is not in "
                                 "the host's VM list).")
    if len(matches) > 1:
        raise PreconditionFailed(f"{host} lists {len(matches)} VMs with {step.vm}'s BIOS UUID; "
                                 "refusing to guess which one is meant.")
    listed = matches[0]
    if listed.name != step.vm:
        raise PreconditionFailed(_differs(step, f"{host} lists that BIOS UUID as "
                                                f"{listed.name!r}"))
    if step.world_id is not None and listed.world_id != step.world_id:
        raise PreconditionFailed(f"{step.vm} runs as a new process on {host} (world "
                                 f"{listed.world_id}, not {step.world_id}) since it was "
                                 "proposed; propose the change again.")
    return listed


def _digits(uuid: str) -> str:
    return "".join(c for c in uuid.lower() if c in "0123456789abcdef")


def _differs(step: Step, what: str) -> str:
    return (f"The VM proposed as {step.vm!r} is not the one there now: {what}. Check the "
            "VM's name and propose again.")
