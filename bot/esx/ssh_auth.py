"""Password authentication the way ESXi 8 asks for it: keyboard-interactive first.

paramiko's SSHClient tries the `password` method first; ESXi 8 refuses it, and paramiko
then answers keyboard-interactive with the password. That refusal is raised as an exception
whose traceback holds the authentication frames in a reference cycle: a hundred objects of
cyclic garbage per connection, which the garbage collector later frees in pauses of the
event loop (30-250 ms while scanning 1,008 hosts, bench/load.py). Asking keyboard-interactive
first succeeds at once on ESXi; servers that only take `password` (OpenSSH configured so)
get it next.
"""

from __future__ import annotations

from collections.abc import Iterator

import paramiko
from paramiko.auth_strategy import AuthSource, AuthStrategy, Password


class KeyboardInteractivePassword(AuthSource):
    """The password as the answer to a keyboard-interactive prompt (one prompt at most: the
    password is never sent to a prompt asking for anything more)."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username)
        self._password = password

    def __repr__(self) -> str:  # paramiko logs sources at DEBUG: never the password
        return f"{type(self).__name__}(user={self.username!r})"

    def authenticate(self, transport: paramiko.Transport) -> list[str]:
        return transport.auth_interactive(self.username, self._answer)

    def _answer(self, title: str, instructions: str, prompts: list[tuple[str, bool]]
                ) -> list[str]:
        if len(prompts) > 1:
            raise paramiko.AuthenticationException("the server asked for more than a password")
        return [self._password] * len(prompts)


class PasswordFirstInteractive(AuthStrategy):
    """Keyboard-interactive with the password, then the `password` method."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(ssh_config=paramiko.SSHConfig())
        self._username = username
        self._password = password

    def __repr__(self) -> str:
        return f"{type(self).__name__}(user={self._username!r})"

    def get_sources(self) -> Iterator[AuthSource]:
        yield KeyboardInteractivePassword(self._username, self._password)
        yield Password(self._username, lambda: self._password)


def failure_detail(exc: BaseException) -> str:
    """One line for a failed authentication. AuthFailure's own text lists every attempt on
    lines of their own; the first real refusal says more than "method not allowed"."""
    results = [r.result for r in getattr(exc, "result", None) or []]
    refusals = [r for r in results if not isinstance(r, paramiko.BadAuthenticationType)]
    if isinstance(exc, paramiko.auth_strategy.AuthFailure) and results:
        first = (refusals or results)[0]
        return " ".join(str(first).split()) or type(first).__name__
    return " ".join(str(exc).split()) or type(exc).__name__
