"""Load: a 1,000-host simulated inventory, bursts of 100 concurrent `/aio top <host>` while a
scan of every host runs. Prints p50/p99 ack latency, p50/p99 command latency (ack to the
message arriving at the fake Slack) and the bot process's peak RSS. Goals: p99 ack <= 100 ms,
RSS <= 300 MB.

    .venv/bin/python bench/load.py [--hosts 1000] [--concurrent 100] [--rounds 3]

The bot runs as a user runs it (`python -m bot serve --demo --demo-hosts N`): the simulated
hosts live in a child process of the bot (bot/sim/fleet_process.py FleetProcess), so they do not
share the bot's GIL; the bot's Web API points at a FakeSlack in this process (SLACK_API_URL).
Each command names its own host, so its message is matched to its request. The bursts are
sent by bench/burst.py from a process of its own, signed in advance and written with plain
sockets: an ack time is the bot's, not this process's queue (this process also serves the
FakeSlack that receives the bot's replies). It runs from the moment a request is written to
its answer; the time from the sender's connect is printed beside it (bench/burst.py says why
the two differ)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botproc import SECRET, percentile, start_bot  # noqa: E402
from burst import Burster, slash_requests  # noqa: E402

from tests.fakeslack import FakeSlack, SlackDriver  # noqa: E402
from tests.fakeslack.server import Call, JsonDict  # noqa: E402


class TimedFake(FakeSlack):
    """FakeSlack that notes when the first message naming each host arrived."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.arrived: dict[str, float] = {}
        self.watch: set[str] = set()

    async def _chat_post_message(self, call: Call) -> JsonDict:
        self._note(str(call.args))
        return await super()._chat_post_message(call)

    def _response_answer(self, target: Any, body: JsonDict) -> Any:
        self._note(str(body))  # a failure is told privately, through the response_url
        return super()._response_answer(target, body)

    def _note(self, text: str) -> None:
        now = time.perf_counter()
        for host in self.watch:
            if host in text and host not in self.arrived:
                self.arrived[host] = now


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []



async def main(args: argparse.Namespace) -> int:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    began = time.perf_counter()
    async with TimedFake(latency=0.02) as fake:
        proc, url = await start_bot(fake, args.hosts)
        print(f"bot up in {time.perf_counter() - began:.1f} s")
        try:
            burster = Burster(url)
            try:
                async with SlackDriver(url, SECRET, fake, timeout=60) as driver:
                    code = await measure(fake, driver, burster, proc.pid, args)
            finally:
                burster.close()
        finally:
            proc.terminate()
            await proc.wait()
    print(f"whole run: {time.perf_counter() - began:.1f} s")
    return code


