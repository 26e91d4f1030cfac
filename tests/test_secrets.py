"""Tokens, passwords and signing secrets never show: not in logs captured at DEBUG (paramiko,
slack_sdk, slack_bolt, aiohttp and ours), not in what the fake Slack received or answered, not
in audit entries, error messages, `/metrics`, or the reprs of settings objects."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.cli import main
from bot.config import load_config
from bot.demo import DemoFleet, demo_config
from bot.errors import AioBotError
from bot.esx.ssh import SshSettings, SshTransport
from bot.redact import REDACTED, RedactFilter, install, redact
from bot.slack.app import build_app
from bot.slack.runtime import Runtime
from bot.slack.views.plan import APPROVE
from bot.slack.web.client import make_client
from bot.slack.web.server import EVENTS_PATH, start_site, web_app
from bot.store import open_store
from bot.vsphere.client import PyVmomiVCenter
from bot.vsphere.settings import VCenterSettings
from commands.catalog import build_registry
from tests.fakeslack import FakeSlack, SlackDriver
from tests.slack_helpers import all_text

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "xoxb-1111111111-2222222222-SeCrEtBoTtOkEn0000000000"
APP_TOKEN = "xapp-1-A0FAKE-3333333333-SeCrEtApPtOkEn000000"
SIGNING_SECRET = "5e3c7e75191dd5c1c6ef6b4a2e5a1b0f"
SSH_PASSWORD_WRONG = "WrongSshPassw0rd-9d1c"
VC_PASSWORD = "VcPassw0rd-7f3e1a"
DB_PASSWORD = "DbPassw0rd-2b8c4d"
LOGGERS = ("", "bot", "commands", "paramiko", "paramiko.transport", "slack_sdk", "slack_bolt",
           "aiohttp", "asyncio", "psycopg", "pyVmomi")


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, into caplog."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def leaks(texts: Iterable[str], secrets: Iterable[str]) -> list[tuple[str, str]]:
    found = []
    for text in texts:
        for secret in secrets:
            if secret and secret in text:
                at = text.index(secret)
                found.append((secret, text[max(0, at - 80): at + len(secret) + 20]))
    return found


def assert_no_secret(texts: Iterable[str], secrets: Iterable[str]) -> None:
    assert leaks(list(texts), list(secrets)) == []


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for record in caplog.records:
        out.append(record.getMessage())
        out.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            out.append(repr(record.exc_info[1]) + str(record.exc_info[1]))
    out.append(caplog.text)
    return out


def slack_texts(fake: FakeSlack) -> list[str]:
    out = [repr(c.args) + repr(c.answer) for c in fake.calls]
    out += [repr(r.body) for r in fake.responses]
    out += [repr(f) for f in fake.files.values()]
    return out


# --- the Slack app, at DEBUG, through a whole remediation ---------------------------------------


@pytest_asyncio.fixture
async def slack_session(
    debug_logs: pytest.LogCaptureFixture,
) -> AsyncIterator[tuple[FakeSlack, Runtime, SlackDriver, str, DemoFleet]]:
    config = demo_config(("U0ALICE", "U0BOB"))
    async with FakeSlack(latency=0.0) as fake, DemoFleet(config=config) as fleet:
        runtime = Runtime(fleet.services)
        app = build_app(client=make_client(BOT_TOKEN, fake.api_url),
                        signing_secret=SIGNING_SECRET, registry=build_registry(),
                        runtime=runtime)
        runner = await start_site(web_app(runtime, app), "127.0.0.1", 0)
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            async with SlackDriver(base + EVENTS_PATH, SIGNING_SECRET, fake) as driver:
                yield fake, runtime, driver, base, fleet
        finally:
            await runtime.drain()
            await runtime.close()
            await runner.cleanup()


def _is_plan(message: dict[str, Any]) -> bool:
    return "only approvers can approve" in all_text(message)


async def test_a_slack_session_at_debug_shows_no_secret(
    slack_session: tuple[FakeSlack, Runtime, SlackDriver, str, DemoFleet],
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    fake, runtime, driver, _base, fleet = slack_session
    secrets = [BOT_TOKEN, SIGNING_SECRET, fleet.password]
    await driver.slash("/aio", "top host01")
    await fake.wait_for_call("chat.postMessage", timeout=15)
    await driver.slash("/aio", "help")
    await driver.slash("/aio", "bogus $(id)")
    await driver.slash("/aio", f"top {SIGNING_SECRET}")  # a user pasting a secret by mistake
    await driver.slash("/aio", "fix host01")
    plan = await fake.wait_for_message(_is_plan, timeout=30)
    await runtime.drain()
    await driver.click(plan, APPROVE, user_id="U0ALICE")
    await fake.wait_for_message(
        lambda m: m.get("ts") == plan["ts"] and "Done" in all_text(m), timeout=60)
    await runtime.drain()
    fake.fail("chat.postMessage", status=500)  # an error path: the client logs the failure
    await driver.slash("/aio", "audit host01")
    await fake.wait_for_message(lambda m: "Audit trail" in all_text(m), timeout=15)
    await runtime.drain()
    from bot.slack.web.server import metrics_app, start_site

    own = await start_site(metrics_app(runtime), "127.0.0.1", 0)  # the metrics' own port
    try:
        url = f"http://127.0.0.1:{own.addresses[0][1]}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as res:
            metrics = await res.text()
    finally:
        await own.cleanup()
    assert "aio" in metrics

    assert runtime.remediation is not None
    trail = await runtime.remediation.store.audit_trail(limit=1000)
    requests = await runtime.remediation.store.requests(limit=1000)
    assert any(e.event == "step-succeeded" for e in trail)
    texts = log_texts(debug_logs) + slack_texts(fake) + [metrics]
    texts += [repr(e) for e in trail] + [repr(r) for r in requests]
    texts += [repr(runtime), repr(fleet.transport)]
    assert any("slack_sdk" in r.name for r in debug_logs.records)  # slack_sdk did log at DEBUG
    # the user's own paste comes back to them in the refusal; nothing else shows a secret
    pasted = [t for t in slack_texts(fake) if SIGNING_SECRET in t]
    assert all("There is no host" in t for t in pasted), pasted
    assert_no_secret([t for t in texts if t not in pasted], secrets)


# --- the CLI: `aio-bot run` with the right and a wrong SSH password -----------------------------


def _write_config(tmp_path: Path, fleet: DemoFleet) -> Path:
    hosts = "".join(
        f'[[hosts]]\nname = "{h.name}"\naddress = "{h.address}"\nport = {h.port}\n'
        f'cluster = "{h.cluster}"\n\n' for h in fleet.inventory)
    path = tmp_path / "aio-bot.toml"
    path.write_text(f'[ssh]\nknown_hosts = "{fleet.fleet.known_hosts_path}"\n'
                    f'command_timeout = 20\n\n'
                    f'[vcenter]\nhost = "127.0.0.1"\nport = 1\nuser = "aio"\n\n{hosts}')
    return path


def test_cli_run_at_debug_with_right_and_wrong_passwords(
    tmp_path: Path, fleet: DemoFleet, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], debug_logs: pytest.LogCaptureFixture,
) -> None:
    config = _write_config(tmp_path, fleet)
    monkeypatch.setenv("AIO_BOT_CONFIG", str(config))
    monkeypatch.setenv("AIO_VCENTER_PASSWORD", VC_PASSWORD)
    monkeypatch.setenv("AIO_BOT_DB", f"postgresql://aio:{DB_PASSWORD}@127.0.0.1:1/aio")
    monkeypatch.setenv("AIO_SSH_PASSWORD", fleet.password)
    assert main(["run", "-v", "top", "host02", "limit=3"]) == 0
    assert main(["check-config", "-v"]) == 0
    monkeypatch.setenv("AIO_SSH_PASSWORD", SSH_PASSWORD_WRONG)
    assert main(["run", "-v", "check", "host01"]) == 1
    assert main(["run", "-v", "scan"]) == 1
    out = capsys.readouterr()
    assert "refused my SSH login" in out.err
    loaded = load_config(config)
    texts = [*log_texts(debug_logs), out.out, out.err, repr(loaded), str(loaded)]
    assert_no_secret(texts, [fleet.password, SSH_PASSWORD_WRONG, VC_PASSWORD, DB_PASSWORD])


# --- the store URL and vCenter with passwords: errors and reprs ---------------------------------


async def test_store_url_with_a_password_fails_without_showing_it(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://aio:{DB_PASSWORD}@127.0.0.1:1/aio?connect_timeout=2"
    try:
        store = open_store(url)
    except AioBotError as err:  # psycopg missing: still a clean message
        assert_no_secret([str(err), repr(err)], [DB_PASSWORD])
        return
    with pytest.raises(AioBotError) as caught:
        await store.migrate()
    await store.close()
    texts = [str(caught.value), repr(caught.value), repr(store), *log_texts(debug_logs)]
    assert_no_secret(texts, [DB_PASSWORD])


async def test_vcenter_with_a_password_fails_without_showing_it(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    settings = VCenterSettings(host="127.0.0.1", port=1, user="aio@vsphere.local",
                               password=VC_PASSWORD, connect_timeout=2, request_timeout=2)
    vcenter = PyVmomiVCenter(settings)
    with pytest.raises(AioBotError) as caught:
        await asyncio.wait_for(vcenter.inventory(), 30)
    texts = [str(caught.value), repr(caught.value), repr(settings), str(settings),
             repr(vcenter), *log_texts(debug_logs)]
    assert_no_secret(texts, [VC_PASSWORD])


def test_settings_reprs_hide_passwords(tmp_path: Path) -> None:
    ssh = SshSettings(known_hosts=tmp_path / "kh", password=SSH_PASSWORD_WRONG)
    texts = [repr(ssh), str(ssh), repr(SshTransport(ssh)), repr(ssh.connect_params())]
    assert_no_secret(texts, [SSH_PASSWORD_WRONG])


# --- the redaction filter -------------------------------------------------------------------


def test_the_filter_redacts_tokens_urls_and_environment_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("AIO_SSH_PASSWORD", "pw")  # too short to hunt for: would redact words
    filt = RedactFilter()
    record = logging.LogRecord(
        "slack_sdk", logging.DEBUG, __file__, 1,
        "headers %s, url %s, secret %s, pw", (
            {"Authorization": f"Bearer {BOT_TOKEN}", "X-App": APP_TOKEN},
            f"postgresql://aio:{DB_PASSWORD}@db/aio", SIGNING_SECRET), None)
    assert filt.filter(record)
    text = record.getMessage()
    assert_no_secret([text], [BOT_TOKEN, APP_TOKEN, DB_PASSWORD, SIGNING_SECRET])
    assert text.count(REDACTED) == 4 and text.endswith(", pw")
    assert "postgresql://aio:" in text and "@db/aio" in text
    masked = "store postgresql://aio:***@db/aio"  # already masked by bot.store: left alone
    assert redact(masked) == masked


def test_main_installs_the_filter_on_the_log_handlers() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    root.addHandler(handler)
    try:
        install()
        install()  # idempotent
        assert sum(isinstance(f, RedactFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)


async def test_serve_process_at_debug_logs_no_secret() -> None:
    """`aio-bot serve --demo -v` as a user runs it: its whole stderr at DEBUG, after commands."""
    async with FakeSlack(latency=0.0) as fake:
        env = {**os.environ, "SLACK_API_URL": fake.api_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_APP_TOKEN": APP_TOKEN,
               "AIO_SSH_PASSWORD": SSH_PASSWORD_WRONG, "AIO_VCENTER_PASSWORD": VC_PASSWORD}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "-v", "--demo", "--host", "127.0.0.1",
            "--port", "0", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        stderr_task = asyncio.ensure_future(proc.stderr.read())
        try:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
            url = line.split()[-1]
            async with SlackDriver(url, SIGNING_SECRET, fake) as driver:
                await driver.slash("/aio", "top host01")
                await fake.wait_for_call("chat.postMessage", timeout=30)
                await driver.slash("/aio", "help")
                await fake.wait_for_response(timeout=10)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)
        stderr = (await stderr_task).decode()
    assert "DEBUG" in stderr and "slack_sdk" in stderr
    assert_no_secret([stderr, *slack_texts(fake)],
                     [BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, SSH_PASSWORD_WRONG, VC_PASSWORD])
