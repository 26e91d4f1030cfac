"""The simulated hosts' read-only tools, run for real through /bin/sh, against the demo fleet."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.esx import commandlines as cl
from bot.sim.demo_fleet import build_fleet_dirs, demo_fleet_states
from bot.sim.hostdir import load
from bot.sim.shell import run_command

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
READ_COMMANDS = [
    cl.KB_PIPELINE,
    cl.LSOF_REDUCED,
    cl.LSOF_FULL,
    cl.VERSION,
    cl.VERSION_VL,
    cl.VM_LIST,
    cl.VM_LIST_XML,
    cl.KERNEL_AIO,
    cl.MAINTENANCE_GET,
    cl.vmkernel_events(NOW - timedelta(hours=24)),
    cl.HOSTD_STARTS,
]
UUID_RE = re.compile(r"^([0-9a-f]{2} ){7}[0-9a-f]{2}-([0-9a-f]{2} ){7}[0-9a-f]{2}$")
LSOF_LINE = re.compile(r"^(\d+) +(\S+) +([A-Z]+) +(\d+) +(\S.*)$")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_fleet_dirs(tmp_path_factory.mktemp("fleet"), demo_fleet_states(NOW))


def sh(host_dir: Path, command: str) -> str:
    result = run_command(host_dir, command)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def parse_vm_blocks(text: str) -> list[dict[str, str]]:
    blocks = []
    for chunk in text.split("\n\n"):
        if not chunk.strip():
            continue
        head, *fields = chunk.split("\n")
        assert not head.startswith(" ")
        record = {"name": head}
        for line in fields:
            assert line.startswith("   ") and not line.startswith("    ")
            key, _, value = line.strip().partition(": ")
            record[key] = value
        blocks.append(record)
    return blocks


def test_every_read_command_runs_on_every_host(fleet: dict[str, Path]) -> None:
    for host_dir in fleet.values():
        for command in READ_COMMANDS:
            result = run_command(host_dir, command)
            assert result.returncode == 0, (host_dir.name, command, result.stderr)


def test_version_get_and_vmware_vl(fleet: dict[str, Path]) -> None:
    assert sh(fleet["host01"], cl.VERSION) == (
        "   Product: VMware ESXi\n   Version: 8.0.3\n   Build: Releasebuild-25067014\n"
        "   Update: 3\n   Patch: 90\n"
    )
    assert sh(fleet["host02"], cl.VERSION_VL) == (
        "VMware ESXi 8.0.3 build-25205845\nVMware ESXi 8.0 Update 3\n"
    )
    assert sh(fleet["host06"], cl.VERSION_VL).startswith("VMware ESXi 7.0.3 build-24784741\n")
    assert sh(fleet["host02"], "esxcli --formatter=json system version get") == (
        '{"Build": "Releasebuild-25205845", "Patch": "95", "Product": "VMware ESXi", '
        '"Update": "3", "Version": "8.0.3"}\n'
    )


def test_vm_process_list_format(fleet: dict[str, Path]) -> None:
    text = sh(fleet["host01"], cl.VM_LIST)
    assert text.endswith("\n\n")
    blocks = parse_vm_blocks(text)
    state = load(fleet["host01"])
    assert [b["name"] for b in blocks] == [v.name for v in state.running_vms]
    names = {b["Display Name"] for b in blocks}
    assert {"harbor&nexus", "QA Win11 Desktop"} <= names
    for block in blocks:
        assert list(block) == [
            "name",
            "World ID",
            "Process ID",
            "VMX Cartel ID",
            "UUID",
            "Display Name",
            "Config File",
        ]
        assert UUID_RE.match(block["UUID"])
        name = block["name"]
        assert block["Config File"].endswith(f"/{name}/{name}.vmx")
        assert block["Config File"].startswith("/vmfs/volumes/")
    gaps = Counter(int(b["World ID"]) - int(b["VMX Cartel ID"]) for b in blocks)
    assert gaps[1] > 0 and sum(n for gap, n in gaps.items() if gap != 1) > 0


def test_vm_process_list_xml(fleet: dict[str, Path]) -> None:
    root = ET.fromstring(sh(fleet["host01"], cl.VM_LIST_XML))
    structs = root.iter("{http://www.vmware.com/Products/ESX/5.0/esxcli}structure")
    names = []
    for struct in structs:
        assert struct.get("typeName") == "VirtualMachine"
        fields = {f.get("name"): "".join(f.itertext()).strip() for f in struct}
        assert set(fields) == {
            "ConfigFile",
            "DisplayName",
            "ProcessID",
            "UUID",
            "VMXCartelID",
            "WorldID",
        }
        names.append(fields["DisplayName"])
    assert "harbor&nexus" in names
    assert len(names) == len(load(fleet["host01"]).running_vms)


def test_kernel_list_rows(fleet: dict[str, Path]) -> None:
    header = (
        "Name              Type    Configured  Runtime  Default  Description\n"
        "----------------  ------  ----------  -------  -------  -----------\n"
    )
    row = "FDSNumAIOHandles  uint32  {:<10}  {:<7}  32768    Number of AIO handles for FDS\n"
    assert sh(fleet["host02"], cl.KERNEL_AIO) == header + row.format(32768, 32768)
    assert sh(fleet["host03"], cl.KERNEL_AIO) == header + row.format(65536, 32768)
    assert sh(fleet["host04"], cl.KERNEL_AIO) == header + row.format(65536, 65536)
    empty = (
        "Name  Type  Configured  Runtime  Default  Description\n"
        "----  ----  ----------  -------  -------  -----------\n"
    )
    for host in ("host01", "host05", "host06"):
        assert sh(fleet[host], cl.KERNEL_AIO) == empty


def test_maintenance_get(fleet: dict[str, Path]) -> None:
    assert sh(fleet["host01"], cl.MAINTENANCE_GET) == "Disabled\n"


def test_lsof_format(fleet: dict[str, Path]) -> None:
    lines = sh(fleet["host01"], cl.LSOF_FULL).splitlines()
    assert lines[0] == "Cartel | World name | Type | fd | Description"
    last_fd: dict[str, int] = {}
    types: Counter[str] = Counter()
    for line in lines[1:]:
        match = LSOF_LINE.match(line)
        assert match, line
        cartel, _, kind, fd, _ = match.groups()
        assert int(fd) > last_fd.get(cartel, -1)
        last_fd[cartel] = int(fd)
        types[kind] += 1
        assert "  " in line
    assert {"FILE", "CHAR", "SOCKET"} <= set(types)
    assert any(" " in LSOF_LINE.match(x).group(5) for x in lines[1:])  # type: ignore[union-attr]


def reduced_counts(text: str) -> tuple[dict[int, int], dict[int, int], dict[str, int]]:
    vmgfx, char, types = {}, {}, {}
    for line in text.splitlines():
        tag, *rest = line.split()
        if tag == "C":
            char[int(rest[0])], vmgfx[int(rest[0])] = int(rest[1]), int(rest[2])
        elif tag == "T":
            types[rest[0]] = int(rest[1])
        assert tag != "X", line
    return vmgfx, char, types


def test_reduced_and_kb_pipeline_agree_with_state(fleet: dict[str, Path]) -> None:
    for host_dir in fleet.values():
        state = load(host_dir)
        vmgfx, char, types = reduced_counts(sh(host_dir, cl.LSOF_REDUCED))
        kb = {}
        for line in sh(host_dir, cl.KB_PIPELINE).splitlines():
            assert re.match(r"^ {0,6}\d+ \d+$", line) and len(line.split()[0]) <= 7
            count, cartel = line.split()
            kb[int(cartel)] = int(count)
        expected = {v.cartel_id: v.vmgfx_handles for v in state.running_vms}
        assert kb == expected
        assert {c: n for c, n in vmgfx.items() if n} == expected
        assert types["CHAR"] == sum(char.values()) == state.char_in_use
        assert list(kb.values()) == sorted(kb.values())


def test_vmkernel_events_and_hostd_starts(fleet: dict[str, Path]) -> None:
    log = (fleet["host01"] / "var" / "log" / "vmkernel.log").read_text().splitlines()
    warning = re.compile(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z Wa\(180\) vmkwarning: "
        r"cpu\d+:\d+\)WARNING: FDS: \d+: Could not initialize AIO handles "
        r"0x43[0-9a-f]+: No free handles$"
    )
    in_log = [x for x in log if "No free handles" in x]
    assert in_log and all(warning.match(x) for x in in_log)
    cutoff = (NOW - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = [x for x in in_log if x[:19] >= cutoff]
    reduced = sh(fleet["host01"], cl.vmkernel_events(NOW - timedelta(hours=24))).splitlines()
    assert f"N {len(recent)}" in reduced and len(recent) < len(in_log)
    assert f"F {recent[0]}" in reduced and f"L {recent[-1]}" in reduced
    hours = [x for x in reduced if x.startswith("H ")]
    assert sum(int(x.split()[2]) for x in hours) == len(recent)
    dumps = [x for x in reduced if x.startswith("D ")]
    assert len(dumps) == 1 and "UserDump: " in dumps[0]
    assert sum(len(x) + 1 for x in reduced) < 4096
    starts = sh(fleet["host01"], cl.HOSTD_STARTS).splitlines()
    pids = {re.search(r"pid=(\d+)", x).group(1) for x in starts}  # type: ignore[union-attr]
    assert len(starts) == 2 and len(pids) == 2
    assert "Section for VMware ESX, " in starts[0] and "build=25067014" in starts[0]
    cores = [p.name for p in (fleet["host01"] / "var" / "core").iterdir()]
    assert cores == ["hostd-worker-zdump.000"]


def test_seven_and_nine_log_prefixes(fleet: dict[str, Path]) -> None:
    seven = (fleet["host06"] / "var/log/vmkernel.log").read_text().splitlines()
    assert all(re.match(r"^\S+Z cpu\d+:\d+\)", x) for x in seven)
    nine = sh(fleet["host05"], cl.HOSTD_STARTS)
    assert "Section for VMware ESXi, " in nine and "version=9.0.0" in nine
    assert "N 30" in sh(fleet["host05"], cl.vmkernel_events(NOW - timedelta(hours=24)))


def test_unknown_commands_fail(fleet: dict[str, Path]) -> None:
    host = fleet["host02"]
    for command, message in [
        ("esxcli vm process frobnicate", "Error: Unknown command or namespace vm process"),
        ("esxcli --formatter=yaml vm process list", "Error: Invalid formatter"),
        ("vmkvsitools lsoff", "unknown command"),
        ("vmware -x", "invalid option"),
        ("esxcli system settings kernel set -s FDSNumAIOHandles -q 1", "Invalid option -q"),
    ]:
        result = run_command(host, command)
        assert result.returncode == 1, command
        assert message in result.stderr and result.stdout == ""


def test_group_counts_per_cartel_match_full_lsof(fleet: dict[str, Path]) -> None:
    counted: defaultdict[tuple[str, str], int] = defaultdict(int)
    for line in sh(fleet["host04"], cl.LSOF_FULL).splitlines()[1:]:
        fields = line.split()
        if fields[2] == "CHAR" and fields[1] == "vmx" and "vmgfx" in line:
            counted[(fields[0], "vmgfx")] += 1
    state = load(fleet["host04"])
    assert {int(c): n for (c, _), n in counted.items()} == {
        v.cartel_id: v.vmgfx_handles for v in state.running_vms
    }
