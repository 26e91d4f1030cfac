"""The command registry: StackStorm-style aliases (`top {host} [limit={n}]`), matching of
the words a user typed, and usage errors that carry the command's help.

Words are split on whitespace and never reach a shell; each command resolves its values
(hosts in the inventory, bounded integers) before any host is contacted."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from bot import messages
from bot.errors import UsageError
from commands.context import Context
from commands.results import HelpEntry, Result

MAX_TEXT = 1000
_REQUIRED = re.compile(r"^\{(\w+)\}$")
_OPTIONAL = re.compile(r"^\[(\w+)=\{(\w+)\}\]$")
_POSITIONAL_OPTIONAL = re.compile(r"^\[\{(\w+)\}\]$")

Args = dict[str, str]
Handler = Callable[[Context, Args], Awaitable[Result]]


@dataclass(frozen=True)
class Syntax:
    """A parsed alias: the command word, required and optional positionals, keywords."""

    word: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    keywords: tuple[str, ...]

    @classmethod
    def parse(cls, alias: str) -> Syntax:
        word, *parts = alias.split()
        required: list[str] = []
        optional: list[str] = []
        keywords: list[str] = []
        for part in parts:
            if m := _REQUIRED.match(part):
                required.append(m.group(1))
            elif m := _POSITIONAL_OPTIONAL.match(part):
                optional.append(m.group(1))
            elif m := _OPTIONAL.match(part):
                keywords.append(m.group(1))
            else:
                raise ValueError(f"bad alias part {part!r} in {alias!r}")
        return cls(word, tuple(required), tuple(optional), tuple(keywords))


@dataclass(frozen=True)
class Command:
    """One `/aio` subcommand: its alias, a one-line summary, help text, and handler."""

    alias: str
    summary: str
    details: str
    handler: Handler
    mutating: bool = False

    @property
    def syntax(self) -> Syntax:
        return Syntax.parse(self.alias)

    @property
    def name(self) -> str:
        return self.syntax.word

    def help_entry(self) -> HelpEntry:
        return HelpEntry(self.name, self.alias, self.summary, self.details)

    def bind(self, words: list[str]) -> Args:
        """Match the words after the command name to the alias, or raise UsageError."""
        syntax = self.syntax
        args: Args = {}
        positional: list[str] = []
        for word in words:
            key, eq, value = word.partition("=")
            if eq and key in syntax.keywords:
                args[key] = value
            elif eq and key.isidentifier():
                raise self.usage(f"`{self.name}` has no option `{key}`.")
            else:
                positional.append(word)
        names = syntax.required + syntax.optional
        if len(positional) < len(syntax.required):
            missing = syntax.required[len(positional)]
            raise self.usage(f"`{self.name}` needs a {missing}.")
        if len(positional) > len(names):
            raise self.usage(f"`{self.name}` takes at most {len(names)} word(s) after it.")
        args.update(zip(names, positional, strict=False))
        return args

    def usage(self, problem: str) -> UsageError:
        return CommandUsageError(problem, self)


class CommandUsageError(UsageError):
    """A usage error that knows which command's help to show."""

    def __init__(self, problem: str, command: Command | None) -> None:
        self.problem = problem
        self.command = command
        hint = f" Usage: `{command.alias}`." if command else ""
        super().__init__(problem + hint)


def split_words(text: str) -> list[str]:
    """Words as a shell would split them (quotes keep `"QA Win11 Desktop"` together); the
    words are only ever matched against the inventory, never passed to a shell."""
    try:
        return shlex.split(text)
    except ValueError:
        raise CommandUsageError("A quote is not closed.", None) from None


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, command: Command) -> Command:
        if command.name in self._commands:
            raise ValueError(f"command {command.name} registered twice")
        self._commands[command.name] = command
        return command

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def get(self, name: str) -> Command | None:
        return self._commands.get(name.lower())

    def names(self) -> list[str]:
        return sorted(self._commands)

    def match(self, text: str) -> tuple[Command, Args]:
        """The command and its arguments for `text`, or a UsageError that says what fits."""
        if len(text) > MAX_TEXT:
            raise CommandUsageError(f"That is too long ({len(text):,} characters).", None)
        words = split_words(text)
        if not words:
            raise CommandUsageError("Say which command to run; try `help`.", None)
        command = self.get(words[0])
        if command is None:
            raise CommandUsageError(self._unknown(words[0]), None)
        return command, command.bind(words[1:])

    async def run(self, text: str, ctx: Context) -> Result:
        command, args = self.match(text)
        return await command.handler(ctx, args)

    def _unknown(self, word: str) -> str:
        shown = messages.shown(word)
        close = difflib.get_close_matches(word.lower(), self.names(), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return f"I don't know the command `{shown}`.{hint} Try `help`."
