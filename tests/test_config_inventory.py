"""[inventory] and the [ssh] keys of SSH on demand: read strictly, checked against [vcenter]."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import parse_config
from bot.esx.collect import HostFailure
from bot.settings_table import ConfigProblems
from bot.slack.views.scan import host_keys_message
from commands.results import ScanResult

VCENTER = {"host": "vc.example.com", "user": "aio-bot@vsphere.local"}


def parse(data: dict[str, Any]) -> Any:
    return parse_config(data, base=Path("/etc/aio-bot"))


def test_defaults_are_the_file_and_no_ssh_on_demand() -> None:
    config = parse({})
    assert config.hosts_from.source == "file" and not config.hosts_from.from_vcenter
    assert config.hosts_from.gpu_hosts_only and config.hosts_from.refresh_minutes == 10
    assert not config.ssh.enable_on_demand and config.ssh.max_window_minutes == 10


def test_vcenter_inventory_with_filters() -> None:
    config = parse({"vcenter": VCENTER,
                    "inventory": {"source": "vcenter", "clusters": ["gpu-a"],
                                  "datacenters": ["dc1"], "gpu_hosts_only": False,
                                  "address_template": "{name}.mgmt.example.com",
                                  "read_vms": False, "refresh_minutes": 2.5},
                    "ssh": {"enable_on_demand": True, "max_window_minutes": 3},
                    "hosts": [{"name": "esx1", "address": "10.0.0.1"}]})
    inv = config.hosts_from
    assert (inv.source, inv.clusters, inv.datacenters, inv.gpu_hosts_only) == (
        "vcenter", ("gpu-a",), ("dc1",), False)
    assert (inv.address_template, inv.read_vms, inv.refresh_minutes) == (
        "{name}.mgmt.example.com", False, 2.5)
    assert config.ssh.enable_on_demand and config.ssh.max_window_minutes == 3
    assert [h.name for h in config.inventory] == ["esx1"]  # overrides


def test_every_problem_at_once() -> None:
    with pytest.raises(ConfigProblems) as err:
        parse({"inventory": {"source": "vcentre", "address_template": "{host}",
                             "refresh_minute": 5, "refresh_minutes": 0},
               "ssh": {"enable_on_demand": "yes"}})
    text = str(err.value)
    assert "`inventory.source` must be one of file, vcenter, both" in text
    assert "did you mean vcenter?" in text
    assert "address_template" in text and "{name}" in text
    assert "no key `refresh_minute` (did you mean refresh_minutes?)" in text
    assert "`inventory.refresh_minutes` must be positive" in text
    assert "`ssh.enable_on_demand` must be true or false" in text


def test_vcenter_needed() -> None:
    with pytest.raises(ConfigProblems) as err:
        parse({"inventory": {"source": "both"}, "ssh": {"enable_on_demand": True}})
    assert "needs a [vcenter] section" in str(err.value)
    assert len(err.value.problems) == 2


def test_host_keys_message_escapes_and_names_the_commands() -> None:
    result = ScanResult("all", [], [
        HostFailure("esx<1>&", "c", "unknown key", "new", "SHA256:abc"),
        HostFailure("esx2", "c", "changed key", "CHANGED", "SHA256:def"),
        HostFailure("esx3", "c", "no route", None, None)])
    message = host_keys_message(result, "U1", "scan")
    assert message is not None
    text = repr(message.blocks)
    assert "esx&lt;1&gt;&amp;" in text and "esx<1>" not in text
    assert "SHA256:abc" in text and "SHA256:def" in text and "esx3" not in text
    assert "aio-bot known-hosts add esx&lt;1&gt;&amp; esx2 --yes --replace esx2" in text
    assert host_keys_message(ScanResult("all", [], []), "U1", "scan") is None
