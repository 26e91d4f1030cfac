"""Verdicts and advice from a host report."""

from __future__ import annotations

from bot.assess import Action, Risk, Thresholds, assess, vms_to_move
from bot.esx.records import (
    CartelHandles,
    EsxVersion,
    KernelSetting,
    LsofSummary,
    VmProcess,
)
from bot.esx.report import build_report

U3H = EsxVersion("VMware ESXi", "8.0.3", 25067014, "3", "90")
U3I = EsxVersion("VMware ESXi", "8.0.3", 25205845, "3", "95")


def lsof_with(per_vm: list[int], other_char: int = 0) -> tuple[LsofSummary, list[VmProcess]]:
    cartels = {1000 + i: CartelHandles(1000 + i, n, n) for i, n in enumerate(per_vm)}
    if other_char:
        cartels[1] = CartelHandles(1, other_char, 0)
    vms = [VmProcess(f"vm{i:02d}", 2000 + i, 1000 + i) for i in range(len(per_vm))]
    return LsofSummary(cartels, {"CHAR": sum(per_vm) + other_char}), vms


def setting(configured: int, runtime: int) -> KernelSetting:
    return KernelSetting("FDSNumAIOHandles", "uint32", configured, runtime, 32768)


def test_near_exhaustion_without_fix_says_migrate_the_heaviest() -> None:
    lsof, vms = lsof_with([9000, 8000, 7000, 6000, 1000], other_char=200)
    report = build_report("host01", lsof=lsof, vms=vms, setting=None, version=U3H)
    a = assess(report, Thresholds())
    assert report.in_use == 31200
    assert a.risk is Risk.CRITICAL and a.action is Action.MIGRATE
    # 31,200 - 9,000 = 22,200 < 80% of 32,768 (26,214): moving vm00 alone is enough
    assert [vm.name for vm in a.to_move] == ["vm00"]
    assert "vm00 (9,000 vmgfx, 9,000 open CHAR handles)" in a.advice
    assert "(open CHAR handles, 95%)" in a.summary


def test_vms_to_move_keeps_going_until_under_warning() -> None:
    lsof, vms = lsof_with([5000] * 6 + [1000])
    report = build_report("h", lsof=lsof, vms=vms, setting=None, version=U3H)
    chosen = vms_to_move(report, Thresholds(warning_percent=50, critical_percent=90))
    assert len(chosen) == 3  # 31,000 -> 16,000 < 16,384


def test_eligible_host_is_told_to_raise_the_limit() -> None:
    lsof, vms = lsof_with([14000, 13000])
    report = build_report("h", lsof=lsof, vms=vms, setting=setting(32768, 32768), version=U3I)
    a = assess(report, Thresholds())
    assert report.fix.available
    assert a.action is Action.RAISE_LIMIT
    assert "65536" in a.advice


def test_reboot_pending_is_the_action_when_configured_exceeds_runtime() -> None:
    lsof, vms = lsof_with([1000])
    report = build_report("h", lsof=lsof, vms=vms, setting=setting(65536, 32768), version=U3I)
    assert report.limit.reboot_pending
    assert assess(report, Thresholds()).action is Action.REBOOT


def test_host_with_room_needs_nothing() -> None:
    lsof, vms = lsof_with([1000, 500])
    report = build_report("h", lsof=lsof, vms=vms, setting=None, version=U3H)
    a = assess(report, Thresholds())
    assert (a.risk, a.action, a.to_move) == (Risk.OK, Action.NONE, [])
    assert report.headroom == 32768 - 1500


def test_ranking_joins_names_and_keeps_unknown_cartels() -> None:
    lsof, vms = lsof_with([10, 30, 20])
    lsof.cartels[555] = CartelHandles(555, 40, 40)
    report = build_report("h", lsof=lsof, vms=vms, setting=None, version=None)
    assert [(v.rank, v.name, v.vmgfx_handles) for v in report.vms] == [
        (1, None, 40),
        (2, "vm01", 30),
        (3, "vm02", 20),
        (4, "vm00", 10),
    ]
    assert report.limit.runtime == 32768 and report.limit.configured is None


def test_u3i_without_a_kernel_capture_is_judged_by_its_build() -> None:
    from bot.esx.report import CaptureNotes

    lsof, vms = lsof_with([15000, 14000])
    u3i = EsxVersion("VMware ESXi", "8.0.3", 25205845)
    report = build_report("h", lsof=lsof, vms=vms, setting=None, version=u3i,
                          notes=CaptureNotes(setting_captured=False))
    a = assess(report, Thresholds())
    assert report.fix.available and "not captured" in report.fix.reason
    assert "setting is missing" not in report.fix.reason
    assert a.action is Action.RAISE_LIMIT
    assert a.advice.startswith("First check that the host has the setting "
                               "(`esxcli system settings kernel list -o FDSNumAIOHandles`)")
    captured_absent = build_report("h", lsof=lsof, vms=vms, setting=None, version=u3i)
    assert not captured_absent.fix.available
    assert "setting is missing" in captured_absent.fix.reason
