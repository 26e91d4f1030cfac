"""How to reach one vCenter: address, account, trust, timeouts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.errors import ConfigError


@dataclass(frozen=True, slots=True)
class VCenterSettings:
    """Connection settings. The password comes from `AIO_VCENTER_PASSWORD` (the caller reads
    it) and is never printed.

    Trust: certificates are verified by default against `ca_file` (or the system CAs). With
    `pinned_sha256` the server certificate's SHA-256 fingerprint must match (checked on every
    TLS connection; the chain is then checked only when `ca_file` is also given).
    `insecure=True` skips verification and logs a warning at every connect.

    Timeouts: `connect_timeout` bounds reaching the server (TCP connect); `request_timeout`
    is the socket timeout of every SOAP exchange (pyVmomi's `httpConnectionTimeout`);
    `task_timeout` is the default deadline callers give tasks.
    """

    host: str
    user: str
    password: str = field(repr=False)
    port: int = 443
    ca_file: Path | None = None
    pinned_sha256: str | None = None
    insecure: bool = False
    connect_timeout: float = 10.0
    request_timeout: float = 60.0
    task_timeout: float = 600.0
    poll_interval: float = 0.5

    def __post_init__(self) -> None:
        if self.pinned_sha256 is not None:
            object.__setattr__(self, "pinned_sha256", normalize_fingerprint(self.pinned_sha256))
        if self.connect_timeout <= 0 or self.request_timeout <= 0:
            raise ConfigError("vCenter timeouts must be positive.")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        user: str,
        password: str,
        ca_file: Path | None = None,
        pinned_sha256: str | None = None,
        insecure: bool = False,
    ) -> VCenterSettings:
        """`https://vc.example.com[:port][/sdk]` to settings (credentials never in the URL)."""
        parts = urlsplit(url if "//" in url else f"https://{url}")
        if parts.scheme != "https" or not parts.hostname or parts.password:
            raise ConfigError("vCenter URL must be https://host[:port] without credentials.")
        return cls(host=parts.hostname, user=user, password=password, port=parts.port or 443,
                   ca_file=ca_file, pinned_sha256=pinned_sha256, insecure=insecure)


def normalize_fingerprint(text: str) -> str:
    """`AB:CD:...` or `abcd...` (SHA-256, 64 hex digits) to lower-case hex without colons."""
    digits = text.replace(":", "").strip().lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise ConfigError("pinned_sha256 must be a SHA-256 fingerprint (64 hex digits).")
    return digits
