"""The command registry: StackStorm-style aliases (`top {host} [limit={n}]`,
`migrate {vm} [to {host}]`), matching of the words a user typed, usage errors that carry the
command's help, and `invoke`, through which every command runs (the gate, then the handler).

Words are split as a shell would and never reach a shell; each command resolves its values
(hosts in the inventory, bounded integers) before any host is contacted."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from bot import messages
from bot.errors import UsageError
from bot.gate import Effect
from commands.context import Context
from commands.results import HelpEntry, Result

MAX_TEXT = 1000
MAX_WORDS = 50
_TOKEN = re.compile(r"\[[^\]]*\]|\S+")
_REQUIRED = re.compile(r"^\{(\w+)\}$")
_OPTIONAL = re.compile(r"^\[(\w+)=\{(\w+)\}\]$")
_POSITIONAL_OPTIONAL = re.compile(r"^\[\{(\w+)\}\]$")
_LITERAL_VALUE = re.compile(r"^\[([a-z][\w-]*) \{(\w+)\}\]$")
_FLAG = re.compile(r"^\[([a-z][\w-]*)\]$")

Args = dict[str, str]
Handler = Callable[[Context, Args], Awaitable[Result]]


@dataclass(frozen=True)
class Syntax:
    """A parsed alias: the command word, required and optional positionals, keywords
    (`[limit={n}]`), literal words that introduce a value (`[to {host}]`) and flags
    (`[hard]`)."""

    word: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    keywords: tuple[str, ...]
    introduced: tuple[tuple[str, str], ...] = ()  # (literal, name): `to` -> host
    flags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, alias: str) -> Syntax:
        word, *parts = _TOKEN.findall(alias)
        required: list[str] = []
        optional: list[str] = []
        keywords: list[str] = []
        introduced: list[tuple[str, str]] = []
        flags: list[str] = []
        for part in parts:
            if m := _REQUIRED.match(part):
                required.append(m.group(1))
            elif m := _POSITIONAL_OPTIONAL.match(part):
                optional.append(m.group(1))
            elif m := _OPTIONAL.match(part):
                keywords.append(m.group(1))
            elif m := _LITERAL_VALUE.match(part):
                introduced.append((m.group(1), m.group(2)))
            elif m := _FLAG.match(part):
                flags.append(m.group(1))
            else:
                raise ValueError(f"bad alias part {part!r} in {alias!r}")
        return cls(word, tuple(required), tuple(optional), tuple(keywords), tuple(introduced),
                   tuple(flags))


def usage_text(alias: str) -> str:
    """The alias as people read it: `migrate <vm> [to <host>]`, `top <host> [limit=<n>]`."""
    return re.sub(r"\{(\w+)\}", r"<\1>", alias)


@dataclass(frozen=True)
class Command:
    """One `/aio` subcommand: its alias, help, handler, and what front ends need to know of
    it (read by them instead of lists of names)."""

    alias: str
    summary: str
    details: str
    handler: Handler
    effect: Effect = Effect.READ  # what running it does; the gate decides by it
    streams_progress: bool = False  # reports progress as hosts answer (`Context.progress`)
    interrupts_guests: bool = False  # its approval powers off or reboots guests

    @property
    def syntax(self) -> Syntax:
        return Syntax.parse(self.alias)

    @property
    def name(self) -> str:
        return self.syntax.word

    @property
    def usage_line(self) -> str:
        return usage_text(self.alias)

    def help_entry(self) -> HelpEntry:
        details = self.details
        if self.interrupts_guests:
            details = (details + " " if details else "") + messages.interrupts_guests_note()
        return HelpEntry(self.name, self.usage_line, self.summary, details)

    def bind(self, words: list[str]) -> Args:
        """Match the words after the command name to the alias, or raise UsageError."""
        syntax = self.syntax
        args: Args = {}
        positional: list[str] = []
        introducers = dict(syntax.introduced)
        pending: str | None = None  # a literal whose value comes next
        for word in words:
            key, eq, value = word.partition("=")
            filled = len(positional) >= len(syntax.required)
            if pending is not None:
                args[introducers[pending]] = word
                pending = None
            elif filled and word.lower() in introducers:
                pending = word.lower()
            elif filled and word.lower() in syntax.flags:
                args[word.lower()] = word.lower()
            elif eq and key in syntax.keywords:
                args[key] = value
            elif eq and key.isidentifier():
                raise self.usage(f"`{self.name}` has no option `{messages.shown(key)}`.")
            else:
                positional.append(word)
        if pending is not None:
            raise self.usage(f"Say which {introducers[pending]} after `{pending}`.")
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
        hint = f" Usage: `{command.usage_line}`." if command else ""
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

    def match(self, text: str | Sequence[str]) -> tuple[Command, Args]:
        """The command and its arguments for `text` (a line, split as a shell would, or the
        words already split, as the CLI has them), or a UsageError that says what fits."""
        size = len(text) if isinstance(text, str) else sum(len(w) + 1 for w in text)
        if size > MAX_TEXT:
            raise CommandUsageError(f"That is too long ({size:,} characters).", None)
        words = split_words(text) if isinstance(text, str) else list(text)
        if len(words) > MAX_WORDS:
            raise CommandUsageError(f"That is too many words ({len(words)}).", None)
        if not words:
            raise CommandUsageError("Say which command to run; try `help`.", None)
        command = self.get(words[0])
        if command is None:
            raise CommandUsageError(self._unknown(words[0]), None)
        return command, command.bind(words[1:])

    async def run(self, text: str | Sequence[str], ctx: Context) -> Result:
        command, args = self.match(text)
        return await invoke(command, args, ctx)

    def _unknown(self, word: str) -> str:
        shown = messages.shown(word)
        close = difflib.get_close_matches(word.lower(), self.names(), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return f"I don't know the command `{shown}`.{hint} Try `help`."


async def invoke(command: Command, args: Args, ctx: Context) -> Result:
    """Run one command as `ctx`'s caller: the one gate first, then the handler. Every front
    end runs commands through here (`Registry.run`, or `match` and then this)."""
    await ctx.gate.authorize(ctx.principal, command.effect)
    if command.effect.remediates and ctx.remediation is None:
        raise UsageError(messages.changes_not_set_up())
    return await command.handler(ctx, args)
