"""Record extraction and settings, on real pyVmomi objects (no server)."""

from __future__ import annotations

import pytest
from pyVmomi import vim

from bot.errors import ConfigError
from bot.vsphere.records import canonical_uuid, hotmigrate_value, vgpu_summary
from bot.vsphere.settings import VCenterSettings

Vmiop = vim.vm.device.VirtualPCIPassthrough.VmiopBackingInfo


def vgpu(profile: str, migrate: bool | None) -> vim.vm.device.VirtualPCIPassthrough:
    return vim.vm.device.VirtualPCIPassthrough(
        key=13000, backing=Vmiop(vgpu=profile, migrateSupported=migrate))


def test_vgpu_summary() -> None:
    disk = vim.vm.device.VirtualDisk(key=2000)
    plain_pci = vim.vm.device.VirtualPCIPassthrough(
        key=13001, backing=vim.vm.device.VirtualPCIPassthrough.DeviceBackingInfo(id="0000:3b:00.0"))
    assert vgpu_summary([disk, plain_pci]) == ((), True)
    assert vgpu_summary([disk, vgpu("grid_a100-4c", True)]) == (("grid_a100-4c",), True)
    assert vgpu_summary([vgpu("grid_a100-4c", True), vgpu("grid_a100-4c", False)]) == (
        ("grid_a100-4c", "grid_a100-4c"), False)
    assert vgpu_summary([vgpu("grid_l40s-8q", None)]) == (("grid_l40s-8q",), False)


def test_hotmigrate_value() -> None:
    option = vim.option.OptionValue
    assert hotmigrate_value([option(key="vgpu.hotmigrate.enabled", value="true")]) is True
    assert hotmigrate_value([option(key="vgpu.hotmigrate.enabled", value="False")]) is False
    assert hotmigrate_value([option(key="vgpu.hotmigrate.enabled", value=True)]) is True
    assert hotmigrate_value([option(key="vgpu.hotmigrate.enabledX", value="true")]) is False
    assert hotmigrate_value([]) is False


def test_canonical_uuid() -> None:
    assert canonical_uuid("564D4808-868B-8F67-A54A-33F387A8D059") == \
        "564d4808-868b-8f67-a54a-33f387a8d059"
    assert canonical_uuid("56 4d 48 08 86 8b 8f 67-a5 4a 33 f3 87 a8 d0 59") == \
        "564d4808-868b-8f67-a54a-33f387a8d059"


def test_settings_keep_the_password_out_of_repr_and_check_pins() -> None:
    s = VCenterSettings.from_url("https://vc.example.com:8443/sdk", user="svc", password="pw!")
    assert (s.host, s.port) == ("vc.example.com", 8443) and "pw!" not in repr(s)
    pinned = VCenterSettings(host="vc", user="u", password="p", pinned_sha256="AB:" * 31 + "AB")
    assert pinned.pinned_sha256 == "ab" * 32
    with pytest.raises(ConfigError):
        VCenterSettings(host="vc", user="u", password="p", pinned_sha256="abcd")
    with pytest.raises(ConfigError):
        VCenterSettings.from_url("http://vc", user="u", password="p")
