"""Turning what pyVmomi, sockets and TLS raise into aio-bot's one-line vCenter errors."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from pyVmomi import vim, vmodl

from bot.errors import CertificateError, VCenterError


def fault_text(fault: BaseException) -> str:
    """The fault's own message, else its type (`InvalidPowerState`)."""
    msg = getattr(fault, "msg", None)
    if isinstance(msg, str) and msg.strip() and not msg.startswith("*types."):
        return msg.strip().splitlines()[0]
    return type(fault).__name__.rsplit(".", 1)[-1]


@contextmanager
def translated(operation: str, where: str, user: str, timeout: float) -> Iterator[None]:
    """Re-raise transport and vSphere faults as VCenterError / CertificateError.

    aio-bot's own errors pass through. Messages never hold the password: they are built
    here from the host, the user and the error's type and text."""
    try:
        yield
    except VCenterError:
        raise
    except ssl.SSLCertVerificationError as err:
        reason = getattr(err, "verify_message", None) or str(err)
        raise CertificateError(operation, f"{where}: certificate not trusted: {reason}") from None
    except ssl.SSLError as err:
        raise VCenterError(operation, f"TLS with {where} failed: {err.reason or err}") from None
    except vim.fault.InvalidLogin:
        raise VCenterError(operation, f"{where} refused the login of {user}") from None
    except TimeoutError:
        raise VCenterError(operation, f"{where} did not answer within {timeout:g} s") from None
    except OSError as err:
        raise VCenterError(operation, f"cannot talk to {where}: {err.strerror or err}") from None
    except http.client.HTTPException as err:
        raise VCenterError(operation, f"bad HTTP answer from {where}: "
                                      f"{type(err).__name__}") from None
    except vmodl.MethodFault as fault:
        raise VCenterError(operation, fault_text(fault)) from None
