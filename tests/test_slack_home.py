"""The App Home tab on `app_home_opened`: the fleet at a glance from the store (hosts by risk,
open incidents, pending approvals), within the home surface's block limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.slack.limits import check_message
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import all_text, assert_every_message_valid, demo_runtime, served
from tests.test_slack_alerts import history_bot

fake_slack = fakeslack.fake_slack
USER = "U0OPERATOR"


def home_opened(user: str = USER) -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
            "event_ts": "1700000000.000300"}


async def test_app_home_shows_the_glance_and_a_pending_approval(fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as b:
        await b.jobs.scan(datetime.now(UTC))  # snapshots and incidents in the store
        await b.served.driver.slash("/aio", "fix host01")
        await fake_slack.wait_for_message(
            lambda m: "only approvers can approve" in all_text(m), timeout=20)
        await b.runtime.drain()
        store = b.jobs.store
        [request] = await store.requests(host="host01")
        incidents = await store.active_alerts()

        assert (await b.served.driver.event(home_opened())).status == 200
        call = await fake_slack.wait_for_call("views.publish", timeout=10)
        assert call.answer.get("ok"), call.answer
        view = fake_slack.views[USER]
        assert view["type"] == "home"
        assert check_message(view["blocks"], surface="home") == []
        assert len(view["blocks"]) <= 100
        text = all_text(view)
        assert "*8 host(s):*" in text and "*1* critical" in text
        assert f"Open incidents ({len(incidents)})" in text
        for alert in incidents:
            assert f"incident #{alert.id} since" in text
        assert "Pending approvals (1)" in text
        assert (f"*#{request.id}* {request.kind} *{request.target}* on host01 · asked by "
                f"<@{USER}> · expires <!date^{int(request.expires_at.timestamp())}^") in text
        assert "/aio top" in text  # the commands follow the glance
    assert_every_message_valid(fake_slack)


async def test_app_home_without_a_store_shows_the_commands(fake_slack: FakeSlack) -> None:
    async with demo_runtime() as runtime, served(fake_slack, runtime) as s:
        await s.driver.event(home_opened())
        await fake_slack.wait_for_call("views.publish", timeout=10)
        view = fake_slack.views[USER]
        assert check_message(view["blocks"], surface="home") == []
        assert "No store is configured" in all_text(view) and "/aio top" in all_text(view)
