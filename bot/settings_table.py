"""Strict reading of one TOML table: each key read with its type, unknown keys reported with a
did-you-mean, every problem collected so that `check-config` can list them all at once.

Used by `bot.config` and by the engine's own tables (`[history]`)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.errors import ConfigError


@dataclass
class Problems:
    """What is wrong with a configuration, in the order found."""

    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.items.append(text)

    def raise_if_any(self, where: str | None = None) -> None:
        if self.items:
            raise ConfigProblems(self.items, where)


class ConfigProblems(ConfigError):
    """Every problem found in a configuration, one per line."""

    def __init__(self, problems: list[str], where: str | None = None) -> None:
        self.problems = list(problems)
        self.where = where
        head = f"{where}: " if where else ""
        if len(problems) == 1:
            super().__init__(f"{head}{problems[0]}")
        else:
            lines = "\n".join(f"  - {p}" for p in problems)
            super().__init__(f"{head}{len(problems)} problems:\n{lines}")


def did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "a whole number",
               float: "a number", list: "a list", dict: "a table"}


class Table:
    """One table (`[ssh]`, `[[hosts]]` entry …): read keys with `string`, `integer`, …; `finish`
    reports the keys nobody read. A key of the wrong type is a problem; the default is used
    so that reading can go on and find the next problem."""

    def __init__(self, data: Any, where: str, problems: Problems) -> None:
        self.where = where
        self.problems = problems
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            problems.add(f"`{where}` must be a table.")
            data = {}
        self.data: Mapping[str, Any] = data
        self._read: set[str] = set()

    def _value(self, key: str, kinds: tuple[type, ...], expected: str) -> Any:
        self._read.add(key)
        if key not in self.data:
            return None
        value = self.data[key]
        if isinstance(value, bool) and bool not in kinds:  # TOML true is not a number
            value_ok = False
        else:
            value_ok = isinstance(value, kinds)
        if not value_ok:
            self.problems.add(f"`{self.where}.{key}` must be {expected}, not "
                              f"{_shown_type(value)}.")
            return None
        return value

    def string(self, key: str, default: Any = None, *, required: bool = False) -> Any:
        value = self._value(key, (str,), "a string")
        if value is None and required and key not in self.data:
            self.problems.add(f"`{self.where}.{key}` is required.")
        if value is not None and required and not value.strip():
            self.problems.add(f"`{self.where}.{key}` must not be empty.")
        return default if value is None else value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._value(key, (bool,), "true or false")
        return default if value is None else bool(value)

    def integer(self, key: str, default: int, *, low: int | None = None,
                high: int | None = None) -> int:
        value = self._value(key, (int,), "a whole number")
        if value is None:
            return default
        return int(self._bounded(key, value, low, high, default))

    def number(self, key: str, default: float, *, low: float | None = None,
               high: float | None = None, positive: bool = False) -> float:
        value = self._value(key, (int, float), "a number")
        if value is None:
            return default
        if positive and value <= 0:
            self.problems.add(f"`{self.where}.{key}` must be positive.")
            return default
        return float(self._bounded(key, value, low, high, default))

    def ids(self, key: str) -> tuple[str, ...]:
        value = self._value(key, (list,), "a list of strings")
        if value is None:
            return ()
        if not all(isinstance(v, str) for v in value):
            self.problems.add(f"`{self.where}.{key}` must be a list of strings.")
            return ()
        return tuple(value)

    def table(self, key: str) -> Table:
        self._read.add(key)
        where = f"{self.where}.{key}" if self.where else key
        return Table(self.data.get(key), where, self.problems)

    def _bounded(self, key: str, value: float, low: float | None, high: float | None,
                 default: float) -> float:
        if (low is not None and value < low) or (high is not None and value > high):
            span = (f"from {low:g} to {high:g}" if low is not None and high is not None
                    else f"at least {low:g}" if low is not None else f"at most {high:g}")
            self.problems.add(f"`{self.where}.{key}` must be {span}.")
            return default
        return value

    def finish(self) -> None:
        """Report every key that no reader asked for."""
        for key in self.data:
            if key not in self._read:
                hint = did_you_mean(key, self._read)
                self.problems.add(f"`{self.where}` has no key `{key}`{hint}.")


def _shown_type(value: Any) -> str:
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return name
    return type(value).__name__
