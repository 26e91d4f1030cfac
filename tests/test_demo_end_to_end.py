"""The demo fleet end to end: real SSH to simulated hosts, the real collectors, the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import DemoFleet
from bot.esx.commandlines import KB_PIPELINE, LSOF_REDUCED
from commands.catalog import build_registry
from commands.context import Context
from commands.results import CheckResult, ScanResult, TopResult

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def demo() -> AsyncIterator[DemoFleet]:
    async with DemoFleet() as fleet:
        yield fleet


def ctx(demo: DemoFleet) -> Context:
    assert demo.transport is not None
    return Context(demo.inventory, demo.transport)


def kb_counts(stdout: str) -> dict[int, int]:
    """`uniq -c` lines: `<count> <cartel>`."""
    counts = {}
    for line in stdout.splitlines():
        count, cartel = line.split()
        counts[int(cartel)] = int(count)
    return counts


async def test_top_counts_equal_the_kb_pipeline_run_on_the_host(demo: DemoFleet) -> None:
    result = await build_registry().run("top host01 limit=1000", ctx(demo))
    assert isinstance(result, TopResult)
    assert demo.transport is not None
    kb = await demo.transport.run(demo.inventory.get("host01"), KB_PIPELINE)
    expected = kb_counts(kb.stdout)
    got = {vm.cartel_id: vm.vmgfx_handles for vm in result.report.vms if vm.vmgfx_handles}
    assert got == expected
    assert len(expected) >= 15
    heaviest_last = list(expected)[-1]
    assert result.report.vms[0].vmgfx_handles == expected[heaviest_last]
    assert all(vm.name for vm in result.report.vms)


async def test_host01_is_critical_with_no_fix_and_warnings(demo: DemoFleet) -> None:
    result = await build_registry().run("check host01", ctx(demo))
    assert isinstance(result, CheckResult)
    report = result.report
    assert report.version is not None and report.version.build == 25067014
    assert not report.fix.available and "25205845" in report.fix.reason
    assert report.percent_used > 90
    assert report.fds.count > 100 and report.fds.last is not None and report.hostd_events
    assert result.assessment.action.value == "migrate"
    assert result.assessment.to_move


async def test_bytes_per_host_stay_small(demo: DemoFleet) -> None:
    result = await build_registry().run("top host01", ctx(demo))
    assert isinstance(result, TopResult)
    assert 0 < result.report.bytes_received <= 64 * 1024
    assert demo.transport is not None
    host01 = demo.inventory.get("host01")
    full_size = int((await demo.transport.run(host01, "vmkvsitools lsof | wc -c")).stdout)
    reduced = await demo.transport.run(host01, LSOF_REDUCED)
    assert full_size > 1_000_000
    assert reduced.bytes_received * 100 < full_size


async def test_scan_ranks_every_host_and_gives_each_its_verdict(demo: DemoFleet) -> None:
    result = await build_registry().run("scan all", ctx(demo))
    assert isinstance(result, ScanResult)
    assert not result.failures
    assert len(result.rows) == len(demo.inventory) >= 6
    percents = [r.report.percent_used for r in result.rows]
    assert percents == sorted(percents, reverse=True)
    by_host = {r.report.host: r for r in result.rows}
    assert by_host["host01"].assessment.action.value == "migrate"
    actions = {r.assessment.action.value for r in result.rows}
    assert {"migrate", "reboot"} <= actions
    cluster = await build_registry().run("scan gpu-cluster-b", ctx(demo))
    assert isinstance(cluster, ScanResult)
    assert {r.report.cluster for r in cluster.rows} == {"gpu-cluster-b"}


async def test_a_down_host_is_reported_in_a_sentence_and_the_scan_goes_on(
    demo: DemoFleet,
) -> None:
    demo.fleet.servers["host02"].down = True
    result = await build_registry().run("scan all", ctx(demo))
    assert isinstance(result, ScanResult)
    assert [f.host for f in result.failures] == ["host02"]
    assert "host02" in result.failures[0].error and "\n" not in result.failures[0].error
    assert len(result.rows) == len(demo.inventory) - 1


async def test_user_words_never_reach_a_host(demo: DemoFleet) -> None:
    registry = build_registry()
    for text in ["top host01;reboot", "check $(id)", "top host01 limit=`id`", "scan x;y"]:
        with pytest.raises(Exception) as err:
            await registry.run(text, ctx(demo))
        assert "Traceback" not in str(err.value)
    received = [line for s in demo.fleet.servers.values() for line in s.received]
    assert received == []


def test_cli_demo_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "top", "host01", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["host"] == "host01"
    assert set(doc["limit"]) >= {"configured", "runtime", "default"}
    assert doc["limit"]["runtime"] == 32768 and doc["limit"]["configured"] is None
    assert doc["fix"]["available"] is False
    assert doc["in_use"] > 30000
    ranks = [vm["rank"] for vm in doc["vms"]]
    assert ranks == list(range(1, len(ranks) + 1))
    counts = [vm["vmgfx_handles"] for vm in doc["vms"]]
    assert counts == sorted(counts, reverse=True)
    for vm in doc["vms"]:
        assert set(vm) >= {"rank", "name", "cartel_id", "world_id", "vmgfx_handles",
                           "char_handles"}
    assert doc["warnings"]["count"] > 100 and doc["warnings"]["last"]["time"]


def test_cli_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "top", "host99"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean" in err and "Traceback" not in err
    assert main(["demo", "frobnicate"]) == 2
    assert main(["demo", "help"]) == 0
    assert "top <host>" in capsys.readouterr().out


def test_python_m_bot_demo_prints_the_ranked_table() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "bot", "demo", "top", "host01"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "host01" in out.stdout and "8.0 U3h" in out.stdout
    assert re.search(r"^\s*1\s+\S+", out.stdout, re.M)


def test_console_session(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "bot", "demo"], cwd=ROOT, env=env,
                         input="help\ntop nosuch\ncheck host03\nquit\n", capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "scan [<scope>]" in out.stdout
    assert "error: There is no host `nosuch`" in out.stdout
    assert "reboot" in out.stdout.lower()
