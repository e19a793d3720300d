"""The floor under a withdrawal: a bare aiohttp client and an aiohttp server in two processes
making as many calls as the withdrawal made, at the same latency and the same number in flight.

Both run on asyncio's own event loop (the floor the withdrawal target was set against) or, with
``--loop uvloop``, on the loop the workers and the sandbox use (``hub.infra.eventloop``), which
needs about a sixth less CPU per call here (0.117 against 0.139 ms at 100 ms): the lower
floor, reported beside the first.

Whatever the workers take beyond this is yunchu's own cost (claims, rows, adapters); the floor
itself is what aiohttp and the machine need for that many loopback calls. ``measure_floor``
starts both processes and returns the client's wall time and CPU seconds:

    .venv/bin/python -m bench.floor --calls 10000 --latency-ms 100 --concurrency 600
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cli.ports import free_port, wait_port
from hub.infra.children import die_with_parent

REPO = Path(__file__).resolve().parent.parent
SERVED_PATH = "/__floor/served"  # not counted, not delayed: how many calls the server answered


@dataclass
class FloorResult:
    calls: int
    latency_ms: float
    concurrency: int
    floor_s: float
    client_cpu_s: float
    client_cpu_per_call_ms: float
    answered: int  # 200 responses the client read
    served: int  # calls the server counted



LOOPS = ("asyncio", "uvloop")


def _spawn(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.floor", *args], cwd=REPO,
                            preexec_fn=die_with_parent, **kwargs)


def measure_floor(calls: int, latency_ms: float, concurrency: int,
                  timeout: float = 600, loop: str = "asyncio") -> FloorResult:
    """Start the server and the client, each in its own process on event loop ``loop``; kill
    both on the way out."""
    port = free_port()
    server = _spawn(["--loop", loop, "serve", "--port", str(port),
                     "--latency-ms", str(latency_ms)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = None
    try:
        wait_port(port)
        client = _spawn(["--loop", loop, "client", "--url", f"http://127.0.0.1:{port}",
                         "--calls", str(calls), "--concurrency", str(concurrency)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = client.communicate(timeout=timeout)
        if client.returncode != 0:
            raise RuntimeError(f"the floor client failed: {err[-2000:]}")
        measured = json.loads(out)
    finally:
        for proc in (client, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    return FloorResult(
        calls=calls, latency_ms=latency_ms, concurrency=concurrency,
        floor_s=round(measured["seconds"], 3), client_cpu_s=round(measured["cpu_s"], 4),
        client_cpu_per_call_ms=round(measured["cpu_s"] / calls * 1000, 4) if calls else 0.0,
        answered=measured["answered"], served=measured["served"])


# ----------------------------------------------------------------- the two processes


def serve(port: int, latency_ms: float, loop: asyncio.AbstractEventLoop | None = None) -> None:
    from aiohttp import web

    served = 0
    delay = latency_ms / 1000

    async def count(_: web.Request) -> web.Response:
        return web.json_response({"served": served})

    async def answer(_: web.Request) -> web.Response:
        nonlocal served
        await asyncio.sleep(delay)
        served += 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_get(SERVED_PATH, count)
    app.router.add_route("*", "/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None,
                backlog=max(1024, 2 * 600), loop=loop)


async def _drive(base: str, calls: int, concurrency: int) -> dict[str, float | int]:
    import aiohttp

    remaining = calls
    answered = 0

    async def one_in_flight(session: aiohttp.ClientSession) -> None:
        nonlocal remaining, answered
        while remaining > 0:
            remaining -= 1
            async with session.post(f"{base}/call/{remaining}", json={"n": remaining}) as resp:
                await resp.read()
                answered += resp.status == 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        cpu_before = _own_cpu_s()
        started = time.perf_counter()
        await asyncio.gather(*(one_in_flight(session) for _ in range(min(concurrency, calls))))
        seconds = time.perf_counter() - started
        cpu_s = _own_cpu_s() - cpu_before
        async with session.get(base + SERVED_PATH) as resp:
            served = (await resp.json())["served"]
    return {"seconds": seconds, "cpu_s": cpu_s, "answered": answered, "served": served}


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="role")
    server = sub.add_parser("serve")
    server.add_argument("--port", type=int, required=True)
    server.add_argument("--latency-ms", type=float, default=0.0)
    client = sub.add_parser("client")
    client.add_argument("--url", required=True)
    client.add_argument("--calls", type=int, required=True)
    client.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--loop", choices=LOOPS, default="asyncio")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=600)
    args = parser.parse_args()
    loop = _new_loop(args.loop)
    if args.role == "serve":
        serve(args.port, args.latency_ms, loop)
    elif args.role == "client":
        print(json.dumps(loop.run_until_complete(
            _drive(args.url, args.calls, args.concurrency))))
    else:
        print(json.dumps(asdict(measure_floor(args.calls, args.latency_ms, args.concurrency,
                                              loop=args.loop))))


def _new_loop(name: str) -> asyncio.AbstractEventLoop:
    if name == "uvloop":
        from hub.infra.eventloop import new_event_loop

        loop = new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


if __name__ == "__main__":
    main()
