"""`esxcli vm process list` as operators paste it, and a VM name that tries to forge fields.

Fixtures: vm_process_list_kb.txt is the text form flush left, as Broadcom's KB articles print
it, with the prompt lines of a terminal copy and long Config File values wrapped; the CSV
and JSON fixtures follow the XML form's field names (see tests/fixtures/SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.esx.vmlist import read_vm_list
from tests.test_parse_vmlist import GITLAB, TEXT, XML

FIXTURES = Path(__file__).parent / "fixtures" / "esx"
KB_STYLE = (FIXTURES / "vm_process_list_kb.txt").read_text()
CSV = (FIXTURES / "vm_process_list.csv").read_bytes().decode()
JSON = (FIXTURES / "vm_process_list.json").read_text()
OTHER_UUID = "42 1c 5e 0a 7b 3f 9d 21-8e 60 4c 11 d2 9a 0f 3b"  # harbor&nexus's


def test_kb_style_flush_left_with_prompts_and_wrapped_values() -> None:
    found = read_vm_list(KB_STYLE)
    assert found.vms[0] == GITLAB
    render = found.vms[1]
    assert render.name == "render farm 01 (vGPU)"  # Display Name wins over the block title
    assert render.title == "render-01"
    assert render.config_file == (
        "/vmfs/volumes/datastore1/render farm 01 (vGPU)/render farm 01 (vGPU).vmx")
    assert [(s.line_no, s.why) for s in found.skipped] == [
        (1, "a shell prompt or command line"), (20, "a shell prompt or command line")]


@settings(max_examples=60, deadline=None)
@given(ends=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans(),
       space=st.sampled_from([" ", "\u00a0", "\u202f"]), prompt=st.booleans())
def test_the_indented_form_pasted(ends: str, bom: bool, space: str, prompt: bool) -> None:
    text = ("[root@esx01:~] esxcli vm process list\n" if prompt else "") + TEXT
    text = ("\ufeff" if bom else "") + text.replace("   ", space * 3).replace("\n", ends)
    found = read_vm_list(text)
    assert found.vms == read_vm_list(TEXT).vms
    assert len(found.skipped) == int(prompt)


def test_csv_and_json_formatters() -> None:
    from_xml = read_vm_list(XML).vms[:2]
    assert read_vm_list(CSV).vms == from_xml
    assert read_vm_list("[root@esx01:~] esxcli --formatter=csv vm process list\n" + CSV).vms \
        == from_xml
    assert read_vm_list(JSON).vms == from_xml


def _forged(name: str) -> str:
    """The text esxcli prints for harbor&nexus renamed to `name`."""
    return TEXT.replace("harbor&nexus\n", name + "\n", 1).replace(
        "Display Name: harbor&nexus", "Display Name: " + name)


def test_a_name_with_a_forged_uuid_line_identifies_no_vm() -> None:
    evil = f"evil-vm\n   UUID: {GITLAB.uuid}"
    found = read_vm_list(_forged(evil))
    assert [vm.name for vm in found.vms] == ["Gitlab", "render farm 01 (vGPU)"]
    assert all(vm.uuid != GITLAB.uuid or vm.name == "Gitlab" for vm in found.vms)
    assert [(s.line_no, s.text) for s in found.skipped] == [(9, "evil-vm")]
    assert "UUID twice" in found.skipped[0].why


def test_a_name_forging_a_whole_block_is_rejected_with_its_victim() -> None:
    forged_block = (f"evil\n   World ID: 2099532\n   VMX Cartel ID: 2099517\n"
                    f"   UUID: {GITLAB.uuid}\n   Display Name: Gitlab\n\nx")
    found = read_vm_list(_forged(forged_block))
    assert [vm.name for vm in found.vms] == ["render farm 01 (vGPU)"]
    assert {s.why.split(":")[0] for s in found.skipped} >= {
        "another block claims the same World ID"}


def test_xml_and_json_with_a_field_twice_are_rejected() -> None:
    twice = XML.replace('<field name="WorldID">',
                        f'<field name="UUID"><string>{OTHER_UUID}</string></field>'
                        '<field name="WorldID">', 1)
    found = read_vm_list(twice)
    assert [vm.name for vm in found.vms] == ["harbor&nexus"]
    assert "UUID twice" in found.skipped[0].why
    json_twice = JSON.replace('"WorldID": 2099532', f'"WorldID": 2099532, "UUID": "{OTHER_UUID}"')
    found = read_vm_list(json_twice)
    assert [vm.name for vm in found.vms] == ["harbor&nexus"]
