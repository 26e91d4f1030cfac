"""PyVmomiVCenter against govmomi's vCenter simulator (tests/vcsim/main.go).

The simulator: datacenter DC0, clusters DC0_C0 (hosts offer A100 profiles) and DC0_C1
(L40S), two hosts each, six powered-on VMs, vgpu.hotmigrate.enabled = "true", and
DC0_C1_RP0_VM2 whose relocate task never ends."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim

from bot.errors import AmbiguousVm, CertificateError, TaskTimeout, VCenterError, VmNotFound
from bot.vsphere.api import VcInventory, VcVm
from bot.vsphere.client import PyVmomiVCenter
from bot.vsphere.settings import VCenterSettings
from bot.vsphere.tls import fingerprint
from tests.vcsim_helpers import HUNG_VM, VcSim

A100 = ("grid_a100-4c", "grid_a100-8c", "grid_a100-10c")
L40S = ("grid_l40s-4q", "grid_l40s-8q", "grid_l40s-12q")


def settings(sim: VcSim, **changes: object) -> VCenterSettings:
    base: dict[str, object] = {"host": sim.host, "port": sim.port, "user": sim.user,
                               "password": sim.password, "ca_file": sim.cert_file,
                               "connect_timeout": 5.0, "request_timeout": 10.0,
                               "poll_interval": 0.1}
    base.update(changes)
    return VCenterSettings(**base)  # type: ignore[arg-type]


def deadline(seconds: float = 10.0) -> float:
    return asyncio.get_running_loop().time() + seconds


@pytest.fixture
async def vc(vcsim: VcSim) -> AsyncIterator[PyVmomiVCenter]:
    client = PyVmomiVCenter(settings(vcsim))
    yield client
    await client.close()


@pytest.fixture
def raw(vcsim: VcSim) -> Iterator[vim.ServiceInstanceContent]:
    """A second, plain pyVmomi session: the test's hands inside the simulator."""
    ctx = ssl.create_default_context(cafile=str(vcsim.cert_file))
    si = SmartConnect(host=vcsim.host, port=vcsim.port, user=vcsim.user, pwd=vcsim.password,
                      sslContext=ctx, httpConnectionTimeout=10)
    yield si.RetrieveContent()
    Disconnect(si)


def raw_vm(content: vim.ServiceInstanceContent, name: str) -> vim.VirtualMachine:
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return next(v for v in view.view if v.name == name)
    finally:
        view.DestroyView()


