"""ESXi version from `esxcli system version get` (text, JSON) and `vmware -vl`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.esx.records import EsxVersion
from bot.esx.version import parse_version, parse_version_get, parse_version_json, parse_vmware_vl

FIXTURES = Path(__file__).parent / "fixtures" / "esx"
U3I = EsxVersion("VMware ESXi", "8.0.3", 25205845, "3", "95")


def _read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_version_get() -> None:
    assert parse_version_get(_read("version_get_u3i.txt")) == U3I
    u3h = parse_version_get(_read("version_get_u3h.txt"))
    assert (u3h.build, u3h.version_tuple) == (25067014, (8, 0, 3))


def test_version_get_crlf() -> None:
    assert parse_version_get(_read("version_get_u3i.txt").replace("\n", "\r\n")) == U3I


def test_version_json() -> None:
    assert parse_version_json(_read("version_u3i.json")) == U3I
    assert parse_version_json(
        '{"build": 25205845, "product": "VMware ESXi", "version": "8.0.3"}'
    ) == (EsxVersion("VMware ESXi", "8.0.3", 25205845))


def test_vmware_vl() -> None:
    assert parse_vmware_vl(_read("vmware_vl_u3i.txt")) == EsxVersion(
        "VMware ESXi", "8.0.3", 25205845, "3"
    )
    v9 = parse_vmware_vl(_read("vmware_vl_900.txt"))
    assert (v9.version, v9.build, v9.update) == ("9.0.0", 24755229, None)
    assert parse_vmware_vl("VMware ESXi 7.0.3 build-24784741\n").build == 24784741


@pytest.mark.parametrize("name", ["version_get_u3i.txt", "version_u3i.json", "vmware_vl_u3i.txt"])
def test_detection(name: str) -> None:
    version = parse_version(_read(name))
    assert (version.version, version.build) == ("8.0.3", 25205845)


@pytest.mark.parametrize(
    ("text", "line_no"),
    [
        ("   Product: VMware ESXi\n   Version: 8.0.3\n   Build: Releasebuild-x\n", 3),
        ("   Product: VMware ESXi\n   Version: eight\n   Build: Releasebuild-1\n", 2),
        ("   Product: VMware ESXi\n   Version: 8.0.3\n", 2),
        ("   Product: VMware ESXi\n   no colon here\n", 2),
        ('{"Product": "VMware ESXi",\n "Version": }', 2),
        ('["8.0.3"]', 1),
        ("", 1),
    ],
)
def test_bad_input(text: str, line_no: int) -> None:
    with pytest.raises(ParseError) as err:
        parse_version(text)
    assert err.value.line_no == line_no


def test_bad_vl() -> None:
    with pytest.raises(ParseError) as err:
        parse_vmware_vl("\nVMware ESXi eight\n")
    assert err.value.line_no == 2


@pytest.mark.parametrize("ends", ["\n", "\r\n", "\r"])
def test_pasted_with_prompts_bom_and_unicode_spaces(ends: str) -> None:
    get = ("\ufeff[root@esx01:~] esxcli system version get\n   Product: VMware ESXi\n"
           "\u00a0\u00a0 Version: 8.0.3\n   Build: Releasebuild-25205845\n   Update: 3\n"
           "   Maintenance: 0\n   Patch: 95\n[root@esx01:~] ").replace("\n", ends)
    vl = "[root@esx01:~] vmware -vl\nVMware ESXi 8.0.3 build-25205845\nVMware ESXi 8.0 Update 3\n"
    assert parse_version(get).build == parse_version(vl.replace("\n", ends)).build == 25205845
