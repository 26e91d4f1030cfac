"""Can `FDSNumAIOHandles=65536` be applied on this host (KB 408376), and why.

The honest test is whether `kernel list -o FDSNumAIOHandles` prints the row; the build
explains the answer. Only within ESXi 8.0.3 does the build number order releases: the
fix arrived in 8.0 Update 3i (build 25205845). 9.0 has no fix yet, 7.0 none at all.
"""

from __future__ import annotations

from bot.esx.commandlines import AIO_HANDLES_FIXED
from bot.esx.records import EsxVersion, FixVerdict, KernelSetting

FIXED_BUILD = 25205845

BUILD_NAMES: dict[int, str] = {
    24022510: "8.0 U3",
    24280767: "8.0 U3b",
    24414501: "8.0 U3c",
    24585383: "8.0 U3d",
    24674464: "8.0 U3e",
    24784735: "8.0 U3f",
    24859861: "8.0 U3g",
    25067014: "8.0 U3h",
    25205845: "8.0 U3i",
    25429389: "8.0 U3j",
}
"""ESXi 8.0.3 builds by release name (`vmware -vl` and esxcli never print the letter)."""

_OTHER_BUILDS: dict[tuple[tuple[int, ...], int], str] = {
    ((9, 0, 0), 24755229): "9.0.0",
    ((9, 0, 1), 24957456): "9.0.1",
    ((7, 0, 3), 24784741): "7.0 U3w",
}

_WORKAROUND = (
    "Meanwhile, power off or migrate the VMs holding the most open CHAR handles (the vmgfx "
    "column shows the KB's count) to keep the host under the limit."
)


def update_name(version: EsxVersion) -> str | None:
    """The release name (`8.0 U3h`) of a known build, None when the build is not known."""
    if version.version_tuple[:3] == (8, 0, 3):
        return BUILD_NAMES.get(version.build)
    return _OTHER_BUILDS.get((version.version_tuple[:3], version.build))


def _describe(version: EsxVersion) -> str:
    name = update_name(version)
    return f"build {version.build} ({name})" if name else f"build {version.build}"


KERNEL_LIST = "esxcli system settings kernel list -o FDSNumAIOHandles"


def fix_verdict(version: EsxVersion | None, setting: KernelSetting | None, *,
                captured: bool = True) -> FixVerdict:
    """Available when the FDSNumAIOHandles row exists; otherwise say why not, from the build.

    `captured=False`: no kernel-list output was given, so the row is unknown, not absent:
    the build decides, and the reason names the command that shows the setting."""
    if setting is not None:
        return FixVerdict(True, _available_reason(setting))
    if not captured:
        return _from_build(version)
    return FixVerdict(False, f"{_missing_reason(version)} {_WORKAROUND}")


def has_fix(version: EsxVersion) -> bool:
    """Whether the build is one that has the FDSNumAIOHandles setting (8.0.3, U3i or later)."""
    return version.version_tuple[:3] == (8, 0, 3) and version.build >= FIXED_BUILD


def _from_build(version: EsxVersion | None) -> FixVerdict:
    check = f"run `{KERNEL_LIST}` on the host to see the setting"
    if version is None:
        return FixVerdict(False, f"The FDSNumAIOHandles setting and the ESXi version were not "
                                 f"captured: {check}, and `vmware -vl` for the build.")
    if has_fix(version):
        return FixVerdict(True, f"The FDSNumAIOHandles setting was not captured; ESXi 8.0.3 "
                                f"{_describe(version)} has the fix: {check} before changing it.")
    reason = _missing_reason(version).removeprefix("The fix is not available: ")
    return FixVerdict(False, f"The fix is not available: {reason} (the setting itself was not "
                             f"captured: {check}). {_WORKAROUND}")


def _available_reason(setting: KernelSetting) -> str:
    target = AIO_HANDLES_FIXED
    if setting.configured == target and setting.runtime == target:
        return f"The fix is available and already applied: FDSNumAIOHandles is {target}."
    if setting.configured == target:
        return (
            f"The fix is available and FDSNumAIOHandles is set to {target}, but the host "
            f"still runs with {setting.runtime}: a reboot is pending."
        )
    return (
        f"The fix is available: FDSNumAIOHandles is {setting.runtime} now; set it to "
        f"{target} and reboot the host."
    )


def _missing_reason(version: EsxVersion | None) -> str:
    if version is None:
        return (
            "The fix is not available: this host has no FDSNumAIOHandles setting, and its "
            "ESXi version is unknown."
        )
    v = version.version_tuple
    needed = f"8.0 U3i (build {FIXED_BUILD}) or later is needed"
    if v[:2] == (8, 0):
        if has_fix(version):
            return (
                f"The fix is not available: the FDSNumAIOHandles setting is missing although "
                f"this host's ESXi 8.0.3 {_describe(version)} should have it; check the host "
                f"with Broadcom support."
            )
        return f"The fix is not available: {needed}; this host runs {_running(version)}."
    if v[:2] == (9, 0):
        return (
            f"The fix is not available: no fix is published for ESXi 9.0 yet ({_running(version)})."
        )
    if v[:2] == (7, 0):
        return f"The fix is not available: no fix is published for ESXi 7.0 ({_running(version)})."
    return (
        f"The fix is not available: no fix is known for ESXi {version.version} "
        f"({_describe(version)}); {needed}."
    )


def _running(version: EsxVersion) -> str:
    if version.version_tuple[:3] == (8, 0, 3):
        return _describe(version)
    return f"ESXi {version.version} {_describe(version)}"
