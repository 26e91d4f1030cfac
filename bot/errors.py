"""The exception hierarchy. Every error carries what failed; `str(err)` is one plain sentence
a user can act on (the wording lives in `bot.messages`)."""

from __future__ import annotations

from bot import messages


class AioBotError(Exception):
    """Base of every error aio-bot reports to a user."""

    exit_status = 1


class UsageError(AioBotError):
    """The words of a command do not fit it; exit status 2."""

    exit_status = 2


class ConfigError(AioBotError):
    """The configuration file or environment is wrong; exit status 2."""

    exit_status = 2


class UnknownHostError(UsageError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        super().__init__(messages.unknown_host(name, suggestions))


class ParseError(AioBotError):
    """Output that does not have the format we know; names the line."""

    exit_status = 2

    def __init__(self, fmt: str, line_no: int, line: str, why: str) -> None:
        self.fmt = fmt
        self.line_no = line_no
        self.line = line
        self.why = why
        super().__init__(messages.parse_error(fmt, line_no, line, why))


class HostError(AioBotError):
    """Something went wrong talking to one ESXi host."""

    def __init__(self, host: str, command: str | None, detail: str = "") -> None:
        self.host = host
        self.command = command
        self.detail = detail
        super().__init__(self.describe())

    def describe(self) -> str:
        return messages.host_error(type(self).__name__, self.host, self.command, self.detail)


class HostUnreachable(HostError):
    pass


class HostKeyUnknown(HostError):
    def __init__(self, host: str, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        super().__init__(host, None, fingerprint)


class HostKeyChanged(HostError):
    def __init__(self, host: str, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        super().__init__(host, None, fingerprint)


class AuthFailed(HostError):
    pass


class CommandTimeout(HostError):
    pass


class CommandFailed(HostError):
    def __init__(self, host: str, command: str, exit_status: int, stderr: str) -> None:
        self.exit_status_remote = exit_status
        self.stderr = stderr
        super().__init__(host, command, stderr)


class OutputTooLarge(HostError):
    pass


class OutputTruncated(HostError):
    pass


class VCenterError(AioBotError):
    """Something went wrong talking to vCenter; carries the operation."""

    def __init__(self, operation: str, detail: str) -> None:
        self.operation = operation
        self.detail = detail
        super().__init__(messages.vcenter_error(operation, detail))


class VmNotFound(VCenterError):
    pass


class AmbiguousVm(VCenterError):
    pass


class TaskTimeout(VCenterError):
    pass


class TaskFailed(VCenterError):
    pass


class CertificateError(VCenterError):
    pass


class PreconditionFailed(AioBotError):
    """What was true when a change was proposed is no longer true; nothing was changed."""


class StepFailed(AioBotError):
    """A change failed midway; the message says what state the host is in."""
