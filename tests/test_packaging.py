"""Packaging: the SPDX license with its file, a floor (and a ceiling) for every runtime
dependency, and scripts/min-constraints, which turns the floors into the constraints file that
scripts/test-min-versions installs (its own step of .ci/run)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _min_constraints() -> ModuleType:
    path = ROOT / "scripts" / "min-constraints"
    loader = importlib.machinery.SourceFileLoader("min_constraints", str(path))
    spec = importlib.util.spec_from_loader("min_constraints", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_license_is_spdx_with_its_file() -> None:
    assert PROJECT["project"]["license"] == "Apache-2.0"
    assert PROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # PEP 639's license expression needs setuptools 77 to build.
    assert "setuptools>=77" in PROJECT["build-system"]["requires"]


@pytest.mark.parametrize("requirement", PROJECT["project"]["dependencies"]
                         + PROJECT["project"]["optional-dependencies"]["postgres"])
def test_every_runtime_dependency_has_a_floor_and_a_ceiling(requirement: str) -> None:
    assert ">=" in requirement and "<" in requirement.replace("<=", ""), requirement


def test_constraints_pin_each_floor() -> None:
    mc = _min_constraints()
    project = {"dependencies": ["paramiko>=3.4,<6", "slack_sdk >= 3.45, < 4"],
               "optional-dependencies": {"postgres": ["psycopg[binary]>=3.1,<4"]}}
    assert mc.constraints(project, ["postgres"]) == [
        "paramiko==3.4", "slack_sdk==3.45", "psycopg==3.1"]
    assert mc.minimum('tomli>=2.0; python_version < "3.11"') \
        == 'tomli==2.0; python_version < "3.11"'


@pytest.mark.parametrize("requirement", ["paramiko", "paramiko<6", "paramiko>=3,>=4",
                                         "paramiko==3.4"])
def test_a_dependency_without_one_floor_is_an_error(requirement: str) -> None:
    with pytest.raises(ValueError, match="minimum"):
        _min_constraints().minimum(requirement)


def test_two_floors_for_one_package_are_an_error() -> None:
    project = {"dependencies": ["matplotlib>=3.8,<4"],
               "optional-dependencies": {"x": ["Matplotlib>=3.9,<4"]}}
    with pytest.raises(ValueError, match="two different minimums"):
        _min_constraints().constraints(project, ["x"])


def test_the_script_reads_this_pyproject() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "min-constraints")],
                          capture_output=True, text=True, check=True, timeout=30)
    pins = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    declared = PROJECT["project"]["dependencies"] \
        + PROJECT["project"]["optional-dependencies"]["postgres"]
    assert [p.split("==")[0] for p in pins] \
        == [re.split(r"[\[<>=;, ]", d)[0] for d in declared]
    assert "slack-sdk==3.45" in pins  # RawNumberObject: `aio-bot serve` imports it
