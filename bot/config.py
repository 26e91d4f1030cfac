"""Configuration: one TOML file (path in AIO_BOT_CONFIG, default `aio-bot.toml`) for the
inventory, SSH settings, thresholds and Slack access; secrets only from the environment."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.assess import Thresholds
from bot.errors import ConfigError
from bot.history.settings import HistorySettings, history_settings
from bot.inventory import HostEntry, Inventory
from bot.metrics.settings import (
    AlertmanagerConfig,
    MetricsConfig,
    alertmanager_settings,
    metrics_settings,
)
from bot.settings_table import Problems, Table, did_you_mean

DEFAULT_PATH = "aio-bot.toml"


@dataclass(frozen=True)
class SshConfig:
    username: str = "root"
    known_hosts: Path = Path("known_hosts")
    key_file: Path | None = None
    connect_timeout: float = 10.0
    command_timeout: float = 60.0
    max_parallel: int = 32
    # child processes that do the SSH reads of `serve`/`socket` (bot.esx.ssh_workers); 0: the
    # bot's own process. One command from the CLI always reads in its own process.
    worker_processes: int = 1
    enable_on_demand: bool = False  # start a stopped TSM-SSH through vCenter for the read
    max_window_minutes: float = 10.0  # longest an SSH window stays open


@dataclass(frozen=True)
class InventoryConfig:
    """[inventory]: where the hosts come from. `file`: the [[hosts]] entries; `vcenter`: the
    ESXi hosts [vcenter] knows (the [[hosts]] entries only override how to reach them, by
    name); `both`: vCenter's and the file's other hosts. The filters and `address_template`
    are `bot.vsphere.discovery.DiscoveryFilter`'s."""

    source: str = "file"
    clusters: tuple[str, ...] = ()
    datacenters: tuple[str, ...] = ()
    gpu_hosts_only: bool = True
    address_template: str = "{name}"
    read_vms: bool = True
    refresh_minutes: float = 10.0

    @property
    def from_vcenter(self) -> bool:
        return self.source != "file"


@dataclass(frozen=True)
class SlackAccess:
    """Who may use the bot where. Empty lists mean "everyone" for channels and users."""

    allowed_channels: tuple[str, ...] = ()
    allowed_users: tuple[str, ...] = ()
    allowed_teams: tuple[str, ...] = ()  # besides the workspace the bot is installed in
    approvers: tuple[str, ...] = ()  # Slack user IDs (U…, W…) or user group IDs (S…)
    approve_in_dm: bool = False  # approvals (and proposals) in a direct message
    incident_channel: str | None = None
    summary_channel: str | None = None


@dataclass(frozen=True)
class VCenterConfig:
    """[vcenter]; the password comes from AIO_VCENTER_PASSWORD."""

    host: str
    user: str
    port: int = 443
    ca_file: Path | None = None
    pinned_sha256: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class RemediationConfig:
    expiry_minutes: float = 30.0
    dry_run: bool = False
    allow_self_approval: bool = False
    reboot_timeout_minutes: float = 20.0
    lease_seconds: float = 60.0  # a running request not renewed this long was interrupted
    sweep_seconds: float = 60.0  # how often expiry and interrupted requests are checked
    max_open_per_user: int = 5  # open proposals one person may have at once


@dataclass(frozen=True)
class Config:
    inventory: Inventory
    ssh: SshConfig = field(default_factory=SshConfig)
    thresholds: Thresholds = field(default_factory=Thresholds)
    slack: SlackAccess = field(default_factory=SlackAccess)
    vcenter: VCenterConfig | None = None
    remediation: RemediationConfig = field(default_factory=RemediationConfig)
    history: HistorySettings = field(default_factory=HistorySettings)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    alertmanager: AlertmanagerConfig = field(default_factory=AlertmanagerConfig)
    path: Path | None = None
    hosts_from: InventoryConfig = field(default_factory=InventoryConfig)


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("AIO_BOT_CONFIG", DEFAULT_PATH))


