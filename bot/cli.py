"""`aio-bot` / `python -m bot`: demo, run, analyze, serve, socket, check-config.

Exit status: 0 ok, 1 failure (a host could not be read, a scan was partial), 2 usage or bad
input."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__, logs, redact
from bot.cli_analyze import add_analyze_parser
from bot.cli_known_hosts import add_known_hosts_parser
from bot.console.output import FORMATS
from bot.errors import AioBotError

log = logging.getLogger("bot")


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """`--format` and `-v`, before the action or after it. After it (the subparser's copy)
    they default to nothing, so that a value given before the action is kept."""
    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--format", choices=FORMATS, default=default("table"),
                        help="output as a text table (default) or JSON")
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="log to stderr at DEBUG (wins over $LOG_LEVEL)")
    parser.add_argument("--log-format", choices=("text", "json"), default=default("text"),
                        help="log lines as text (default) or JSON (time, level, logger, "
                             "message, request_id, host, user)")


def build_parser(*, list_commands: bool = False) -> argparse.ArgumentParser:
    """The parser; with `list_commands` (for --help) its epilog lists the /aio commands,
    which imports them (other actions, `analyze` above all, start faster without)."""
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, defaults=False)
    parser = argparse.ArgumentParser(
        prog="aio-bot", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Find and fix ESXi hosts running out of FDS AIO handles (KB 408376).",
        epilog=_command_list() if list_commands else None)
    _global_options(parser, defaults=True)
    parser.add_argument("--version", action="version", version=f"aio-bot {__version__}")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    demo = sub.add_parser("demo", parents=[common],
                          help="run against the built-in simulated fleet (no Slack, no ESXi)")
    demo.add_argument("words", nargs="*", metavar="COMMAND",
                      help="a command such as `top host01`; none opens the console")
    demo.add_argument("--out", type=Path, default=Path("aio-summary.png"), metavar="PATH",
                      help="`demo summary [24h|7d|30d]`: where to write the chart "
                           "(default ./aio-summary.png)")
    run = sub.add_parser("run", parents=[common],
                         help="run one command against the configured inventory")
    run.add_argument("words", nargs="+", metavar="COMMAND",
                     help="a command and its words, e.g. `top host01` or "
                          "`approve 3 as U0BOB confirm`")

    add_analyze_parser(sub, common)

    sub.add_parser("check-config", parents=[common],
                   help="validate the configuration file and the environment")
    add_known_hosts_parser(sub, common)
    _add_store_parsers(sub, common)
    _add_slack_parsers(sub, common)
    return parser


def _add_store_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       common: argparse.ArgumentParser) -> None:
    sub.add_parser("migrate", parents=[common],
                   help="bring the store's schema ($AIO_BOT_DB) up to date (PostgreSQL: as "
                        "the tables' owner, before the bot starts)")
    audit = sub.add_parser("audit", parents=[common], help="the audit trail's own checks")
    audit.add_argument("check", choices=("verify",),
                       help="verify: check the audit trail's hash chain, first row to last")


def _add_slack_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       common: argparse.ArgumentParser) -> None:
    for name, what in (("serve", "Slack over HTTP: POST /slack/events, GET /healthz, /metrics"),
                       ("socket", "Slack over Socket Mode (behind a firewall)")):
        p = sub.add_parser(name, parents=[common], help=what)
        p.add_argument("--demo", action="store_true",
                       help="serve the built-in simulated fleet instead of the configuration")
        p.add_argument("--demo-hosts", type=int, default=0, metavar="N",
                       help="with --demo, add N synthetic hosts (load tests)")
        p.add_argument("--host", default="0.0.0.0", help="address to listen on")
        p.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000),
                       help="HTTP port (default $PORT or 3000; 0 picks a free one)")
        p.add_argument("--scan-every", type=_seconds, default=None, metavar="SECONDS",
                       help="with --demo, scan the fleet in the background every SECONDS and "
                            "post alerts (off by default; the configuration uses "
                            "[history] scan_interval_minutes)")
        p.add_argument("--incident-channel", default=None, metavar="CHANNEL_ID",
                       help="with --demo, where alerts go (default $AIO_BOT_INCIDENT_CHANNEL)")
        p.add_argument("--metrics-port", type=_metrics_port, default=None, metavar="PORT",
                       help="the metrics listener's port ([metrics] port, default 9464; 0 "
                            "picks a free one; `off`: none)")


def _metrics_port(text: str) -> int:
    if text.strip().lower() == "off":
        return -1  # bot.slack.run.METRICS_OFF
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535) or `off`")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the interval must be positive")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    asks_help = any(w in ("-h", "--help") for w in words[:2])
    args = build_parser(list_commands=asks_help).parse_args(words)
    logs.configure(args.log_format, verbose=args.verbose)  # LOG_LEVEL; -v: DEBUG
    redact.install()  # no token or password in any log line, the libraries' DEBUG included
    if not args.verbose:  # paramiko logs a traceback per refused connection (a rebooting
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # host): ours says it once
    try:
        return _dispatch(args)
    except AioBotError as err:
        print(f"aio-bot: {err}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `aio-bot … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _dispatch(args: argparse.Namespace) -> int:
    if args.action == "analyze":  # synchronous, and it imports only what it needs: fast
        from bot.cli_analyze import analyze

        return analyze(args)

    import asyncio

    from bot import cli_actions

    if args.action == "demo":
        if args.words and args.words[0].lower() == "summary":
            return asyncio.run(cli_actions.demo_summary(args.words[1:], args.format, args.out))
        return asyncio.run(cli_actions.demo(args.words, args.format))
    if args.action == "run":
        return asyncio.run(cli_actions.run(args.words, args.format))
    if args.action in ("serve", "socket"):
        from bot.slack import run as slack_run

        if not args.demo and (args.scan_every or args.incident_channel):
            from bot.errors import UsageError

            raise UsageError("--scan-every and --incident-channel go with --demo; the "
                             "configuration uses [history] and [slack] instead.")
        opts = slack_run.Options(args.demo, args.demo_hosts, args.host, args.port,
                                 scan_every=args.scan_every,
                                 incident_channel=args.incident_channel,
                                 metrics_port=args.metrics_port)
        action = slack_run.serve if args.action == "serve" else slack_run.socket
        from bot import loop

        return loop.run(action(opts))  # asyncio, or uvloop when asked (bot.loop)
    if args.action == "known-hosts":
        return int(args.handler(args))
    if args.action == "migrate":
        return asyncio.run(cli_actions.migrate(args.format))
    if args.action == "audit":
        return asyncio.run(cli_actions.audit_verify(args.format))
    return cli_actions.check_config(args.format)




def _command_list() -> str:
    """The /aio commands' usage lines, from their aliases (as in Slack and the console)."""
    from commands.catalog import build_registry

    lines = [f"  {c.usage_line:<40} {c.summary}" for c in build_registry()]
    return "commands (for `demo` and `run`; `/aio …` in Slack):\n" + "\n".join(lines)
