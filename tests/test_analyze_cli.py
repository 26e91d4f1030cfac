"""`aio-bot analyze`: its JSON agrees with KB 408376's pipeline on the same file, cartel by
cartel, and it joins names from the other captures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from bot.cli import main
from tests.pipes import fifo_with
from tests.test_lsof_kb_equivalence import _kb_counts, long_lsof_texts, lsof_texts

FIXTURES = Path(__file__).parent / "fixtures" / "esx"


def analyze_json(path: Path, capsys: pytest.CaptureFixture[str], *extra: str
                 ) -> tuple[int, dict[str, object] | None, str]:
    status = main(["analyze", "--lsof", str(path), "--format", "json", *extra])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if status == 0 else None), err


def check_against_kb(text: str, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
    status, doc, err = analyze_json(path, capsys)
    assert status == 0 and doc is not None, err
    ours = Counter({vm["cartel_id"]: vm["vmgfx_handles"]  # type: ignore[index]
                    for vm in doc["vms"] if vm["vmgfx_handles"]})  # type: ignore[attr-defined]
    assert ours == _kb_counts(path)
    counts = [vm["vmgfx_handles"] for vm in doc["vms"]]  # type: ignore[attr-defined]
    assert counts == sorted(counts, reverse=True)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=lsof_texts())
def test_analyze_json_equals_the_kb_pipeline(
    text: str, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    check_against_kb(text, tmp_path_factory.mktemp("a") / "lsof.txt", capsys)


@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(text=long_lsof_texts())
def test_analyze_json_equals_the_kb_pipeline_on_long_files(
    text: str, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    check_against_kb(text, tmp_path_factory.mktemp("a") / "lsof.txt", capsys)


def test_analyze_joins_names_limits_and_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lsof = tmp_path / "lsof.txt"
    lsof.write_text(
        "Cartel | World name | Type | fd | Description\n"
        + "2099517   vmx   CHAR   5   /vmfs/devices/char/vmgfx/vmgfx0\n" * 4
        + "22541452  vmx   CHAR   6   /vmfs/devices/char/vmgfx/vmgfx1\n" * 2
        + "2099517   vmx   FILE   7   /vmfs/volumes/ds/Gitlab/Gitlab.vmdk\n"
    )
    vm_list = tmp_path / "vms.txt"
    vm_list.write_text(
        "Gitlab\n   World ID: 2099532\n   Process ID: 0\n   VMX Cartel ID: 2099517\n"
        "   UUID: 56 4d 48 08 86 8b 8f 67-a5 4a 33 f3 87 a8 d0 59\n"
        "   Display Name: Gitlab\n"
        "   Config File: /vmfs/volumes/6107a9c3/Gitlab/Gitlab.vmx\n\n"
        "harbor&nexus\n   World ID: 22541454\n   Process ID: 0\n   VMX Cartel ID: 22541452\n"
        "   UUID: 56 4d 00 00 00 00 00 00-00 00 00 00 00 00 00 01\n"
        "   Display Name: harbor&nexus\n"
        "   Config File: /vmfs/volumes/6107a9c3/harbor/harbor.vmx\n\n"
    )
    kernel = tmp_path / "kernel.txt"
    kernel.write_text(
        "Name              Type    Configured  Runtime  Default  Description\n"
        "----------------  ------  ----------  -------  -------  -----------\n"
        "FDSNumAIOHandles  uint32  65536       32768    32768    Number of AIO handles\n"
    )
    version = tmp_path / "version.txt"
    version.write_text("   Product: VMware ESXi\n   Version: 8.0.3\n"
                       "   Build: Releasebuild-25205845\n   Update: 3\n   Patch: 95\n")
    status, doc, _ = analyze_json(lsof, capsys, "--vm-list", str(vm_list), "--kernel",
                                  str(kernel), "--version", str(version), "--host", "esx-7")
    assert status == 0 and doc is not None
    assert doc["host"] == "esx-7" and doc["build"] == 25205845
    assert [(v["name"], v["world_id"], v["vmgfx_handles"]) for v in doc["vms"]] == [  # type: ignore[attr-defined]
        ("Gitlab", 2099532, 4), ("harbor&nexus", 22541454, 2)]
    assert doc["limit"] == {"configured": 65536, "runtime": 32768, "default": 32768,
                            "reboot_pending": True}
    assert doc["fix"]["available"] is True  # type: ignore[index]
    assert doc["assessment"]["action"] == "reboot"  # type: ignore[index]


def test_analyze_errors_are_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", "--lsof", str(tmp_path / "missing.txt")]) == 2
    assert "There is no file" in capsys.readouterr().err
    linux = tmp_path / "linux.txt"
    linux.write_text("COMMAND  PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n"
                     "systemd    1 root  cwd    DIR  259,2     4096    2 /\n")
    assert main(["analyze", "--lsof", str(linux)]) == 2
    err = capsys.readouterr().err
    assert "Linux or macOS `lsof`" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert main(["analyze"]) == 2
    assert "--bundle" in capsys.readouterr().err


def test_analyze_reads_a_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`aio-bot analyze --lsof <(ssh root@host vmkvsitools lsof)`: the file is a pipe."""
    with fifo_with(tmp_path / "lsof.fifo", (FIXTURES / "lsof_small.txt").read_bytes()) as fifo:
        status, doc, _ = analyze_json(fifo, capsys)
    assert status == 0 and doc is not None
    assert doc["in_use"] == 7
    assert main(["analyze", "--lsof", str(tmp_path)]) == 2
    assert "There is no file" in capsys.readouterr().err
