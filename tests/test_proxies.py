"""Behind a corporate proxy: every outgoing HTTP client honours HTTP_PROXY / HTTPS_PROXY /
NO_PROXY. The fake Slack is named `slack.test`, a name only the test's forward proxy
(tests/forward_proxy.py) resolves: a Slack call that skipped the proxy could not succeed.
vCenter (pyVmomi) goes through the proxy's CONNECT tunnel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.proxy_env import proxy_for
from bot.slack.views.top import REFRESH
from bot.slack.web.poster import ResponsePoster
from bot.vsphere.session import Session
from bot.vsphere.settings import VCenterSettings
from tests.fakeslack import FakeSlack
from tests.forward_proxy import ForwardProxy
from tests.slack_helpers import assert_every_message_valid, demo_runtime, served
from tests.vcsim_helpers import Build, shaped

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                   "no_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    async with ForwardProxy(names={"slack.test": "127.0.0.1"}) as p:
        yield p


@pytest.fixture
async def slack_test() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(public_host="slack.test") as fake:
        yield fake


def test_proxy_for_follows_the_variables() -> None:
    env = {"HTTPS_PROXY": "proxy.corp:3128", "http_proxy": "http://p2:8080",
           "NO_PROXY": "internal.example.com,.lab,10.0.0.1"}
    assert proxy_for("https://slack.com/api/", env) == "http://proxy.corp:3128"
    assert proxy_for("wss://wss-primary.slack.com/link", env) == "http://proxy.corp:3128"
    assert proxy_for("http://hooks.example.org/x", env) == "http://p2:8080"
    assert proxy_for("https://vc.internal.example.com/sdk", env) is None
    assert proxy_for("https://esx1.lab:443/sdk", env) is None
    assert proxy_for("https://10.0.0.1/sdk", env) is None
    assert proxy_for("https://slack.com/api/", {"https_proxy": "http://a:1",
                                                "HTTPS_PROXY": "http://b:2"}) == "http://a:1"
    assert proxy_for("https://slack.com/api/", {"NO_PROXY": "*", "HTTPS_PROXY": "x:1"}) is None
    assert proxy_for("https://slack.com/api/", {}) is None


async def test_slash_button_and_scan_go_through_the_proxy(
        no_proxy_env: pytest.MonkeyPatch, proxy: ForwardProxy, slack_test: FakeSlack) -> None:
    no_proxy_env.setenv("HTTP_PROXY", proxy.url)
    async with demo_runtime(progress_interval=0.2) as runtime, \
            served(slack_test, runtime) as bot:
        await bot.driver.slash("/aio", "top host02 limit=5")
        message = await slack_test.wait_for_message(
            lambda m: "host02 ·" in repr(m.get("blocks")), timeout=15)
        await bot.driver.click(message, REFRESH, user_id="U0OTHER")
        await slack_test.wait_for_response(lambda r: bool(r.body.get("replace_original")),
                                           timeout=15)
        await bot.driver.slash("/aio", "scan")
        await slack_test.wait_for_message(lambda m: "Scan of all" in str(m.get("text")),
                                          timeout=30)
        await runtime.drain()
    methods = {c.method for c in slack_test.calls}
    assert {"auth.test", "chat.postMessage", "chat.update"} <= methods, methods
    assert slack_test.responses and all(r.status == 200 for r in slack_test.responses)
    assert proxy.hosts() == {f"slack.test:{slack_test.url.rsplit(':', 1)[1]}"}
    assert proxy.refused == []
    assert_every_message_valid(slack_test)


async def test_response_url_poster_uses_the_proxy_and_keeps_its_retries(
        no_proxy_env: pytest.MonkeyPatch, proxy: ForwardProxy, slack_test: FakeSlack) -> None:
    no_proxy_env.setenv("HTTP_PROXY", proxy.url)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    poster = ResponsePoster(sleep=sleep)
    try:
        slack_test.fail_response(status=429, retry_after=120)  # capped at 30 s
        await poster.post(slack_test.response_url(channel="C1"), {"text": "hi"})
    finally:
        await poster.close()
    assert waits == [30.0]
    assert [r.status for r in slack_test.responses] == [429, 200]
    assert proxy.hosts("POST")


async def test_no_proxy_goes_direct(no_proxy_env: pytest.MonkeyPatch,
                                    proxy: ForwardProxy) -> None:
    async with FakeSlack() as fake:  # 127.0.0.1: reachable directly
        no_proxy_env.setenv("HTTP_PROXY", proxy.url)
        no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
        poster = ResponsePoster()
        try:
            await poster.post(fake.response_url(channel="C1"), {"text": "hi"})
        finally:
            await poster.close()
        assert [r.status for r in fake.responses] == [200]
    assert proxy.tunnels == []


async def test_vcenter_through_connect(no_proxy_env: pytest.MonkeyPatch, proxy: ForwardProxy,
                                       vcsim_binary: Build, tmp_path: Path) -> None:
    no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
    with shaped(vcsim_binary, tmp_path / "vcsim", None) as sim:
        session = Session(VCenterSettings(host=sim.host, port=sim.port, user=sim.user,
                                          password=sim.password, ca_file=sim.cert_file,
                                          connect_timeout=5.0, request_timeout=10.0))
        try:
            about: Any = await _about(session)
        finally:
            session.close()
    assert about.name
    assert proxy.hosts("CONNECT") == {f"{sim.host}:{sim.port}"}
    assert proxy.hosts() == proxy.hosts("CONNECT")


async def _about(session: Session) -> Any:
    import asyncio

    return await asyncio.to_thread(session.call, "about", lambda c: c.content.about)
