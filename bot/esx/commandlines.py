"""Every command line aio-bot sends to an ESXi host. All are constants or built from
validated integers: no text a user typed ever reaches a shell.

The lsof line reduces `vmkvsitools lsof` on the host (busybox awk) so that a host with
hundreds of thousands of open files sends a few kilobytes, not megabytes. It counts
exactly what KB 408376's pipeline counts:

    vmkvsitools lsof | awk '$3=="CHAR" {print $0}' | grep vmgfx | awk '$2=="vmx" {print $1}' \
        | sort | uniq -c

i.e. per cartel ($1), the lines whose Type ($3) is CHAR, whose World name ($2) is `vmx`
and that mention `vmgfx` anywhere. It also counts every CHAR line per cartel and every line
per Type, and reports lines it cannot read (first field not a cartel ID) instead of counting
them. Output lines (parsed by `bot.esx.lsof.parse_reduced`):

    C <cartel> <char handles> <vmgfx handles>
    T <type> <lines>
    X <line number> <first 200 characters of an unreadable line>
    N <lines read>
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

KB_PIPELINE = (
    "vmkvsitools lsof | awk '$3==\"CHAR\" {print $0}' | grep vmgfx "
    "| awk '$2==\"vmx\" {print $1}' | sort | uniq -c | sort -k 1 -n"
)

LSOF_AWK = (
    "NF == 0 || $1 == \"Cartel\" || /^[-=|+ \\t]+$/ { next } "
    "$1 !~ /^(0|[1-9][0-9]*)$/ || NF < 3 "
    "{ bad++; if (bad <= 3) print \"X\", NR, substr($0, 1, 200); next } "
    "{ t[$3]++ } "
    "$3 == \"CHAR\" { c[$1]++; if ($2 == \"vmx\" && /vmgfx/) g[$1]++ } "
    "END { for (k in c) print \"C\", k, c[k], g[k] + 0; "
    "for (k in t) print \"T\", k, t[k]; print \"N\", NR }"
)

LSOF_REDUCED = f"vmkvsitools lsof | awk '{LSOF_AWK}'"
LSOF_FULL = "vmkvsitools lsof"

VERSION = "esxcli system version get"
VERSION_VL = "vmware -vl"
VM_LIST = "esxcli vm process list"
VM_LIST_XML = "esxcli --formatter=xml vm process list"
KERNEL_AIO = "esxcli system settings kernel list -o FDSNumAIOHandles"
MAINTENANCE_GET = "esxcli system maintenanceMode get"

# vmkernel.log reduced on the host: a host that logs the FDS warning thousands of times a
# minute sends a count, the first and last warning, counts per hour, and hostd core dumps.
# Output (parsed by `bot.esx.logsummary.parse_vmkernel_reduced`):
#     F <first warning line>      L <last warning line>      H <YYYY-MM-DDTHH> <count>
#     D <UserDump line>           N <warnings>
VMKERNEL_AWK = (
    "/WARNING: FDS: / && /No free handles/ { if ($1 < since) next; n++; "
    "h[substr($1, 1, 13)]++; if (n == 1) print \"F\", $0; last = $0; next } "
    "/UserDump: / && /hostd-worker-zdump/ { if ($1 >= since && ++d <= 20) print \"D\", $0 } "
    "END { if (n) print \"L\", last; for (k in h) print \"H\", k, h[k]; print \"N\", n + 0 }"
)
_SINCE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


def vmkernel_events(since: datetime) -> str:
    """The vmkernel.log reduction for events at or after `since` (UTC). The timestamp is
    formatted here and checked, so only digits, dashes, colons and a T reach the shell."""
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if not _SINCE.match(stamp):
        raise ValueError(f"bad timestamp {stamp!r}")
    return f"awk -v since={stamp} '{VMKERNEL_AWK}' /var/log/vmkernel.log"


HOSTD_STARTS = (
    "grep -h 'time the service was last started' /var/log/hostd.log | tail -n 20"
)

AIO_HANDLES_FIXED = 65536


def kernel_set_aio(value: int) -> str:
    """`kernel set` for FDSNumAIOHandles; the value is an integer, checked here."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1 << 20:
        raise ValueError(f"FDSNumAIOHandles must be an integer in range, got {value!r}")
    return f"esxcli system settings kernel set -s FDSNumAIOHandles -v {value}"


def maintenance_set(enabled: bool) -> str:
    return f"esxcli system maintenanceMode set -e {'true' if enabled else 'false'}"


REBOOT = "esxcli system shutdown reboot -r 'aio-bot: apply FDSNumAIOHandles'"
