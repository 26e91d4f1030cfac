"""The TOML configuration: what loads, and a clear error for what doesn't."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config, ssh_password
from bot.errors import ConfigError

GOOD = """
[ssh]
username = "aiobot"
known_hosts = "known_hosts"
command_timeout = 30

[thresholds]
warning_percent = 75
critical_percent = 90

[[hosts]]
name = "host01"
address = "10.0.0.11"
cluster = "gpu-a"

[[hosts]]
name = "host02"
address = "10.0.0.12"
port = 2222
cluster = "gpu-a"

[slack]
approvers = ["U0APPROVER"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aio-bot.toml"
    path.write_text(text)
    return path


def test_loads_inventory_ssh_thresholds_and_slack(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    host = config.inventory.get("HOST02")
    assert (host.address, host.port, host.cluster, host.username) == (
        "10.0.0.12",
        2222,
        "gpu-a",
        "aiobot",
    )
    assert config.ssh.known_hosts == tmp_path / "known_hosts"
    assert config.ssh.command_timeout == 30.0
    assert config.thresholds.warning_percent == 75.0
    assert config.slack.approvers == ("U0APPROVER",)


def test_path_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    config = load_config(env={"AIO_BOT_CONFIG": str(path)})
    assert len(config.inventory) == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[hosts]]\naddress = '1.2.3.4'\n", "hosts[0].name"),
        ("[[hosts]]\nname = 'a'\nport = 70000\n", "port"),
        ("[[hosts]]\nname = 'a'\n[[hosts]]\nname = 'A'\n", "twice"),
        ("[thresholds]\nwarning_percent = 95\ncritical_percent = 90\n", "warning_percent"),
        ("[ssh]\nmax_parallel = 0\n", "max_parallel"),
        ("[ssh]\ncommand_timeout = 'soon'\n", "ssh.command_timeout"),
        ("hosts = 3\n", "array of tables"),
        ("this is not toml", "Cannot read"),
    ],
)
def test_bad_configuration_names_the_problem(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        load_config(write(tmp_path, text))
    assert fragment in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AIO_BOT_CONFIG"):
        load_config(tmp_path / "nope.toml")


def test_password_only_from_environment() -> None:
    assert ssh_password({"AIO_SSH_PASSWORD": "s3cret"}) == "s3cret"
    assert ssh_password({}) is None
