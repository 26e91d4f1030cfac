"""`aio-bot run` and `aio-bot check-config` against a configured inventory: here the demo
fleet's hosts written into a TOML file, with the password from the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import DemoFleet


def write_config(tmp_path: Path, fleet: DemoFleet, known_hosts: Path) -> Path:
    hosts = "".join(
        f'[[hosts]]\nname = "{h.name}"\naddress = "{h.address}"\nport = {h.port}\n'
        f'cluster = "{h.cluster}"\n\n'
        for h in fleet.inventory
    )
    path = tmp_path / "aio-bot.toml"
    path.write_text(f'[ssh]\nknown_hosts = "{known_hosts}"\ncommand_timeout = 20\n\n{hosts}')
    return path


def test_run_top_on_the_configured_inventory(
    tmp_path: Path, fleet: DemoFleet, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, fleet, fleet.fleet.known_hosts_path)
    monkeypatch.setenv("AIO_BOT_CONFIG", str(config))
    monkeypatch.setenv("AIO_SSH_PASSWORD", fleet.password)
    assert main(["run", "top", "host02", "limit=3", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["host"] == "host02" and len(doc["vms"]) == 3
    assert doc["fix"]["available"] is True
    assert main(["check-config"]) == 0
    assert "configuration OK" in capsys.readouterr().out


def test_run_with_a_wrong_password_is_one_sentence_and_exit_1(
    tmp_path: Path, fleet: DemoFleet, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, fleet, fleet.fleet.known_hosts_path)
    monkeypatch.setenv("AIO_BOT_CONFIG", str(config))
    monkeypatch.setenv("AIO_SSH_PASSWORD", "not-the-password")
    assert main(["run", "check", "host01"]) == 1
    err = capsys.readouterr().err.strip()
    assert "host01 refused my SSH login" in err and "\n" not in err
    assert "not-the-password" not in err


def test_run_refuses_hosts_whose_key_is_not_known(
    tmp_path: Path, fleet: DemoFleet, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    monkeypatch.setenv("AIO_BOT_CONFIG", str(write_config(tmp_path, fleet, empty)))
    monkeypatch.setenv("AIO_SSH_PASSWORD", fleet.password)
    assert main(["run", "scan", "gpu-cluster-b"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "SHA256:" in out
    assert fleet.fleet.servers["host05"].received == []  # refused before any command


def test_check_config_reports_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "aio-bot.toml"
    path.write_text('[ssh]\nknown_hosts = "nope"\n[[hosts]]\nname = "h1"\n')
    monkeypatch.setenv("AIO_BOT_CONFIG", str(path))
    monkeypatch.delenv("AIO_SSH_PASSWORD", raising=False)
    assert main(["check-config", "--format", "json"]) == 2
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert any("known_hosts" in p for p in problems)
    assert any("AIO_SSH_PASSWORD" in p for p in problems)
    monkeypatch.setenv("AIO_BOT_CONFIG", str(tmp_path / "absent.toml"))
    assert main(["run", "help"]) == 2
    assert "No configuration file" in capsys.readouterr().err
