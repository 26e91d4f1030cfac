"""Render a host's state into the exact text real ESXi prints (see esx-reference.md).

Pure functions: `render_files(state)` maps paths relative to the host directory to their
content. The shell tools only `cat` these files (and expand `out/lsof.spec` with awk).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from xml.sax.saxutils import escape

from bot.sim.state import AIO_SETTING, HostdLine, HostState, Vm, VmkLine

PRODUCT = "VMware ESXi"
AIO_DESCRIPTION = "Number of AIO handles for FDS"
KERNEL_HEADERS = ("Name", "Type", "Configured", "Runtime", "Default", "Description")
VM_FIELDS = ("ConfigFile", "DisplayName", "ProcessID", "UUID", "VMXCartelID", "WorldID")
OTHER_CHAR_DEVICES = (
    "/vmfs/devices/char/vmkdriver/vmci",
    "/vmfs/devices/char/mem/vmkmem",
    "/vmfs/devices/char/vmkdriver/nvidia-vgpu",
)


def uuid_pairs(uuid_hex: str) -> str:
    """`564d4808...` -> `56 4d 48 08 86 8b 8f 67-a5 4a 33 f3 87 a8 d0 59`."""
    pairs = [uuid_hex[i : i + 2] for i in range(0, 32, 2)]
    return " ".join(pairs[:8]) + "-" + " ".join(pairs[8:])


def version_txt(state: HostState) -> str:
    return (
        f"   Product: {PRODUCT}\n"
        f"   Version: {state.version}\n"
        f"   Build: Releasebuild-{state.build}\n"
        f"   Update: {state.update}\n"
        f"   Patch: {state.patch}\n"
    )


def version_json(state: HostState) -> str:
    data = {
        "Build": f"Releasebuild-{state.build}",
        "Patch": state.patch,
        "Product": PRODUCT,
        "Update": state.update,
        "Version": state.version,
    }
    return json.dumps(data, sort_keys=True) + "\n"


def vmware_v(state: HostState) -> str:
    return f"{PRODUCT} {state.version} build-{state.build}\n"


def vmware_l(state: HostState) -> str:
    major_minor = ".".join(state.version.split(".")[:2])
    update = "GA" if state.update in ("", "0") else f"Update {state.update}"
    return f"{PRODUCT} {major_minor} {update}\n"


def vm_block(vm: Vm) -> str:
    return (
        f"{vm.name}\n"
        f"   World ID: {vm.world_id}\n"
        f"   Process ID: 0\n"
        f"   VMX Cartel ID: {vm.cartel_id}\n"
        f"   UUID: {uuid_pairs(vm.uuid)}\n"
        f"   Display Name: {vm.name}\n"
        f"   Config File: {vm.config_file}\n"
        "\n"
    )


def vm_list_txt(state: HostState) -> str:
    return "".join(vm_block(vm) for vm in state.running_vms)


def _vm_values(vm: Vm) -> tuple[str | int, ...]:
    return (vm.config_file, vm.name, 0, uuid_pairs(vm.uuid), vm.cartel_id, vm.world_id)


def _xml_field(name: str, value: str | int) -> str:
    kind = "integer" if isinstance(value, int) else "string"
    text = escape(str(value))
    return (
        f'         <field name="{name}">\n'
        f"            <{kind}>{text}</{kind}>\n"
        "         </field>\n"
    )


def vm_list_xml(state: HostState) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        '<output xmlns="http://www.vmware.com/Products/ESX/5.0/esxcli">\n',
        "<root>\n",
        '   <list type="structure">\n',
    ]
    for vm in state.running_vms:
        out.append('      <structure typeName="VirtualMachine">\n')
        out.extend(_xml_field(n, v) for n, v in zip(VM_FIELDS, _vm_values(vm), strict=True))
        out.append("      </structure>\n")
    out.append("   </list>\n</root>\n</output>\n")
    return "".join(out)


def _csv_cell(value: str | int) -> str:
    text = str(value)
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def vm_list_csv(state: HostState) -> str:
    """Reconstructed: header of field names, every line ending in a comma."""
    lines = ["".join(f"{f}," for f in VM_FIELDS)]
    for vm in state.running_vms:
        lines.append("".join(f"{_csv_cell(v)}," for v in _vm_values(vm)))
    return "\n".join(lines) + "\n"


def vm_list_json(state: HostState) -> str:
    """Reconstructed: a JSON list of objects keyed by field name."""
    rows = [dict(zip(VM_FIELDS, _vm_values(vm), strict=True)) for vm in state.running_vms]
    return json.dumps(rows) + "\n"


def kernel_txt(state: HostState) -> str:
    """`kernel list -o FDSNumAIOHandles`; header and dashes only when the setting is absent."""
    rows: list[tuple[str, ...]] = []
    if state.kernel_aio is not None:
        k = state.kernel_aio
        rows.append((AIO_SETTING, "uint32", str(k.configured), str(k.runtime),
                     str(k.default), AIO_DESCRIPTION))
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(KERNEL_HEADERS)]
    widths[-1] = len(KERNEL_HEADERS[-1])
    dashes = tuple("-" * w for w in widths)
    return "".join(_table_line(line, widths) for line in (KERNEL_HEADERS, dashes, *rows))


def kernel_txt_empty() -> str:
    """`kernel list -o NAME` for a setting the host does not have (reconstructed)."""
    widths = [len(h) for h in KERNEL_HEADERS]
    dashes = tuple("-" * w for w in widths)
    return "".join(_table_line(line, widths) for line in (KERNEL_HEADERS, dashes))


def _table_line(cells: tuple[str, ...], widths: list[int]) -> str:
    padded = [c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False)]
    return "  ".join([*padded, cells[-1]]) + "\n"


def maintenance_txt(state: HostState) -> str:
    return "Enabled\n" if state.maintenance else "Disabled\n"


def _vm_groups(vm: Vm) -> Iterator[tuple[str, str, int, str]]:
    """(world name, type, count, path) rows for one running VM."""
    folder = vm.config_file.rsplit("/", 1)[0]
    stem = vm.config_file.rsplit("/", 1)[1].removesuffix(".vmx")
    files = [f"{vm.config_file}", f"{folder}/vmware.log", f"{folder}/{stem}.nvram"]
    first_files = min(vm.file_handles, len(files))
    for path in files[:first_files]:
        yield "vmx", "FILE", 1, path
    half_gfx = vm.vmgfx_handles // 2
    gfx = f"/vmfs/devices/char/vmkdriver/vmgfx{vm.gpu_index}"
    yield "vmx", "CHAR", half_gfx, gfx
    yield "vmx", "FILE", vm.file_handles - first_files, f"{folder}/{stem}-flat.vmdk"
    yield "vmx", "CHAR", vm.vmgfx_handles - half_gfx, gfx
    share, extra = divmod(vm.char_handles, len(OTHER_CHAR_DEVICES))
    for i, dev in enumerate(OTHER_CHAR_DEVICES):
        yield "vmx", "CHAR", share + (1 if i < extra else 0), dev


def lsof_spec(state: HostState) -> str:
    """One tab-separated row per group: cartel, world name, type, count, path."""
    rows: list[tuple[int, str, str, int, str]] = []
    for cartel in state.cartels:
        rows.extend((cartel.cartel_id, cartel.world_name, g.type, g.count, g.path)
                    for g in cartel.groups)
    for vm in state.running_vms:
        rows.extend((vm.cartel_id, *group) for group in _vm_groups(vm))
    rows.sort(key=lambda r: r[0])
    return "".join(f"{c}\t{w}\t{t}\t{n}\t{p}\n" for c, w, t, n, p in rows if n > 0)


def vmkernel_line(state: HostState, line: VmkLine) -> str:
    where = f"cpu{line.cpu}:{line.world})"
    if state.version.startswith("7."):
        return f"{line.ts} {where}{line.message}\n"
    tag = "Wa(180) vmkwarning" if line.warning else "In(182) vmkernel"
    return f"{line.ts} {tag}: {where}{line.message}\n"


def hostd_lines(state: HostState, line: HostdLine) -> str:
    old = state.version.startswith("7.")
    prefix = (f"{line.ts} info hostd[{line.pid}] [Originator@6876 sub=Default] " if old
              else f"{line.ts} In(166) Hostd[{line.pid}]: ")
    if not line.start:
        return f"{prefix}{line.message}\n"
    esx = "VMware ESXi" if state.version.startswith("9.") else "VMware ESX"
    tail = (f"{esx}, pid={line.pid}, version={state.version}, build={state.build}, "
            "option=Release")
    marker = f"--> time the service was last started {line.ts}, Section for {tail}\n"
    cont = "" if old else f"{line.ts} In(166) Hostd[{line.pid}]: "
    return f"{prefix}Log for {tail}\n{cont}{marker}"


def render_files(state: HostState) -> dict[str, str]:
    """Every rendered file, keyed by its path relative to the host directory."""
    return {
        "out/version.txt": version_txt(state),
        "out/version.json": version_json(state),
        "out/vmware-vl.txt": vmware_v(state) + vmware_l(state),
        "out/vmware-v.txt": vmware_v(state),
        "out/vmware-l.txt": vmware_l(state),
        "out/vm-process-list.txt": vm_list_txt(state),
        "out/vm-process-list.xml": vm_list_xml(state),
        "out/vm-process-list.csv": vm_list_csv(state),
        "out/vm-process-list.json": vm_list_json(state),
        "out/kernel-FDSNumAIOHandles.txt": kernel_txt(state),
        "out/kernel-empty.txt": kernel_txt_empty(),
        "out/maintenance.txt": maintenance_txt(state),
        "out/lsof.spec": lsof_spec(state),
        "var/log/vmkernel.log": "".join(vmkernel_line(state, x) for x in state.vmkernel_log),
        "var/log/hostd.log": "".join(hostd_lines(state, x) for x in state.hostd_log),
    }
