"""Ack latency under load: 50 concurrent `/aio top host01` against `aio-bot serve --demo`
while a scan of 200+ hosts runs. Prints p50 and p99 (goal: p99 <= 100 ms).

    .venv/bin/python bench/ack.py [--hosts 200] [--concurrent 50] [--rounds 3]

The bot runs as a user runs it (`python -m bot serve --demo --demo-hosts N`, the simulated
hosts in the same process as the bot), its Web API pointed at a FakeSlack in this process
through SLACK_API_URL. Latency is measured by bench/burst.py's process: request written ->
HTTP 200 (see bench/burst.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botproc import SECRET, percentile, start_bot  # noqa: E402
from burst import Burster, slash_requests  # noqa: E402

from tests.fakeslack import FakeSlack, SlackDriver  # noqa: E402


def scan_done(fake: FakeSlack) -> bool:
    return any("Scan of all" in str(c.args.get("text")) for c in fake.calls_to("chat.update"))


async def main(args: argparse.Namespace) -> int:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # posts cut off at the end
    async with FakeSlack(latency=0.02) as fake:
        proc, url = await start_bot(fake, args.hosts)
        try:
            burster = Burster(url)
            async with SlackDriver(url, SECRET, fake, timeout=30) as driver:
                return await measure(fake, driver, burster, args)
        finally:
            burster.close()
            proc.terminate()
            await proc.wait()


async def burst(burster: Burster, driver: SlackDriver, fake: FakeSlack, text: str,
                count: int) -> list[float]:
    """`count` signed `/aio <text>` sent at once (bench/burst.py); each one's seconds."""
    answers = await burster.burst(slash_requests(driver.base_url, SECRET, fake, [text] * count))
    assert all(a.status == 200 for a in answers), [a.status for a in answers]
    return [a.seconds for a in answers]


async def measure(fake: FakeSlack, driver: SlackDriver, burster: Burster,
                  args: argparse.Namespace) -> int:
    await driver.slash("/aio", "help")  # warm-up: auth.test, connections
    await fake.wait_for_response(timeout=10)
    if args.no_scan:
        return await idle(driver, burster, fake, args)
    scan_started = time.perf_counter()
    await driver.slash("/aio", "scan", user_id="U0SCANNER")
    await fake.wait_for_call("chat.postMessage", lambda c: "Scanning" in c.args["text"])
    latencies: list[float] = []
    during_scan = True
    for _ in range(args.rounds):
        seconds = await burst(burster, driver, fake, "top host01", args.concurrent)
        latencies += seconds
        ms = [x * 1000 for x in seconds]
        print(f"  round at +{time.perf_counter() - scan_started:.1f} s: "
              f"p50 {percentile(ms, 50):.1f} ms  max {max(ms):.1f} ms")
        during_scan = during_scan and not scan_done(fake)
        await asyncio.sleep(0.5)
    await fake.wait_for_call("chat.update", lambda c: "Scan of all" in c.args["text"], 600)
    scan_seconds = time.perf_counter() - scan_started
    ms_after = [x * 1000 for x in await burst(burster, driver, fake, "help", args.concurrent)]
    print(f"after the scan, connections open: p50 {percentile(ms_after, 50):.1f} ms  "
          f"p99 {percentile(ms_after, 99):.1f} ms")
    report(latencies, during_scan, scan_seconds, fake, args)
    return 0 if percentile(latencies, 99) <= 0.1 else 1


async def idle(driver: SlackDriver, burster: Burster, fake: FakeSlack,
               args: argparse.Namespace) -> int:
    """The baseline: the same bursts with no scan running."""
    latencies: list[float] = []
    for _ in range(args.rounds):
        latencies += [x * 1000 for x in await burst(burster, driver, fake, "help",
                                                   args.concurrent)]
        await asyncio.sleep(0.5)
    print(f"idle baseline ({args.rounds} x {args.concurrent} concurrent `/aio help`): "
          f"p50 {percentile(latencies, 50):.1f} ms  p99 {percentile(latencies, 99):.1f} ms")
    return 0


def report(latencies: list[float], during_scan: bool, scan_seconds: float, fake: FakeSlack,
           args: argparse.Namespace) -> None:
    ms = [x * 1000 for x in latencies]
    final = next(c for c in fake.calls_to("chat.update") if "Scan of all" in c.args["text"])
    progress = len(fake.calls_to("chat.update")) - 1
    print(f"acks: {len(ms)} ({args.rounds} x {args.concurrent} concurrent `/aio top host01`), "
          f"all during the scan: {during_scan}")
    print(f"ack latency ms: p50 {percentile(ms, 50):.1f}  p99 {percentile(ms, 99):.1f}  "
          f"max {max(ms):.1f}  mean {statistics.mean(ms):.1f}")
    print(f"scan: {final.args['text']}; {scan_seconds:.1f} s, {progress} progress edit(s)")
    print(f"goal p99 <= 100 ms: {'met' if percentile(ms, 99) <= 100 else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200, help="synthetic hosts to add")
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-scan", action="store_true", help="baseline: no scan, `help` only")
    sys.exit(asyncio.run(main(parser.parse_args())))
