"""`esxcli system settings kernel list -o FDSNumAIOHandles`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.esx.kernel import find_aio_setting, parse_kernel_list
from bot.esx.records import KernelSetting

FIXTURES = Path(__file__).parent / "fixtures" / "esx"


def _read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_reboot_pending() -> None:
    setting = find_aio_setting(_read("kernel_aio_pending.txt"))
    assert setting == KernelSetting(
        "FDSNumAIOHandles", "uint32", 65536, 32768, 32768, "Number of AIO handles for FDS"
    )
    assert setting.reboot_pending


def test_applied_and_default() -> None:
    applied = find_aio_setting(_read("kernel_aio_applied.txt"))
    default = find_aio_setting(_read("kernel_aio_default.txt"))
    assert applied is not None and default is not None
    assert (applied.configured, applied.runtime, applied.reboot_pending) == (65536, 65536, False)
    assert (default.configured, default.runtime, default.default) == (32768, 32768, 32768)


def test_missing_row_header_only_or_no_output() -> None:
    assert parse_kernel_list(_read("kernel_empty.txt")) == {}
    assert find_aio_setting(_read("kernel_empty.txt")) is None
    assert find_aio_setting("") is None
    assert find_aio_setting("\n  \n") is None


def test_other_rows_and_types() -> None:
    settings = parse_kernel_list(_read("kernel_mixed.txt"))
    assert set(settings) == {"FDSNumAIOHandles", "maxVMs"}
    assert settings["maxVMs"].description == ""
    assert find_aio_setting(_read("kernel_mixed.txt")) == settings["FDSNumAIOHandles"]


def test_crlf_and_wide_columns() -> None:
    text = (
        "Name Type Configured Runtime Default Description\r\n"
        "---- ---- ---------- ------- ------- -----------\r\n"
        "FDSNumAIOHandles uint32 65536 32768 32768 Number of   AIO handles\r\n"
    )
    setting = find_aio_setting(text)
    assert setting is not None
    assert (setting.configured, setting.runtime) == (65536, 32768)
    assert setting.description == "Number of   AIO handles"


@pytest.mark.parametrize(
    ("text", "line_no"),
    [
        ("Error: Unknown setting FDSNumAIOHandles\n", 1),
        (_read("kernel_aio_pending.txt").replace("65536 ", "lots  "), 3),
        (_read("kernel_aio_pending.txt") + "FDSNumAIOHandles uint32 1\n", 4),
    ],
)
def test_malformed(text: str, line_no: int) -> None:
    with pytest.raises(ParseError) as err:
        parse_kernel_list(text)
    assert err.value.line_no == line_no


def test_pasted_kernel_list_with_prompts_and_crlf() -> None:
    text = ("\ufeff[root@esx01:~] esxcli system settings kernel list -o FDSNumAIOHandles\r\n"
            "Name              Type    Configured  Runtime  Default  Description\r\n"
            "----------------  ------  ----------  -------  -------  -----------\r\n"
            "FDSNumAIOHandles\u00a0 uint32  65536       32768    32768    Number of AIO handles\r\n"
            "[root@esx01:~] ")
    setting = find_aio_setting(text)
    assert setting is not None and (setting.configured, setting.runtime) == (65536, 32768)