def other_cert(tmp_path: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 that is not the simulator's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not-vcsim")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = tmp_path / "other.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def by_name(inv: VcInventory, name: str) -> VcVm:
    return next(v for v in inv.vms if v.name == name)


# --- trust ------------------------------------------------------------------------------------

async def test_verifies_the_simulator_certificate_as_ca(vc: PyVmomiVCenter) -> None:
    inv = await vc.inventory()
    assert len(inv.hosts) == 4
    assert vc.session.logins == 1


async def test_wrong_ca_is_a_certificate_error(vcsim: VcSim, tmp_path: Path) -> None:
    client = PyVmomiVCenter(settings(vcsim, ca_file=other_cert(tmp_path)))
    with pytest.raises(CertificateError, match="certificate not trusted: self-signed"):
        await client.inventory()


async def test_system_cas_do_not_trust_the_simulator(vcsim: VcSim) -> None:
    client = PyVmomiVCenter(settings(vcsim, ca_file=None))
    with pytest.raises(CertificateError):
        await client.inventory()


async def test_insecure_only_when_asked_and_loudly(vcsim: VcSim,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    client = PyVmomiVCenter(settings(vcsim, ca_file=None, insecure=True))
    with caplog.at_level(logging.WARNING, logger="bot.vsphere"):
        inv = await client.inventory()
    await client.close()
    assert len(inv.vms) == 6
    assert any("verification is OFF" in r.message and r.levelno == logging.WARNING
               for r in caplog.records)


async def test_pinned_fingerprint(vcsim: VcSim) -> None:
    der = ssl.PEM_cert_to_DER_cert(vcsim.cert_file.read_text())
    pin = fingerprint(der)
    colons = ":".join(pin[i:i + 2] for i in range(0, 64, 2)).upper()
    client = PyVmomiVCenter(settings(vcsim, ca_file=None, pinned_sha256=colons))
    assert len((await client.inventory()).hosts) == 4
    await client.close()

    wrong = PyVmomiVCenter(settings(vcsim, ca_file=None, pinned_sha256="ab" * 32))
    with pytest.raises(CertificateError, match="not the pinned"):
        await wrong.inventory()


async def test_wrong_password_never_shows_it(vcsim: VcSim,
                                             caplog: pytest.LogCaptureFixture) -> None:
    secret = "Wr0ng-but-s3cret!"
    client = PyVmomiVCenter(settings(vcsim, password=secret))
    assert secret not in repr(client.settings)
    with caplog.at_level(logging.DEBUG), pytest.raises(VCenterError) as err:
        await client.inventory()
    assert "refused the login" in str(err.value)
    assert secret not in str(err.value) and secret not in caplog.text
    assert "\n" not in str(err.value)


async def test_unreachable_is_one_line(vcsim: VcSim) -> None:
    vcsim.stop()
    client = PyVmomiVCenter(settings(vcsim))
    with pytest.raises(VCenterError) as err:
        await client.inventory()
    assert "cannot talk to" in str(err.value) and "\n" not in str(err.value)


# --- inventory --------------------------------------------------------------------------------

async def test_inventory(vc: PyVmomiVCenter, raw: vim.ServiceInstanceContent) -> None:
    inv = await vc.inventory()
    assert {h.name: h.cluster for h in inv.hosts} == {
        "DC0_C0_H0": "DC0_C0", "DC0_C0_H1": "DC0_C0",
        "DC0_C1_H0": "DC0_C1", "DC0_C1_H1": "DC0_C1"}
    assert all(h.connected and not h.in_maintenance for h in inv.hosts)
    assert inv.host("dc0_c0_h0") is not None
    assert inv.host("DC0_C0_H0").vgpu_profiles == A100  # type: ignore[union-attr]
    assert inv.host("DC0_C1_H1").vgpu_profiles == L40S  # type: ignore[union-attr]
    assert inv.hotmigrate_enabled is True
    assert len(inv.vms) == 6
    for vm in inv.vms:
        real = raw_vm(raw, vm.name)
        assert vm.bios_uuid == real.config.uuid.lower()
        assert vm.moref == real._moId
        assert vm.host == real.runtime.host.name
        assert vm.power_state == "poweredOn"
        assert vm.vgpu_profiles == () and vm.migrate_supported
    assert sum(len(inv.vms_on(h.name)) for h in inv.hosts) == 6


async def test_vgpu_profile_from_a_reconfigured_vm(vc: PyVmomiVCenter,
                                                   raw: vim.ServiceInstanceContent) -> None:
    real = raw_vm(raw, "DC0_C0_RP0_VM0")
    backing = vim.vm.device.VirtualPCIPassthrough.VmiopBackingInfo(vgpu="grid_a100-8c",
                                                                   migrateSupported=True)
    device = vim.vm.device.VirtualPCIPassthrough(key=-1, backing=backing)
    change = vim.vm.device.VirtualDeviceSpec(operation="add", device=device)
    WaitForTask(real.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])))
    vm = by_name(await vc.inventory(), "DC0_C0_RP0_VM0")
    assert vm.vgpu_profiles == ("grid_a100-8c",)
    # The simulator speaks API 6.5, which has no migrateSupported: unset counts as "no".
    assert vm.migrate_supported is False


async def test_hotmigrate_setting_off(vc: PyVmomiVCenter,
                                      raw: vim.ServiceInstanceContent) -> None:
    raw.setting.UpdateOptions([vim.option.OptionValue(key="vgpu.hotmigrate.enabled",
                                                      value="false")])
    assert (await vc.inventory()).hotmigrate_enabled is False


# --- find -------------------------------------------------------------------------------------

async def test_find_vm_by_uuid(vc: PyVmomiVCenter) -> None:
    inv = await vc.inventory()
    want = by_name(inv, "DC0_C1_RP0_VM0")
    assert await vc.find_vm_by_uuid(want.bios_uuid) == want
    assert await vc.find_vm_by_uuid(want.bios_uuid.upper()) == want
    digits = want.bios_uuid.replace("-", "")
    esxcli = " ".join(digits[i:i + 2] for i in range(0, 16, 2)) + "-" + \
        " ".join(digits[i:i + 2] for i in range(16, 32, 2))
    assert await vc.find_vm_by_uuid(esxcli) == want
    with pytest.raises(VmNotFound):
        await vc.find_vm_by_uuid("00000000-0000-0000-0000-000000000000")


