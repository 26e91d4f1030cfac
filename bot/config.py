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

DEFAULT_PATH = "aio-bot.toml"


@dataclass(frozen=True)
class SshConfig:
    username: str = "root"
    known_hosts: Path = Path("known_hosts")
    key_file: Path | None = None
    connect_timeout: float = 10.0
    command_timeout: float = 60.0
    max_parallel: int = 32


@dataclass(frozen=True)
class SlackAccess:
    """Who may use the bot where. Empty lists mean "everyone" for channels and users."""

    allowed_channels: tuple[str, ...] = ()
    allowed_users: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
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


@dataclass(frozen=True)
class Config:
    inventory: Inventory
    ssh: SshConfig = field(default_factory=SshConfig)
    thresholds: Thresholds = field(default_factory=Thresholds)
    slack: SlackAccess = field(default_factory=SlackAccess)
    vcenter: VCenterConfig | None = None
    remediation: RemediationConfig = field(default_factory=RemediationConfig)
    history: HistorySettings = field(default_factory=HistorySettings)
    path: Path | None = None


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
    return parse_config(data, base=path.parent, path=path)


def parse_config(data: Mapping[str, Any], *, base: Path, path: Path | None = None) -> Config:
    ssh = _ssh(_table(data, "ssh"), base)
    hosts = [_host(h, i, ssh.username) for i, h in enumerate(_list(data, "hosts"))]
    _no_duplicates([h.name for h in hosts])
    return Config(
        inventory=Inventory(hosts),
        ssh=ssh,
        thresholds=_thresholds(_table(data, "thresholds")),
        slack=_slack(_table(data, "slack")),
        vcenter=_vcenter(_table(data, "vcenter"), base) if "vcenter" in data else None,
        remediation=_remediation(_table(data, "remediation")),
        history=history_settings(_table(data, "history")),
        path=path,
    )


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"`{key}` must be a table.")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"`{key}` must be an array of tables ([[{key}]]).")
    return value


def _get(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any,
         where: str) -> Any:
    value = table.get(key, default)
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"`{where}.{key}` has the wrong type ({type(value).__name__}).")
    return value


def _ssh(t: Mapping[str, Any], base: Path) -> SshConfig:
    key_file = _get(t, "key_file", str, None, "ssh")
    max_parallel = _get(t, "max_parallel", int, 32, "ssh")
    if max_parallel < 1:
        raise ConfigError("`ssh.max_parallel` must be at least 1.")
    return SshConfig(
        username=_get(t, "username", str, "root", "ssh"),
        known_hosts=base / _get(t, "known_hosts", str, "known_hosts", "ssh"),
        key_file=base / key_file if key_file else None,
        connect_timeout=float(_get(t, "connect_timeout", (int, float), 10.0, "ssh")),
        command_timeout=float(_get(t, "command_timeout", (int, float), 60.0, "ssh")),
        max_parallel=max_parallel,
    )


def _host(h: Any, index: int, username: str) -> HostEntry:
    where = f"hosts[{index}]"
    if not isinstance(h, Mapping):
        raise ConfigError(f"`{where}` must be a table.")
    name = _get(h, "name", str, None, where)
    if not name:
        raise ConfigError(f"`{where}.name` is required.")
    port = _get(h, "port", int, 22, where)
    if not 1 <= port <= 65535:
        raise ConfigError(f"`{where}.port` must be between 1 and 65535.")
    return HostEntry(
        name=name,
        address=_get(h, "address", str, name, where),
        port=port,
        cluster=_get(h, "cluster", str, "default", where),
        username=_get(h, "username", str, username, where),
    )


def _no_duplicates(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise ConfigError(f"Host `{name}` appears twice in the inventory.")
        seen.add(name.lower())


def _thresholds(t: Mapping[str, Any]) -> Thresholds:
    warning = float(_get(t, "warning_percent", (int, float), 80.0, "thresholds"))
    critical = float(_get(t, "critical_percent", (int, float), 90.0, "thresholds"))
    if not 0 < warning < critical <= 100:
        raise ConfigError("Thresholds need 0 < warning_percent < critical_percent <= 100.")
    return Thresholds(warning, critical)


def _slack(t: Mapping[str, Any]) -> SlackAccess:
    def ids(key: str) -> tuple[str, ...]:
        value = _get(t, key, list, [], "slack")
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"`slack.{key}` must be a list of Slack IDs.")
        return tuple(value)

    return SlackAccess(
        allowed_channels=ids("allowed_channels"),
        allowed_users=ids("allowed_users"),
        approvers=ids("approvers"),
        incident_channel=_get(t, "incident_channel", str, None, "slack"),
        summary_channel=_get(t, "summary_channel", str, None, "slack"),
    )


def _vcenter(t: Mapping[str, Any], base: Path) -> VCenterConfig:
    host, user = _get(t, "host", str, None, "vcenter"), _get(t, "user", str, None, "vcenter")
    if not host or not user:
        raise ConfigError("`vcenter.host` and `vcenter.user` are required.")
    ca_file = _get(t, "ca_file", str, None, "vcenter")
    return VCenterConfig(
        host=host, user=user, port=_get(t, "port", int, 443, "vcenter"),
        ca_file=base / ca_file if ca_file else None,
        pinned_sha256=_get(t, "pinned_sha256", str, None, "vcenter"),
        insecure=_get(t, "insecure", bool, False, "vcenter"))


def _remediation(t: Mapping[str, Any]) -> RemediationConfig:
    expiry = float(_get(t, "expiry_minutes", (int, float), 30.0, "remediation"))
    reboot = float(_get(t, "reboot_timeout_minutes", (int, float), 20.0, "remediation"))
    lease = float(_get(t, "lease_seconds", (int, float), 60.0, "remediation"))
    sweep = float(_get(t, "sweep_seconds", (int, float), 60.0, "remediation"))
    if min(expiry, reboot, lease, sweep) <= 0:
        raise ConfigError("`remediation` times must be positive.")
    return RemediationConfig(
        expiry_minutes=expiry,
        dry_run=_get(t, "dry_run", bool, False, "remediation"),
        allow_self_approval=_get(t, "allow_self_approval", bool, False, "remediation"),
        reboot_timeout_minutes=reboot, lease_seconds=lease, sweep_seconds=sweep)


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
