"""What the tests need from the machine (sshd, PostgreSQL, Go and govmomi): one rule for all.
Locally a missing tool skips with the reason; under CI=true (where scripts/test installs
them) it fails, so a broken install step can never pass as skipped tests."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(missing: str | None) -> None:
    """`missing` is why the tool is absent, or None when it is there."""
    if missing is None:
        return
    if in_ci():
        pytest.fail(f"{missing}; CI=true requires it (scripts/test installs it)")
    pytest.skip(missing)
