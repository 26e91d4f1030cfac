"""Every parser against arbitrary text and against mutated real samples: it returns a result or
raises ParseError (one line, naming a line number); never another exception, never a hang."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.errors import ParseError
from bot.esx import kernel, logs, logsummary, lsof, version, vmlist

FIXTURES = Path(__file__).parent / "fixtures" / "esx"
SLOW_CALL = 2.0  # seconds; a parser taking longer on a few KB is a hang
LINE_NO = re.compile(r"\bline (\d+)\b")


def _lines(parse: Callable[[list[str]], Any]) -> Callable[[str], Any]:
    return lambda text: parse(text.splitlines(keepends=True))


PARSERS: dict[str, Callable[[str], Any]] = {
    "lsof": _lines(lsof.parse_lsof),
    "lsof_reduced": lsof.parse_reduced,
    "vm_list_text": vmlist.parse_vm_process_list,
    "vm_list_xml": vmlist.parse_vm_process_list_xml,
    "vm_list_any": vmlist.parse_vm_list,
    "kernel_list": kernel.parse_kernel_list,
    "kernel_aio": kernel.find_aio_setting,
    "version_text": version.parse_version_get,
    "version_json": version.parse_version_json,
    "version_vl": version.parse_vmware_vl,
    "version_any": version.parse_version,
    "vmkernel_fds": _lines(logs.parse_fds_warnings),
    "vmkernel_dumps": _lines(logs.parse_hostd_dumps),
    "hostd_starts": _lines(logs.parse_hostd_starts),
    "vmkernel_reduced": logsummary.parse_vmkernel_reduced,
}

# which real samples feed which parser (the reduced vmkernel output is built from a log)
SAMPLES: dict[str, list[str]] = {
    "lsof": ["lsof_small.txt", "lsof_bad_line.txt"],
    "lsof_reduced": ["lsof_small_reduced.txt", "lsof_reduced_bad.txt"],
    "vm_list_text": ["vm_process_list.txt"],
    "vm_list_xml": ["vm_process_list.xml"],
    "vm_list_any": ["vm_process_list.txt", "vm_process_list.xml"],
    "kernel_list": ["kernel_aio_applied.txt", "kernel_aio_default.txt",
                    "kernel_aio_pending.txt", "kernel_empty.txt", "kernel_mixed.txt"],
    "kernel_aio": ["kernel_aio_applied.txt", "kernel_mixed.txt"],
    "version_text": ["version_get_u3h.txt", "version_get_u3i.txt"],
    "version_json": ["version_u3i.json"],
    "version_vl": ["vmware_vl_900.txt", "vmware_vl_u3i.txt"],
    "version_any": ["version_get_u3i.txt", "version_u3i.json", "vmware_vl_900.txt"],
    "vmkernel_fds": ["vmkernel_70.log", "vmkernel_80.log"],
    "vmkernel_dumps": ["vmkernel_80.log"],
    "hostd_starts": ["hostd.log"],
}
REDUCED_VMKERNEL = (
    "F 2025-06-01T12:00:00.630Z cpu0:262792)WARNING: FDS: 1234: Could not initialize AIO "
    "handles 0x43: No free handles\n"
    "L 2025-06-01T13:10:00.630Z cpu0:262792)WARNING: FDS: 1234: Could not initialize AIO "
    "handles 0x43: No free handles\n"
    "H 2025-06-01T12 120\nH 2025-06-01T13 7\n"
    "D 2025-06-01T12:00:01.000Z In(182) vmkernel: cpu1:2099000)UserDump: 3167: hostd-worker: "
    "Dumping cartel 2098765 (from world 2099000) to file /var/core/hostd-worker-zdump.000 ...\n"
    "N 127\n"
)


def _sample(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8", errors="replace")


SAMPLE_TEXTS: dict[str, list[str]] = {k: [_sample(n) for n in v] for k, v in SAMPLES.items()}
SAMPLE_TEXTS["vmkernel_reduced"] = [REDUCED_VMKERNEL]

# text that looks like ESXi output: its alphabet, plus a few troublemakers
TOKENS = st.sampled_from([
    " ", "  ", "\t", "\n", "\r\n", "\r", "\x00", "\ufeff", "\u00a0", "\u2028", "٣", "é", "<",
    ">", "&", "\"", "'", ":", "=", "-", "|", "+", "{", "}", "[", "]", ",", ".", "0", "1", "9",
    "007", "-1", "99999999999999999999", "9" * 5000, "CHAR", "vmx", "vmgfx", "REG", "Cartel",
    "C ", "T ", "X ", "N ", "F ", "L ", "H ", "D ", "VMXCartelID:", "World ID:", "Display Name:",
    "Process ID:", "UUID:", "Config File:", "<structure typeName=\"VirtualMachine\">",
    "</structure>", "<field name=\"WorldID\"><integer>", "</integer></field>", "<root>",
    "</root>", "<!DOCTYPE x [<!ENTITY a \"b\">]>", "<?xml version=\"1.0\"?>", "Name", "Type",
    "Configured", "Runtime", "Default", "Description", "FDSNumAIOHandles", "uint32", "65536",
    "32768", "Product:", "Version:", "Build:", "Update:", "Patch:", "VMware ESXi", "8.0.3",
    "Releasebuild-25205845", "build-", "{\"Build\": ", "\"Version\": ", "[", "null", "true",
    "2025-06-01T12:00:00.630Z", "2025-13-45T25:61:61Z", "9999-99-99T99:99:99+99:99",
    "2025-06-01T12", "cpu0:262792)", "WARNING: FDS: ", "No free handles", "UserDump: ",
    "Dumping cartel 1 (from world 2) to file /var/core/hostd-worker-zdump.000",
    "time the service was last started ", "Section for VMware ESXi, pid=", "Wa(180) vmkwarning: ",
])
ESXISH = st.lists(TOKENS, max_size=60).map("".join)
ANY_TEXT = st.text(max_size=400)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))  # 2,000 by hand: about a minute
CASES = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


def check(name: str, text: str) -> None:
    """Call the parser; only a clean result or a good ParseError may come back, quickly."""
    started = time.perf_counter()
    try:
        PARSERS[name](text)
    except ParseError as err:
        message = str(err)
        assert "\n" not in message and "\r" not in message, (name, message)
        assert "\u2028" not in message, (name, message)
        found = LINE_NO.search(message)
        assert found is not None, (name, message)
        assert int(found.group(1)) == err.line_no and err.line_no >= 0, (name, message)
        assert len(message) < 400, (name, len(message))
    finally:
        elapsed = time.perf_counter() - started
        assert elapsed < SLOW_CALL, (name, elapsed, len(text))


@st.composite
def mutated(draw: st.DrawFn, samples: list[str]) -> str:
    """A real sample with a few edits: lines dropped, duplicated, cut, or junk put in."""
    lines = draw(st.sampled_from(samples)).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [draw(ESXISH)]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "cut", "junk", "replace", "swap", "digits"]))
        line = lines[i]
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "cut":
            lines[i] = line[: draw(st.integers(0, max(0, len(line) - 1)))]
        elif op == "junk":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.one_of(ESXISH, ANY_TEXT)) + line[at:]
        elif op == "replace":
            lines[i] = draw(st.one_of(ESXISH, ANY_TEXT)) + "\n"
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = re.sub(r"\d+", draw(st.sampled_from(["", "0", "-5", "9" * 40, "٣"])), line)
    if draw(st.booleans()):
        return "".join(lines)
    return "".join(lines)[: draw(st.integers(0, 4000))]


@pytest.mark.parametrize("name", sorted(PARSERS))
@CASES
@given(text=st.one_of(ANY_TEXT, ESXISH))
@example(text="")
@example(text="\n\n\n")
@example(text="N " + "9" * 5000)
@example(text="\ufeff<")
@example(text="[" * 100_000)
@example(text="<a>" * 50_000)
@example(text='{"Product": "VMware ESXi", "Version": "8.0.3", "Build": ' + "9" * 5000 + "}")
def test_arbitrary_text(name: str, text: str) -> None:
    check(name, text)


@pytest.mark.parametrize("name", sorted(SAMPLE_TEXTS))
@CASES
@given(data=st.data())
def test_mutated_real_samples(name: str, data: st.DataObject) -> None:
    check(name, data.draw(mutated(SAMPLE_TEXTS[name])))


@pytest.mark.parametrize("name", sorted(SAMPLE_TEXTS))
def test_real_samples_still_parse_or_fail_cleanly(name: str) -> None:
    for text in SAMPLE_TEXTS[name]:
        check(name, text)


def test_a_large_input_is_not_quadratic() -> None:
    """200,000 lsof lines in a few seconds; a junk blob four times larger takes each parser about
    four times as long, not sixteen."""
    lsof_text = "".join(f"{2099517 + i % 50}   vmx   CHAR   {i}   /vmfs/devices/char/vmgfx/x\n"
                        for i in range(200_000))
    started = time.perf_counter()
    summary = lsof.parse_lsof(lsof_text.splitlines())
    assert summary.lines == 200_000 and time.perf_counter() - started < 5
    for name in PARSERS:
        small, large = (_best_time(name, ("x" * 999 + "\n") * n) for n in (500, 2000))
        # 4x the input: linear work takes about 4x the time, quadratic 16x
        assert large < 8 * small + 0.05, (name, small, large)


def _best_time(name: str, text: str) -> float:
    """The best of two calls (this machine is shared): the parser must answer or raise
    ParseError, as in `check`."""
    times = []
    for _ in range(2):
        started = time.perf_counter()
        with contextlib.suppress(ParseError):
            PARSERS[name](text)
        times.append(time.perf_counter() - started)
    return min(times)
