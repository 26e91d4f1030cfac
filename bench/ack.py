"""Ack latency under load: 50 concurrent `/aio top host01` against `aio-bot serve --demo`
while a scan of 200+ hosts runs. Prints p50 and p99 (goal: p99 <= 100 ms).

    .venv/bin/python bench/ack.py [--hosts 200] [--concurrent 50] [--rounds 3]

The bot runs as a user runs it (`python -m bot serve --demo --demo-hosts N`, the simulated
hosts in the same process as the bot), its Web API pointed at a FakeSlack in this process
through SLACK_API_URL. Latency is measured by the client: signed request sent -> HTTP 200."""

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

from tests.fakeslack import FakeSlack, SlackDriver  # noqa: E402


def scan_done(fake: FakeSlack) -> bool:
    return any("Scan of all" in str(c.args.get("text")) for c in fake.calls_to("chat.update"))


async def main(args: argparse.Namespace) -> int:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # posts cut off at the end
    async with FakeSlack(latency=0.02) as fake:
        proc, url = await start_bot(fake, args.hosts)
        try:
            async with SlackDriver(url, SECRET, fake, timeout=30) as driver:
                return await measure(fake, driver, args)
        finally:
            proc.terminate()
            await proc.wait()


async def measure(fake: FakeSlack, driver: SlackDriver, args: argparse.Namespace) -> int:
    await driver.slash("/aio", "help")  # warm-up: auth.test, connections
    await fake.wait_for_response(timeout=10)
    if args.no_scan:
        return await idle(driver, args)
    scan_started = time.perf_counter()
    await driver.slash("/aio", "scan", user_id="U0SCANNER")
    await fake.wait_for_call("chat.postMessage", lambda c: "Scanning" in c.args["text"])
    latencies: list[float] = []
    during_scan = True
    for _ in range(args.rounds):
        burst = await asyncio.gather(*(driver.slash("/aio", "top host01")
                                       for _ in range(args.concurrent)))
        assert all(r.status == 200 for r in burst), [r.status for r in burst]
        latencies += [r.elapsed for r in burst]
        ms = [r.elapsed * 1000 for r in burst]
        print(f"  round at +{time.perf_counter() - scan_started:.1f} s: "
              f"p50 {percentile(ms, 50):.1f} ms  max {max(ms):.1f} ms")
        during_scan = during_scan and not scan_done(fake)
        await asyncio.sleep(0.5)
    await fake.wait_for_call("chat.update", lambda c: "Scan of all" in c.args["text"], 600)
    scan_seconds = time.perf_counter() - scan_started
    after = await asyncio.gather(*(driver.slash("/aio", "help") for _ in range(args.concurrent)))
    ms_after = [r.elapsed * 1000 for r in after]
    print(f"after the scan, connections open: p50 {percentile(ms_after, 50):.1f} ms  "
          f"p99 {percentile(ms_after, 99):.1f} ms")
    report(latencies, during_scan, scan_seconds, fake, args)
    return 0 if percentile(latencies, 99) <= 0.1 else 1


async def idle(driver: SlackDriver, args: argparse.Namespace) -> int:
    """The baseline: the same bursts with no scan running."""
    latencies: list[float] = []
    for _ in range(args.rounds):
        burst = await asyncio.gather(*(driver.slash("/aio", "help")
                                       for _ in range(args.concurrent)))
        latencies += [r.elapsed * 1000 for r in burst]
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
