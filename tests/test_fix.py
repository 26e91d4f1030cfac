"""Whether FDSNumAIOHandles=65536 can be applied, and the reason given."""

from __future__ import annotations

import pytest

from bot.esx.fix import BUILD_NAMES, FIXED_BUILD, fix_verdict, update_name
from bot.esx.records import EsxVersion, KernelSetting


def _v(version: str, build: int) -> EsxVersion:
    return EsxVersion("VMware ESXi", version, build)


def _aio(configured: int, runtime: int) -> KernelSetting:
    return KernelSetting("FDSNumAIOHandles", "uint32", configured, runtime, 32768)


def test_build_table() -> None:
    assert FIXED_BUILD == 25205845
    assert BUILD_NAMES[FIXED_BUILD] == "8.0 U3i"
    assert BUILD_NAMES[24022510] == "8.0 U3"
    assert BUILD_NAMES[25429389] == "8.0 U3j"
    assert sorted(BUILD_NAMES) == list(BUILD_NAMES)
    assert update_name(_v("8.0.3", 25067014)) == "8.0 U3h"
    assert update_name(_v("8.0.3", 1)) is None
    assert update_name(_v("9.0.0", 24755229)) == "9.0.0"
    assert update_name(_v("9.0.0", 25067014)) is None


def test_u3i_with_row_is_available() -> None:
    verdict = fix_verdict(_v("8.0.3", FIXED_BUILD), _aio(32768, 32768))
    assert verdict.available
    assert "set it to 65536 and reboot" in verdict.reason


def test_reboot_pending_and_applied() -> None:
    pending = fix_verdict(_v("8.0.3", FIXED_BUILD), _aio(65536, 32768))
    assert pending.available and "reboot is pending" in pending.reason
    applied = fix_verdict(_v("8.0.3", 25429389), _aio(65536, 65536))
    assert applied.available and "already applied" in applied.reason


def test_u3h_without_row() -> None:
    verdict = fix_verdict(_v("8.0.3", 25067014), None)
    assert not verdict.available
    assert (
        "8.0 U3i (build 25205845) or later is needed; this host runs build 25067014 (8.0 U3h)"
        in verdict.reason
    )
    assert "power off or migrate" in verdict.reason


def test_unknown_older_8_0_3_build() -> None:
    verdict = fix_verdict(_v("8.0.3", 24000000), None)
    assert not verdict.available
    assert "this host runs build 24000000." in verdict.reason


def test_row_missing_although_build_should_have_it() -> None:
    verdict = fix_verdict(_v("8.0.3", 25429389), None)
    assert not verdict.available
    assert "missing although" in verdict.reason and "8.0 U3j" in verdict.reason


@pytest.mark.parametrize(
    ("version", "build", "says"),
    [
        ("9.0.0", 24755229, "no fix is published for ESXi 9.0 yet"),
        ("9.0.1", 24957456, "no fix is published for ESXi 9.0 yet"),
        ("7.0.3", 24784741, "no fix is published for ESXi 7.0"),
        ("8.0.2", 22380479, "8.0 U3i (build 25205845) or later is needed"),
        ("6.7.0", 17700523, "no fix is known for ESXi 6.7.0"),
    ],
)
def test_other_versions_without_row(version: str, build: int, says: str) -> None:
    verdict = fix_verdict(_v(version, build), None)
    assert not verdict.available
    assert says in verdict.reason
    assert str(build) in verdict.reason


def test_row_wins_even_on_9_0() -> None:
    assert fix_verdict(_v("9.0.1", 24957456), _aio(32768, 32768)).available
    assert fix_verdict(None, _aio(32768, 32768)).available


def test_nothing_known() -> None:
    verdict = fix_verdict(None, None)
    assert not verdict.available
    assert "unknown" in verdict.reason
