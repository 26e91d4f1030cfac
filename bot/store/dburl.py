"""Database URLs: which backend a URL names, and how to show it without its password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.errors import AioBotError

Backend = Literal["sqlite", "postgres"]

_PG_SCHEMES = ("postgresql://", "postgres://")
_USERINFO_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]*(?=@)")
_PARAM_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)('[^']*'|[^\s&]+)", re.IGNORECASE)
MASK = "***"


class StoreError(AioBotError):
    """The store cannot do what was asked (database unreachable, bad URL, ...). The message
    never contains a password."""


def mask_url(url: str) -> str:
    """`url` with any password replaced by `***` (userinfo and `password=` parameters)."""
    masked = _USERINFO_PASSWORD.sub(lambda m: m["head"] + MASK, url)
    return _PARAM_PASSWORD.sub(lambda m: m["head"] + MASK, masked)


def scrub(text: str, url: str) -> str:
    """`text` (e.g. a driver's error message) with `url`'s password removed wherever it shows."""
    text = mask_url(text)
    for secret in _passwords(url):
        if secret:
            text = text.replace(secret, MASK)
    return text


def _passwords(url: str) -> list[str]:
    found = [m.group(0)[len(m["head"]):] for m in _USERINFO_PASSWORD.finditer(url)]
    found += [m.group(2).strip("'") for m in _PARAM_PASSWORD.finditer(url)]
    return found


@dataclass(frozen=True)
class DbUrl:
    """A parsed store URL. `target` is the file path (SQLite) or the conninfo (PostgreSQL)."""

    backend: Backend
    target: str

    def __repr__(self) -> str:
        return f"DbUrl({self.backend}, {mask_url(self.target)!r})"

    __str__ = __repr__


def parse_url(url: str) -> DbUrl:
    """A plain path or `sqlite:///path` (SQLAlchemy style: `sqlite:////abs/path` is absolute)
    names SQLite; `postgresql://...` names PostgreSQL."""
    url = url.strip()
    if not url:
        raise StoreError("The database URL is empty; set AIO_BOT_DB to a file path or a "
                         "postgresql:// URL.")
    if url.startswith(_PG_SCHEMES):
        return DbUrl("postgres", url)
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        path = path.removeprefix("/") if path.startswith("/") else path
        if not path:
            raise StoreError("The SQLite URL names no file: use sqlite:///path/to/file.db.")
        return DbUrl("sqlite", path)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url):
        raise StoreError(f"Unsupported database URL {mask_url(url)!r}: use a file path, "
                         "sqlite:///path or postgresql://user:password@host/db.")
    return DbUrl("sqlite", url)
