"""The standard proxy variables, read once for every outgoing HTTP client: `HTTPS_PROXY`
for https:// and wss:// URLs, `HTTP_PROXY` for http:// and ws://, `NO_PROXY` (host names,
domain suffixes, `*`) for the ones that go direct. Lower-case names win, as with curl and
Python's urllib.

slack_sdk reads HTTPS_PROXY itself but not NO_PROXY, so its clients are given the answer
of `proxy_for` explicitly; pyVmomi reads none of them."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

_KEYS = {"https": "https", "wss": "https", "http": "http", "ws": "http"}


def proxy_for(url: str, env: Mapping[str, str] = os.environ) -> str | None:
    """The proxy URL to reach `url` through, or None for a direct connection."""
    parts = urlsplit(url)
    key = _KEYS.get(parts.scheme.lower())
    if key is None or not parts.hostname:
        return None
    proxy = _variable(env, f"{key}_proxy")
    if not proxy:
        return None
    no_proxy = _variable(env, "no_proxy")
    if no_proxy:
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if urllib.request.proxy_bypass_environment(  # type: ignore[attr-defined]
                host, {"no": no_proxy}):
            return None
    return proxy if "://" in proxy else f"http://{proxy}"


def host_and_port(proxy: str) -> tuple[str, int]:
    """`http://proxy.example.com:3128` to ("proxy.example.com", 3128)."""
    parts = urlsplit(proxy)
    return parts.hostname or "", parts.port or 80


def _variable(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name) or env.get(name.upper())
    return value.strip() if value and value.strip() else None
