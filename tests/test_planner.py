"""The planner on hand-made reports and inventories: which steps, in which order, why."""

from __future__ import annotations

from bot.assess import Thresholds
from bot.esx.records import (
    CartelHandles,
    EsxVersion,
    FixVerdict,
    KernelSetting,
    LsofSummary,
    VmProcess,
)
from bot.esx.report import HostReport, build_report
from bot.remediation.plan import Plan, StepKind
from bot.remediation.planner import plan_fix, plan_migrate, plan_reboot
from bot.vsphere.api import VcHost, VcInventory, VcVm, bios_uuid_from_esxcli

U3H = EsxVersion("VMware ESXi", "8.0.3", 25067014, "3", "90")
U3I = EsxVersion("VMware ESXi", "8.0.3", 25205845, "3", "95")
A100 = "grid_a100-4c"
L40S = "grid_l40s-8q"


def uuid(n: int) -> str:
    h = f"{n:032x}"
    pairs = [h[i:i + 2] for i in range(0, 32, 2)]
    return " ".join(pairs[:8]) + "-" + " ".join(pairs[8:])


def host(name: str, handles: dict[str, int], *, version: EsxVersion = U3H,
         setting: KernelSetting | None = None, base: int = 0) -> HostReport:
    cartels, vms = {}, []
    for i, (vm, n) in enumerate(handles.items()):
        cartel = base + 1000 + i
        cartels[cartel] = CartelHandles(cartel, n, n)
        vms.append(VmProcess(vm, cartel + 1, cartel, uuid=uuid(base + i)))
    return build_report(name, lsof=LsofSummary(cartels), vms=vms, setting=setting,
                        version=version, cluster="c1")


def vc(reports: list[HostReport], *, profiles: dict[str, tuple[str, ...]],
       vm_profile: dict[str, str] | None = None, hot: bool = True,
       no_migrate: frozenset[str] = frozenset()) -> VcInventory:
    hosts = tuple(VcHost(r.host, f"host-{r.host}", "c1", False, True, profiles[r.host])
                  for r in reports)
    vms = tuple(
        VcVm(v.name or "", f"vm-{v.cartel_id}", bios_uuid_from_esxcli(v.uuid or ""),
             "poweredOn", r.host, ((vm_profile or {}).get(v.name or "", A100),),
             (v.name or "") not in no_migrate)
        for r in reports for v in r.vms)
    return VcInventory(hosts, vms, hot)


def kinds(plan: Plan) -> list[tuple[str, str | None, str | None]]:
    return [(s.kind.value, s.vm, s.target) for s in plan.steps]


def test_no_fix_migrates_heaviest_to_the_emptiest_host_with_the_profile() -> None:
    src = host("h1", {"big": 9000, "mid": 8000, "small": 7000, "tiny": 6000}, base=0)
    roomy = host("h2", {"x": 2000}, base=100)
    fuller = host("h3", {"y": 12000}, base=200)
    wrong_gpu = host("h4", {}, base=300)
    inv = vc([src, roomy, fuller, wrong_gpu],
             profiles={"h1": (A100,), "h2": (A100,), "h3": (A100,), "h4": (L40S,)})
    plan = plan_fix(src, [roomy, fuller, wrong_gpu], inv, Thresholds())
    # 30,000 in use; moving `big` leaves 21,000 < 26,214 (80%): one migration, to h2
    assert kinds(plan) == [("migrate", "big", "h2")]
    assert "92% → 64%" in plan.steps[0].effect and "h2: 6% → 34%" in plan.steps[0].effect


def test_targets_fill_up_and_the_rest_is_powered_off() -> None:
    src = host("h1", {"a": 8000, "b": 8000, "c": 8000, "d": 8000})
    small = host("h2", {"x": 2000}, base=100)
    inv = vc([src, small], profiles={"h1": (A100,), "h2": (A100,)})
    plan = plan_fix(src, [small], inv, Thresholds(warning_percent=50, critical_percent=90))
    # under 50% (16,384) means two VMs off h1; h2 takes one (10,000 = 31%), not two (55%)
    assert kinds(plan) == [("migrate", "a", "h2"), ("power-off", "b", None)]
    assert "no host in the cluster" in plan.steps[1].reason


def test_power_off_when_live_migration_is_disabled_or_unsupported() -> None:
    src = host("h1", {"a": 20000, "b": 11000})
    dst = host("h2", {}, base=100)
    off = plan_fix(src, [dst], vc([src, dst], profiles={"h1": (A100,), "h2": (A100,)},
                                   hot=False), Thresholds())
    assert kinds(off) == [("power-off", "a", None)]
    assert "vgpu.hotmigrate.enabled" in off.steps[0].reason
    unsupported = plan_fix(src, [dst], vc([src, dst], profiles={"h1": (A100,), "h2": (A100,)},
                                           no_migrate=frozenset({"a"})), Thresholds())
    # powering `a` off alone brings h1 to 34%: `b` stays
    assert kinds(unsupported) == [("power-off", "a", None)]
    assert "does not support live migration" in unsupported.steps[0].reason


def test_eligible_host_gets_raise_evacuate_reboot() -> None:
    setting = KernelSetting("FDSNumAIOHandles", "uint32", 32768, 32768, 32768)
    src = host("h1", {"a": 15000, "b": 14000}, version=U3I, setting=setting)
    dst = host("h2", {}, base=100)
    plan = plan_fix(src, [dst], vc([src, dst], profiles={"h1": (A100,), "h2": (A100,)}),
                    Thresholds())
    assert [s.kind for s in plan.steps] == [StepKind.RAISE_LIMIT, StepKind.MIGRATE,
                                            StepKind.POWER_OFF, StepKind.REBOOT]
    assert plan.destructive


def test_reboot_pending_plans_evacuation_and_reboot_only() -> None:
    setting = KernelSetting("FDSNumAIOHandles", "uint32", 65536, 32768, 32768)
    src = host("h1", {"a": 1000}, version=U3I, setting=setting)
    dst = host("h2", {}, base=100)
    plan = plan_fix(src, [dst], vc([src, dst], profiles={"h1": (A100,), "h2": (A100,)}),
                    Thresholds())
    assert kinds(plan) == [("migrate", "a", "h2"), ("reboot", None, None)]
    assert plan_reboot(src, [dst], vc([src, dst], profiles={"h1": (A100,), "h2": (A100,)}),
                       Thresholds()).steps[-1].kind is StepKind.REBOOT


def test_a_quiet_host_needs_nothing() -> None:
    src = host("h1", {"a": 1000})
    plan = plan_fix(src, [], vc([src], profiles={"h1": (A100,)}), Thresholds())
    assert plan.steps == [] and "nothing to do" in plan.notes[0]


def test_migrate_to_a_named_host_or_explain() -> None:
    src = host("h1", {"a": 5000})
    h2, h3 = host("h2", {}, base=100), host("h3", {}, base=200)
    inv = vc([src, h2, h3], profiles={"h1": (A100,), "h2": (A100,), "h3": (L40S,)})
    vm = src.vms[0]
    assert kinds(plan_migrate(src, [h2, h3], inv, Thresholds(), vm, "h2")) == [
        ("migrate", "a", "h2")]
    refused = plan_migrate(src, [h2, h3], inv, Thresholds(), vm, "h3")
    assert refused.steps == [] and "vGPU profile" in refused.notes[0]


def test_fix_verdict_type_is_used() -> None:
    assert isinstance(host("h1", {}).fix, FixVerdict)