def load_config(path: Path | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Read and validate the TOML file; every problem is a ConfigError naming the key."""
    path = path or config_path(env)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"No configuration file at {path} (set AIO_BOT_CONFIG).") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"Cannot read {path}: {err}") from None
    except RecursionError:
        raise ConfigError(f"Cannot read {path}: it nests too deeply.") from None
    return parse_config(data, base=path.parent, path=path)


SECTIONS = ("ssh", "thresholds", "hosts", "inventory", "vcenter", "remediation", "slack",
            "history")


def parse_config(data: Mapping[str, Any], *, base: Path, path: Path | None = None) -> Config:
    """Every problem at once: a ConfigProblems listing each (unknown keys and sections with a
    did-you-mean, wrong types naming the key and the type wanted)."""
    problems = Problems()
    root = Table(data, "", problems)  # its tables are named by their keys
    for key in data:
        if key not in SECTIONS:
            problems.add(f"Unknown section [{key}]{did_you_mean(key, SECTIONS)}.")
            root._read.add(key)
    ssh = _ssh(root.table("ssh"), base)
    hosts = [_host(Table(h, f"hosts[{i}]", problems), ssh.username)
             for i, h in enumerate(_list(root, "hosts"))]
    _no_duplicates([h.name for h in hosts if h.name], problems)
    hosts_from = _inventory(root.table("inventory"))
    _needs_vcenter(hosts_from, ssh, "vcenter" in data, problems)
    config = Config(
        inventory=Inventory(h for h in hosts if h.name),
        ssh=ssh,
        thresholds=_thresholds(root.table("thresholds")),
        slack=_slack(root.table("slack")),
        vcenter=_vcenter(root.table("vcenter"), base) if "vcenter" in data else None,
        remediation=_remediation(root.table("remediation")),
        history=history_settings(root.table("history")),
        metrics=metrics_settings(root.table("metrics")),
        alertmanager=alertmanager_settings(root.table("alertmanager")),
        path=path,
        hosts_from=hosts_from,
    )
    root.finish()
    problems.raise_if_any(str(path) if path else None)
    return config


def _list(root: Table, key: str) -> list[Any]:
    root._read.add(key)
    value = root.data.get(key, [])
    if not isinstance(value, list):
        root.problems.add(f"`{key}` must be an array of tables ([[{key}]]).")
        return []
    return value


def _ssh(t: Table, base: Path) -> SshConfig:
    key_file = t.string("key_file")
    config = SshConfig(
        username=t.string("username", "root"),
        known_hosts=base / t.string("known_hosts", "known_hosts"),
        key_file=base / key_file if key_file else None,
        connect_timeout=t.number("connect_timeout", 10.0, positive=True),
        command_timeout=t.number("command_timeout", 60.0, positive=True),
        max_parallel=t.integer("max_parallel", 32, low=1, high=1024),
        worker_processes=t.integer("worker_processes", 1, low=0, high=16),
        enable_on_demand=t.boolean("enable_on_demand", False),
        max_window_minutes=t.number("max_window_minutes", 10.0, positive=True),
    )
    t.finish()
    return config


SOURCES = ("file", "vcenter", "both")  # bot.vsphere.merge.InventorySource


def _inventory(t: Table) -> InventoryConfig:
    source = t.string("source", "file")
    if source not in SOURCES:
        t.problems.add(f"`inventory.source` must be one of {', '.join(SOURCES)}, not "
                       f"{source!r}{did_you_mean(str(source), SOURCES)}.")
        source = "file"
    template = t.string("address_template", "{name}")
    if template != "{name}":  # checked where it is used (imports pyVmomi: only if needed)
        from bot.vsphere.discovery import check_address_template

        try:
            check_address_template(template)
        except ConfigError as err:
            t.problems.add(str(err))
            template = "{name}"
    config = InventoryConfig(
        source=source,
        clusters=t.ids("clusters"),
        datacenters=t.ids("datacenters"),
        gpu_hosts_only=t.boolean("gpu_hosts_only", True),
        address_template=template,
        read_vms=t.boolean("read_vms", True),
        refresh_minutes=t.number("refresh_minutes", 10.0, positive=True),
    )
    t.finish()
    return config


def _needs_vcenter(hosts_from: InventoryConfig, ssh: SshConfig, has_vcenter: bool,
                   problems: Problems) -> None:
    if has_vcenter:
        return
    if hosts_from.from_vcenter:
        problems.add(f"`inventory.source = \"{hosts_from.source}\"` needs a [vcenter] section "
                     "to discover the hosts in.")
    if ssh.enable_on_demand:
        problems.add("`ssh.enable_on_demand = true` needs a [vcenter] section: SSH is started "
                     "through vCenter.")


def _host(t: Table, username: str) -> HostEntry:
    name = t.string("name", "", required=True)
    entry = HostEntry(
        name=name,
        address=t.string("address", name),
        port=t.integer("port", 22, low=1, high=65535),
        cluster=t.string("cluster", "default"),
        username=t.string("username", username),
    )
    t.finish()
    return entry


def _no_duplicates(names: list[str], problems: Problems) -> None:
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            problems.add(f"Host `{name}` appears twice in the inventory.")
        seen.add(name.lower())


def _thresholds(t: Table) -> Thresholds:
    warning = t.number("warning_percent", 80.0)
    critical = t.number("critical_percent", 90.0)
    t.finish()
    if not 0 < warning < critical <= 100:
        t.problems.add("Thresholds need 0 < warning_percent < critical_percent <= 100.")
        return Thresholds()
    return Thresholds(warning, critical)


def _slack(t: Table) -> SlackAccess:
    access = SlackAccess(
        allowed_channels=t.ids("allowed_channels"),
        allowed_users=t.ids("allowed_users"),
        allowed_teams=t.ids("allowed_teams"),
        approvers=t.ids("approvers"),
        approve_in_dm=t.boolean("approve_in_dm", False),
        incident_channel=t.string("incident_channel"),
        summary_channel=t.string("summary_channel"),
    )
    t.finish()
    return access


def _vcenter(t: Table, base: Path) -> VCenterConfig:
    ca_file = t.string("ca_file")
    config = VCenterConfig(
        host=t.string("host", "", required=True), user=t.string("user", "", required=True),
        port=t.integer("port", 443, low=1, high=65535),
        ca_file=base / ca_file if ca_file else None,
        pinned_sha256=t.string("pinned_sha256"),
        insecure=t.boolean("insecure", False))
    t.finish()
    return config


def _remediation(t: Table) -> RemediationConfig:
    config = RemediationConfig(
        expiry_minutes=t.number("expiry_minutes", 30.0, positive=True),
        dry_run=t.boolean("dry_run", False),
        allow_self_approval=t.boolean("allow_self_approval", False),
        reboot_timeout_minutes=t.number("reboot_timeout_minutes", 20.0, positive=True),
        lease_seconds=t.number("lease_seconds", 60.0, positive=True),
        sweep_seconds=t.number("sweep_seconds", 60.0, positive=True),
        max_open_per_user=t.integer("max_open_per_user", 5, low=1, high=1000))
    t.finish()
    return config


def demo_remediation(env: Mapping[str, str] = os.environ) -> RemediationConfig:
    """The demo's remediation settings: defaults, with lease and sweep times from
    AIO_BOT_LEASE_SECONDS / AIO_BOT_SWEEP_SECONDS (used by the replica tests)."""
    try:
        lease = float(env.get("AIO_BOT_LEASE_SECONDS") or 60)
        sweep = float(env.get("AIO_BOT_SWEEP_SECONDS") or 60)
    except ValueError:
        raise ConfigError("AIO_BOT_LEASE_SECONDS and AIO_BOT_SWEEP_SECONDS are seconds.") from None
    return RemediationConfig(lease_seconds=lease, sweep_seconds=sweep)


def vcenter_password(env: Mapping[str, str] = os.environ) -> str:
    """The vCenter password, from the environment only."""
    password = env.get("AIO_VCENTER_PASSWORD")
    if not password:
        raise ConfigError("Set AIO_VCENTER_PASSWORD: the vCenter password is read from the "
                          "environment only.")
    return password


def ssh_password(env: Mapping[str, str] = os.environ) -> str | None:
    """The SSH password, from the environment only."""
    return env.get("AIO_SSH_PASSWORD") or None
