"""`aio-bot analyze` on captures as operators hand them over (issue 13's list), and on a
support bundle built in the test from vm-support's layout (tests/fixtures/SOURCES.md)."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.kb_busybox import kb_counts

FIXTURES = Path(__file__).parent / "fixtures" / "esx"
LSOF = (FIXTURES / "lsof_small.txt").read_text()
U3I_VL = "VMware ESXi 8.0.3 build-25205845\nVMware ESXi 8.0 Update 3\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    status = main(["analyze", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert status == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def vmgfx(doc: dict[str, Any]) -> dict[int, int]:
    return {vm["cartel_id"]: vm["vmgfx_handles"] for vm in doc["vms"] if vm["vmgfx_handles"]}


def test_a_pasted_lsof_gives_the_pipelines_numbers_and_lists_what_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = tmp_path / "clean.txt"
    clean.write_text(LSOF)
    lines = LSOF.splitlines()
    cut_middle = [*lines[:5], lines[5][:12], *lines[6:]]
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(cut_middle)[:-9])  # a middle line and the last line cut short
    pasted = tmp_path / "pasted.txt"
    body = "\n".join(["[root@esx01:~] vmkvsitools lsof", "", *cut.read_text().split("\n")])
    pasted.write_bytes(("\ufeff" + body.replace("   vmx", "\u00a0 vmx")).replace(
        "\n", "\r\n").encode())
    doc = run(capsys, "--lsof", str(pasted))
    assert vmgfx(doc) == kb_counts(cut)
    assert doc["input_warnings_total"] == len(doc["input_warnings"]) >= 2
    assert doc["input_warnings"][0] == {"file": str(pasted), "line": 1,
                                        "text": "\ufeff[root@esx01:~] vmkvsitools lsof",
                                        "why": "a shell prompt or command line"}
    assert main(["analyze", "--lsof", str(pasted)]) == 0
    assert "lines skipped (" in capsys.readouterr().out


def test_refuses_binary_and_linux_lsof(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    binary = tmp_path / "core.bin"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    assert main(["analyze", "--lsof", str(binary)]) == 2
    assert "binary file" in capsys.readouterr().err


def test_kb_style_vm_list_names_and_display_name(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    lsof = tmp_path / "lsof.txt"
    lsof.write_text("2099517 vmx CHAR 5 /vmfs/devices/char/vmgfx/vmgfx0\n" * 3
                    + "2100998 vmx CHAR 5 /vmfs/devices/char/vmgfx/vmgfx0\n")
    doc = run(capsys, "--lsof", str(lsof), "--vm-list", str(FIXTURES / "vm_process_list_kb.txt"))
    assert [(vm["name"], vm["title"], vm["vmgfx_handles"]) for vm in doc["vms"]] == [
        ("Gitlab", None, 3), ("render farm 01 (vGPU)", "render-01", 1)]


def test_u3i_without_a_kernel_capture_is_not_captured_not_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = tmp_path / "vl.txt"
    version.write_text("[root@esx01:~] vmware -vl\r\n" + U3I_VL.replace("\n", "\r\n"))
    doc = run(capsys, "--lsof", str(FIXTURES / "lsof_small.txt"), "--version", str(version))
    assert doc["setting_captured"] is False
    assert doc["fix"]["available"] is True
    assert "not captured" in doc["fix"]["reason"] and "missing" not in doc["fix"]["reason"]
    assert "kernel list -o FDSNumAIOHandles" in doc["fix"]["reason"]


def test_rotations_are_not_restarts_and_counts_say_their_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostd = str(FIXTURES / "hostd_70_rotations.log")
    lsof = str(FIXTURES / "lsof_small.txt")
    doc = run(capsys, "--lsof", lsof, "--hostd-log", hostd)
    assert [e["detail"] for e in doc["hostd_events"]] == ["pid=2101877"]
    assert doc["window"]["label"] == "in the capture, 2025-11-26 00:00 to 2025-11-28 00:00 UTC"
    doc = run(capsys, "--lsof", lsof, "--hostd-log", hostd, "--since", "2h")
    assert doc["hostd_events"] == []
    assert doc["window"]["label"] == "from 2025-11-27 22:00 to 2025-11-28 00:00 UTC"
    assert main(["analyze", "--lsof", lsof, "--hostd-log", hostd]) == 0
    out = capsys.readouterr().out
    assert "hostd in the capture, 2025-11-26 00:00 to 2025-11-28 00:00 UTC: 1 start(s)" in out


def test_syslog_and_gzipped_rotations_several_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rotated = tmp_path / "vmkernel.0.gz"
    rotated.write_bytes(gzip.compress((FIXTURES / "vmkernel_80.log").read_bytes()))
    doc = run(capsys, "--lsof", str(FIXTURES / "lsof_small.txt"),
              "--vmkernel-log", str(rotated),
              "--vmkernel-log", str(FIXTURES / "vmkernel_syslog.log"),
              "--vobd-log", str(FIXTURES / "vobd_crash.log"))
    assert doc["warnings"]["count"] == 3 + 3
    dumps = [e for e in doc["hostd_events"] if e["kind"] == "coredump"]
    assert [d["detail"] for d in dumps] == ["/var/core/hostd-worker-zdump.001",
                                            "/var/core/hostd-worker-zdump.000"]
    untimed = [w for w in doc["input_warnings"] if w["file"].endswith("vmkernel_syslog.log")]
    assert [w["line"] for w in untimed] == [5]
    assert doc["assessment"]["summary"].endswith(
        "6 FDS 'No free handles' warnings in the capture, 2025-06-01 12:00 to "
        "2025-11-27 14:02 UTC.")


def _bundle_tree(root: Path) -> Path:
    """A support bundle as vm-support lays it out: commands/ and var/run/log/."""
    top = root / "esx-esx01.example.com-2025-11-28--09.00-123456"
    commands, logs = top / "commands", top / "var" / "run" / "log"
    commands.mkdir(parents=True)
    logs.mkdir(parents=True)
    lines = LSOF.splitlines(keepends=True)
    (commands / "vmkvsitools_lsof.txt.FRAG-00000").write_text("".join(lines[:9]))
    (commands / "vmkvsitools_lsof.txt.FRAG-00001").write_text("".join(lines[9:]))
    (commands / "localcli_vm-process-list.txt").write_bytes(
        (FIXTURES / "vm_process_list.txt").read_bytes())
    (commands / "vmware_-vl.txt").write_text(U3I_VL)
    (commands / "localcli_system-settings-kernel-list--d.txt").write_text(
        "Name  Type  Configured  Runtime  Default  Description\n"
        "----  ----  ----------  -------  -------  -----------\n")
    (logs / "vmkernel.log").write_bytes((FIXTURES / "vmkernel_80.log").read_bytes())
    (logs / "vmkernel.0.gz").write_bytes(gzip.compress(
        (FIXTURES / "vmkernel_70.log").read_bytes()))
    (logs / "hostd.log").write_bytes((FIXTURES / "hostd.log").read_bytes())
    (commands / "ps_-cPTgjstz.txt").write_text("unrelated\n")
    return top


@pytest.mark.parametrize("packed", [True, False])
def test_a_support_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str], packed: bool
                          ) -> None:
    top = _bundle_tree(tmp_path / "tree")
    bundle = top
    if packed:
        bundle = tmp_path / "esx-esx01.tgz"
        with tarfile.open(bundle, "w:gz") as tar:
            tar.add(top, arcname=top.name)
    doc = run(capsys, "--bundle", str(bundle), "--host", "esx01")
    clean = tmp_path / "lsof.txt"
    clean.write_text(LSOF)
    assert vmgfx(doc) == kb_counts(clean)
    assert [vm["name"] for vm in doc["vms"]][:2] == ["Gitlab", "harbor&nexus"]
    assert doc["build"] == 25205845
    assert doc["setting_captured"] is False  # `kernel list -d`: no row is not "absent"
    assert doc["warnings"]["count"] == 6
    found = {c["kind"]: c["path"] for c in doc["captures"]}
    assert found["lsof"].endswith("commands/vmkvsitools_lsof.txt")  # the FRAG parts joined
    assert found["vm_list"].endswith("commands/localcli_vm-process-list.txt")
    assert found["vobd_logs"] is None
    assert main(["analyze", "--bundle", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "Bundle: found lsof, vm_list, kernel, version, vmkernel_logs, hostd_logs; " \
           "not found: vobd_logs" in out
