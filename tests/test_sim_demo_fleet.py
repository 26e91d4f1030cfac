"""The demo fleet meets its spec; the synthetic fleet is deterministic and scannable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.esx import commandlines as cl
from bot.sim.demo_fleet import build_fleet_dirs, demo_fleet_states, synthetic_fleet_states
from bot.sim.shell import run_command
from bot.sim.state import HostState, to_json

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def by_name() -> dict[str, HostState]:
    return {s.name: s for s in demo_fleet_states(NOW)}


def parse_ts(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_deterministic() -> None:
    first = [to_json(s) for s in demo_fleet_states(NOW)]
    assert first == [to_json(s) for s in demo_fleet_states(NOW)]


def test_fleet_shape() -> None:
    states = demo_fleet_states(NOW)
    assert len(states) >= 6
    assert {s.cluster for s in states} == {"gpu-cluster-a", "gpu-cluster-b"}
    running = [v for s in states for v in s.running_vms]
    assert len(running) >= 100
    names = [v.name for s in states for v in s.vms]
    assert len(names) == len(set(names))
    for wanted in (
        "vdi-eng-017",
        "render-node-04",
        "ml-train-a100-02",
        "cad-ws-112",
        "harbor&nexus",
        "QA Win11 Desktop",
    ):
        assert wanted in names
    assert all(v.vgpu_profile.startswith("grid_") for v in running)
    assert any(not v.migrate_supported for v in running)
    assert any(not v.powered_on for s in states for v in s.vms)


def test_host01_is_near_exhaustion_and_crashed() -> None:
    host = by_name()["host01"]
    assert (host.version, host.build, host.kernel_aio) == ("8.0.3", 25067014, None)
    assert 31_000 <= host.char_in_use <= 32_000 < 32_768
    recent = [
        x for x in host.vmkernel_log if x.warning and parse_ts(x.ts) > NOW - timedelta(hours=24)
    ]
    assert len(recent) > 100 and all(parse_ts(x.ts) <= NOW for x in recent)
    assert any("hostd-worker-zdump" in x.message for x in host.vmkernel_log)
    starts = [x for x in host.hostd_log if x.start]
    assert len(starts) == 2 and starts[0].pid != starts[1].pid
    assert host.core_files


def test_other_hosts_cover_every_case() -> None:
    hosts = by_name()

    def kernel(name: str) -> tuple[int, int] | None:
        k = hosts[name].kernel_aio
        return None if k is None else (k.configured, k.runtime)

    u3i = [h for h in hosts.values() if h.build == 25205845]
    assert any(kernel(h.name) == (32768, 32768) for h in u3i)
    assert any(kernel(h.name) == (65536, 32768) for h in u3i)
    assert any(kernel(h.name) == (65536, 65536) for h in u3i)
    nine = [h for h in hosts.values() if h.version == "9.0.0"]
    assert nine and nine[0].build == 24755229 and nine[0].kernel_aio is None
    seven = [h for h in hosts.values() if h.version == "7.0.3"]
    assert seven and seven[0].build == 24784741 and seven[0].kernel_aio is None
    host01_profiles = {v.vgpu_profile for v in hosts["host01"].running_vms}
    room = [
        h
        for h in hosts.values()
        if h.name != "host01"
        and h.cluster == "gpu-cluster-a"
        and host01_profiles <= set(h.gpu_profiles)
        and h.char_in_use < 8000
    ]
    assert len(room) >= 2


def test_synthetic_fleet(tmp_path: Path) -> None:
    states = synthetic_fleet_states(40, 12, seed=7)
    assert [to_json(s) for s in states] == [
        to_json(s) for s in synthetic_fleet_states(40, 12, seed=7)
    ]
    assert len(states) == 40 and all(len(s.running_vms) == 12 for s in states)
    assert len({s.name for s in states}) == 40
    dirs = build_fleet_dirs(tmp_path, states[:3])
    for state in states[:3]:
        out = run_command(dirs[state.name], cl.LSOF_REDUCED).stdout
        assert f"T CHAR {state.char_in_use}\n" in out
