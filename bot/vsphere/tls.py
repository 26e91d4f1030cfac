"""TLS for vCenter: verification on by default, CA file or a pinned fingerprint."""

from __future__ import annotations

import hashlib
import logging
import ssl

from bot.vsphere.settings import VCenterSettings

log = logging.getLogger(__name__)


def fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate, lower-case hex."""
    return hashlib.sha256(der).hexdigest()


def pretty(fp: str) -> str:
    """`ab:cd:...` as vSphere shows thumbprints (upper case, colons)."""
    return ":".join(fp[i:i + 2] for i in range(0, len(fp), 2)).upper()


class PinMismatch(ssl.SSLCertVerificationError):
    """The server's certificate is not the pinned one."""


def _pinned_socket_class(pin: str) -> type[ssl.SSLSocket]:
    class PinnedSSLSocket(ssl.SSLSocket):
        """Checks the peer certificate's SHA-256 right after every handshake."""

        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            der = self.getpeercert(binary_form=True)
            got = fingerprint(der) if der else "none"
            if got != pin:
                self.close()
                raise PinMismatch(
                    f"certificate fingerprint {pretty(got)} is not the pinned {pretty(pin)}")

    return PinnedSSLSocket


def ssl_context(settings: VCenterSettings) -> ssl.SSLContext:
    """The context every connection to this vCenter uses."""
    if settings.insecure:
        log.warning("vCenter %s: certificate verification is OFF (insecure = true); "
                    "anyone on the path can impersonate vCenter", settings.host)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if settings.pinned_sha256 is None:
        cafile = str(settings.ca_file) if settings.ca_file else None
        return ssl.create_default_context(cafile=cafile)
    if settings.ca_file is not None:
        ctx = ssl.create_default_context(cafile=str(settings.ca_file))
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.sslsocket_class = _pinned_socket_class(settings.pinned_sha256)
    return ctx
