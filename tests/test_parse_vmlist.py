"""`esxcli vm process list`, text and XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.esx.records import VmProcess
from bot.esx.vmlist import (
    parse_vm_list,
    parse_vm_process_list,
    parse_vm_process_list_xml,
    read_vm_list,
)

FIXTURES = Path(__file__).parent / "fixtures" / "esx"
TEXT = (FIXTURES / "vm_process_list.txt").read_text()
XML = (FIXTURES / "vm_process_list.xml").read_text()

GITLAB = VmProcess(
    name="Gitlab",
    world_id=2099532,
    cartel_id=2099517,
    process_id=0,
    uuid="56 4d 48 08 86 8b 8f 67-a5 4a 33 f3 87 a8 d0 59",
    config_file="/vmfs/volumes/6107a9c3-0511c860-9122-fcaa144d4e7d/Gitlab/Gitlab.vmx",
)


def test_text_blocks() -> None:
    vms = parse_vm_process_list(TEXT)
    assert [vm.name for vm in vms] == ["Gitlab", "harbor&nexus", "render farm 01 (vGPU)"]
    assert vms[0] == GITLAB
    # The cartel is not always world - 1 (a vSphere 8 capture).
    assert (vms[1].world_id, vms[1].cartel_id) == (22541454, 22541452)
    assert vms[2].config_file == (
        "/vmfs/volumes/datastore1/render farm 01 (vGPU)/render farm 01 (vGPU).vmx"
    )


def test_text_tolerates_crlf_no_final_blank_extra_indent_and_unknown_fields() -> None:
    text = TEXT.rstrip("\n").replace("   World ID", "      World ID").replace("\n", "\r\n")
    text = text.replace("   Process ID: 0", "   Process ID: 0\r\n   Vmx Process Priority: high")
    assert parse_vm_process_list(text) == parse_vm_process_list(TEXT)


def test_text_blocks_without_blank_lines_and_empty_output() -> None:
    assert parse_vm_process_list(TEXT.replace("\n\n", "\n")) == parse_vm_process_list(TEXT)
    assert parse_vm_process_list("") == []
    assert parse_vm_process_list("\n\n") == []


@pytest.mark.parametrize(
    ("drop", "line_no", "why"),
    [
        ("   VMX Cartel ID: 22541452\n", 9, "VMX Cartel ID"),
        ("   World ID: 2099532\n", 1, "World ID"),
    ],
)
def test_text_missing_ids_reject_the_block(drop: str, line_no: int, why: str) -> None:
    found = read_vm_list(TEXT.replace(drop, ""))
    assert len(found.vms) == 2
    assert [(s.line_no, s.why) for s in found.skipped] == [(line_no, f"the VM has no {why}")]


def test_text_bad_number_and_bad_field_lines_are_reported() -> None:
    found = read_vm_list(TEXT.replace("World ID: 22541454", "World ID: many"))
    assert [(s.line_no, s.why) for s in found.skipped] == [(9, "World ID is not a number")]
    found = read_vm_list(TEXT.replace("   Process ID: 0\n", "   garbage\n", 1))
    assert found.vms[0].process_id is None
    assert [(s.line_no, s.text) for s in found.skipped] == [(3, "   garbage")]
    found = read_vm_list("   World ID: 1\n")
    assert found.vms == [] and found.skipped[0].why == "a field before any VM name"


def test_xml_formatter() -> None:
    vms = parse_vm_process_list_xml(XML)
    assert vms[0] == GITLAB
    assert vms[1].name == "harbor&nexus"
    assert vms[1].config_file == "/vmfs/volumes/datastore1/harbor&nexus/harbor&nexus.vmx"
    assert (vms[1].world_id, vms[1].cartel_id) == (22541454, 22541452)


def test_xml_with_root_outermost_and_no_namespace() -> None:
    text = XML.replace(
        '<output xmlns="http://www.vmware.com/Products/ESX/5.0/esxcli/">\n<root>',
        '<root xmlns="http://www.vmware.com/Products/ESX/5.0/esxcli/">\n<output>',
    ).replace("</root>\n</output>", "</output>\n</root>")
    assert parse_vm_process_list_xml(text) == parse_vm_process_list_xml(XML)
    bare = XML.replace(' xmlns="http://www.vmware.com/Products/ESX/5.0/esxcli/"', "")
    assert parse_vm_process_list_xml(bare) == parse_vm_process_list_xml(XML)


def test_xml_empty_list() -> None:
    text = '<?xml version="1.0"?><output><root><list type="structure"></list></root></output>'
    assert parse_vm_process_list_xml(text) == []


def test_xml_refuses_doctype_and_entities() -> None:
    evil = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        "<output><root><list>&x;</list></root></output>"
    )
    with pytest.raises(ParseError) as err:
        parse_vm_process_list_xml(evil)
    assert err.value.line_no == 2


def test_xml_malformed_names_the_line() -> None:
    with pytest.raises(ParseError) as err:
        parse_vm_process_list_xml(XML.replace("</structure>", "</structur>", 1))
    assert err.value.line_no == 24


def test_xml_missing_cartel_rejects_the_structure() -> None:
    text = XML.replace("<integer>22541452</integer>", "")
    text = text.replace('<field name="VMXCartelID">\n            \n         </field>', "")
    found = read_vm_list(text)
    assert [(s.line_no, s.why) for s in found.skipped] == [(25, "the VM has no VMX Cartel ID")]
    assert len(found.vms) == 1


def test_detects_the_format() -> None:
    assert parse_vm_list(XML) == parse_vm_process_list_xml(XML)
    assert parse_vm_list("\ufeff" + XML) == parse_vm_process_list_xml(XML)
    assert parse_vm_list(TEXT) == parse_vm_process_list(TEXT)
    assert parse_vm_list(TEXT)[:2] == parse_vm_list(XML)


def test_junk_from_a_host_is_logged_in_a_few_lines(caplog: pytest.LogCaptureFixture) -> None:
    """2,000 unusable lines: the first five are named, the rest counted in one line (a host
    printing junk must not flood the log)."""
    caplog.set_level("WARNING", logger="bot.esx.vmlist")
    assert parse_vm_list(TEXT + "junk\n" * 2000) == parse_vm_list(TEXT)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.esx.vmlist"]
    assert len(lines) == 6 and all("not used" in line for line in lines)
    assert "1995 more line(s)" in lines[-1]