async def measure(fake: TimedFake, driver: SlackDriver, burster: Burster, pid: int,
                  args: argparse.Namespace) -> int:
    await driver.slash("/aio", "help")
    await fake.wait_for_response(timeout=30)
    if args.warmup:  # one `top` before the scan: first-use costs out of the measured bursts
        fake.watch.add("host02")
        await driver.slash("/aio", "top host02")
        while "host02" not in fake.arrived:
            await asyncio.sleep(0.1)
    rng = random.Random(5)
    names = [f"esx-sim-{i:04d}" for i in rng.sample(range(1, args.hosts + 1),
                                                   args.concurrent * args.rounds)]
    scan_started = time.perf_counter()
    await driver.slash("/aio", "scan", user_id="U0SCANNER")
    await fake.wait_for_call("chat.postMessage", lambda c: "Scanning" in c.args["text"], 60)
    acks: list[float] = []
    from_connect: list[float] = []
    latencies: list[float] = []
    peak_child = 0
    lost = 0
    for round_no in range(args.rounds):
        batch = names[round_no * args.concurrent:(round_no + 1) * args.concurrent]
        fake.watch.update(batch)
        sent: dict[str, float] = {}

        requests = slash_requests(driver.base_url, SECRET, fake, [f"top {h}" for h in batch])
        now = time.perf_counter()
        sent.update((h, now) for h in batch)
        answers = await burster.burst(requests)
        assert all(a.status == 200 for a in answers), [a for a in answers if a.status != 200]
        acks += [a.seconds for a in answers]
        from_connect += [a.since_connect for a in answers]
        deadline = time.perf_counter() + args.command_timeout
        while time.perf_counter() < deadline and not all(h in fake.arrived for h in batch):
            peak_child = max([peak_child] + [status_kb(c, "VmRSS") for c in children(pid)])
            await asyncio.sleep(0.1)
        done = [h for h in batch if h in fake.arrived]
        lost += len(batch) - len(done)
        latencies += [fake.arrived[h] - sent[h] for h in done]
        scanning = not scan_done(fake)
        ms = [a * 1000 for a in acks[-len(batch):]]
        print(f"  round {round_no + 1} at +{time.perf_counter() - scan_started:.1f} s "
              f"(scan running: {scanning}): ack p50 {percentile(ms, 50):.1f} ms, "
              f"max {max(ms):.1f} ms; {len(done)}/{len(batch)} answered")
    while not scan_done(fake):
        failed = [r.body.get("text") for r in fake.responses
                  if "`scan`" in str(r.body.get("text")) and "fail" in str(r.body.get("text"))]
        if failed or time.perf_counter() - scan_started > 1800:
            print(f"the scan did not finish: {failed[:1]}")
            return 1
        await asyncio.sleep(0.5)
    scan_seconds = time.perf_counter() - scan_started
    rss_peak = status_kb(pid, "VmHWM") / 1024
    rss_now = status_kb(pid, "VmRSS") / 1024
    ms = [a * 1000 for a in acks]
    cmd = [x * 1000 for x in latencies]
    print(f"hosts: {args.hosts} synthetic + the demo's 8; {len(ms)} commands "
          f"({args.rounds} x {args.concurrent} concurrent `/aio top <host>`), lost: {lost}")
    print(f"ack latency ms (request written -> answer): p50 {percentile(ms, 50):.1f}  "
          f"p99 {percentile(ms, 99):.1f}  max {max(ms):.1f}")
    wide = [x * 1000 for x in from_connect]
    print(f"  from the sender's connect (adds the handshake and the sender's own wait): "
          f"p50 {percentile(wide, 50):.1f}  p99 {percentile(wide, 99):.1f}  max {max(wide):.1f}")
    if cmd:
        print(f"command latency ms (ack to message): p50 {percentile(cmd, 50):.0f}  "
              f"p99 {percentile(cmd, 99):.0f}  max {max(cmd):.0f}")
    final = next(c for c in fake.calls_to("chat.update") if "Scan of all" in c.args["text"])
    print(f"scan: {final.args['text'][:120]}; {scan_seconds:.1f} s")
    print(f"bot RSS: peak (VmHWM) {rss_peak:.0f} MB, now {rss_now:.0f} MB; "
          f"fleet child RSS peak seen {peak_child / 1024:.0f} MB")
    ok_ack = percentile(ms, 99) <= 100
    ok_rss = rss_peak <= 300
    print(f"goals: p99 ack <= 100 ms {'met' if ok_ack else 'NOT met'}; "
          f"RSS <= 300 MB {'met' if ok_rss else 'NOT met'}")
    return 0 if ok_ack and ok_rss and lost == 0 else 1


def scan_done(fake: FakeSlack) -> bool:
    return any("Scan of all" in str(c.args.get("text")) for c in fake.calls_to("chat.update"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000, help="synthetic hosts to add")
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--warmup", action="store_true",
                        help="run one `/aio top` before the scan starts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--command-timeout", type=float, default=600.0,
                        help="seconds to wait for a round's messages")
    sys.exit(asyncio.run(main(parser.parse_args())))
