"""A TCP relay on 127.0.0.1 that holds every chunk for half a round trip each way, so that
connections to a local server cost what they cost on a WAN (bandwidth is not limited: a
chunk waits its time, it does not hold up the ones behind it).

    python bench/delay_relay.py --target-port 2222 --rtt-ms 50     # prints `listening PORT`
    python bench/delay_relay.py --target-port 2222,2223 ...  # one relay port per target, in order
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import sys

CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: collections.deque[tuple[float, bytes]] = collections.deque()
    ready = asyncio.Event()
    done = False

    async def deliver() -> None:
        while queue or not done:
            if not queue:
                ready.clear()
                await ready.wait()
                continue
            due, data = queue.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()

    sender = asyncio.create_task(deliver())
    try:
        while data := await reader.read(CHUNK):
            queue.append((loop.time() + delay, data))
            ready.set()
    except OSError:
        pass
    done = True
    ready.set()
    with contextlib.suppress(OSError):
        await sender


async def _serve(target_port: int, delay: float, client_r: asyncio.StreamReader,
                 client_w: asyncio.StreamWriter) -> None:
    try:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(_pipe(client_r, server_w, delay), _pipe(server_r, client_w, delay))
    finally:
        for w in (client_w, server_w):
            w.close()


async def main(args: argparse.Namespace) -> None:
    delay = args.rtt_ms / 2000.0
    servers = []
    for target in (int(t) for t in args.target_port.split(",")):
        servers.append(await asyncio.start_server(
            lambda r, w, t=target: _serve(t, delay, r, w), "127.0.0.1",
            args.port, backlog=1024))
    ports = [str(s.sockets[0].getsockname()[1]) for s in servers]
    print(f"listening {','.join(ports)}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-port", required=True, help="a port, or ports with commas")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
