"""Building pyVmomi data objects under mypy --strict.

pyVmomi's stubs declare data-object fields but no `__init__`, so every `Spec(field=...)`
is an untyped call; `data()` is the one place that says so."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def data(cls: type[T], **fields: Any) -> T:
    """`cls(**fields)` for a pyVmomi DataObject class."""
    return cls(**fields)