async def test_find_vm_by_uuid_refuses_duplicates(vc: PyVmomiVCenter,
                                                  raw: vim.ServiceInstanceContent) -> None:
    inv = await vc.inventory()
    first = by_name(inv, "DC0_C0_RP0_VM0")
    clone = raw_vm(raw, "DC0_C0_RP0_VM1")
    WaitForTask(clone.ReconfigVM_Task(vim.vm.ConfigSpec(uuid=first.bios_uuid)))
    with pytest.raises(AmbiguousVm, match="DC0_C0_RP0_VM0, DC0_C0_RP0_VM1"):
        await vc.find_vm_by_uuid(first.bios_uuid)


# --- actions ----------------------------------------------------------------------------------

async def test_relocate(vc: PyVmomiVCenter, raw: vim.ServiceInstanceContent) -> None:
    inv = await vc.inventory()
    vm = by_name(inv, "DC0_C0_RP0_VM1")
    target = next(h.name for h in inv.hosts if h.cluster == "DC0_C0" and h.name != vm.host)
    moved = await vc.relocate(vm, target, deadline=deadline())
    assert moved.host == target and moved.moref == vm.moref
    assert raw_vm(raw, vm.name).runtime.host.name == target
    assert raw_vm(raw, vm.name).resourcePool.parent.name == "DC0_C0"
    assert by_name(await vc.inventory(), vm.name).host == target


async def test_relocate_to_unknown_host(vc: PyVmomiVCenter) -> None:
    vm = by_name(await vc.inventory(), "DC0_C0_RP0_VM1")
    with pytest.raises(VCenterError, match="no host named nowhere"):
        await vc.relocate(vm, "nowhere", deadline=deadline())


async def test_relocate_past_its_deadline_is_a_task_timeout(vc: PyVmomiVCenter) -> None:
    inv = await vc.inventory()
    vm = by_name(inv, HUNG_VM)
    target = next(h.name for h in inv.hosts if h.cluster == "DC0_C1" and h.name != vm.host)
    started = time.monotonic()
    with pytest.raises(TaskTimeout, match="still running at the deadline"):
        await vc.relocate(vm, target, deadline=deadline(0.8))
    assert 0.7 < time.monotonic() - started < 3.0


async def test_deadline_already_passed_does_nothing(vc: PyVmomiVCenter) -> None:
    vm = by_name(await vc.inventory(), "DC0_C0_RP0_VM0")
    with pytest.raises(TaskTimeout, match="nothing was done"):
        await vc.power_off(vm, deadline=deadline(-1))
    assert by_name(await vc.inventory(), vm.name).power_state == "poweredOn"


async def test_power_off(vc: PyVmomiVCenter) -> None:
    vm = by_name(await vc.inventory(), "DC0_C0_RP0_VM2")
    off = await vc.power_off(vm, deadline=deadline())
    assert off.power_state == "poweredOff"
    assert by_name(await vc.inventory(), vm.name).power_state == "poweredOff"
    again = await vc.power_off(vm, deadline=deadline())  # already off: nothing to do
    assert again.power_state == "poweredOff"


async def test_shutdown_guest(vc: PyVmomiVCenter) -> None:
    vm = by_name(await vc.inventory(), "DC0_C1_RP0_VM1")
    off = await vc.shutdown_guest(vm, deadline=deadline())
    assert off.power_state == "poweredOff"


async def test_maintenance_mode(vc: PyVmomiVCenter) -> None:
    await vc.enter_maintenance("DC0_C1_H0", deadline=deadline())
    host = (await vc.inventory()).host("DC0_C1_H0")
    assert host is not None and host.in_maintenance
    await vc.exit_maintenance("DC0_C1_H0", deadline=deadline())
    host = (await vc.inventory()).host("DC0_C1_H0")
    assert host is not None and not host.in_maintenance


# --- session ----------------------------------------------------------------------------------

async def test_logs_in_again_after_the_session_is_terminated(
        vc: PyVmomiVCenter, raw: vim.ServiceInstanceContent) -> None:
    await vc.inventory()
    manager = raw.sessionManager
    mine = manager.currentSession.key
    others = [s.key for s in manager.sessionList if s.key != mine]
    assert others
    manager.TerminateSession(others)
    inv = await vc.inventory()
    assert len(inv.vms) == 6
    assert vc.session.logins == 2
    vm = by_name(inv, "DC0_C0_RP0_VM0")
    manager.TerminateSession([s.key for s in manager.sessionList if s.key != mine])
    assert (await vc.power_off(vm, deadline=deadline())).power_state == "poweredOff"
    assert vc.session.logins == 3
