"""How many requests per second the sandbox serves, and how fast, on this machine.

Starts ``python -m sandbox`` in a subprocess on loopback, then drives it with an aiohttp client
(``--concurrency`` requests in flight, ``--requests`` per run) against:

- ``/_sandbox/stats`` (control API: no latency, no platform middleware), and
- a platform endpoint through the platform middleware and its latency: WeChat's token call
  (``/wechat/cgi-bin/token``, a real business handler: credential check, quota, token issue;
  one app id per request so no quota runs out) when WeChat is mounted, else
  ``/<platform>/__bench__`` (the platform router's 404), plus any ``--path`` given.
  ``{n}`` in a path is replaced by the request's number.

For each ``--latency-ms`` value (set at run time through ``POST /_sandbox/config``) it prints
req/s, p50/p99 client-side latency and the server's CPU seconds per 1,000 requests, and with
``--json`` writes them to bench/results/.

    .venv/bin/python bench/sandbox_throughput.py --latency-ms 0 --latency-ms 100 \
        --requests 20000 --concurrency 200 --json bench/results/sandbox_throughput.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform as host_platform
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
WECHAT_TOKEN = "/wechat/cgi-bin/token?grant_type=client_credential&appid=wxbench{n}&secret=s{n}"


@dataclass
class RunResult:
    target: str
    latency_ms: float
    concurrency: int
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    server_cpu_s_per_1k: float | None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def sandbox_process(port: int, extra_args: list[str]) -> Iterator[subprocess.Popen]:
    command = [sys.executable, "-m", "sandbox", "--port", str(port), *extra_args]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    session: aiohttp.ClientSession, url: str, total: int, concurrency: int
) -> tuple[float, list[float], Counter[str]]:
    durations: list[float] = []
    statuses: Counter[str] = Counter()
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                async with session.get(url.replace("{n}", str(remaining))) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                statuses[type(exc).__name__] += 1
            durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, durations, statuses


async def benchmark(args: argparse.Namespace, base: str, server_pid: int) -> list[RunResult]:
    results: list[RunResult] = []
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async with session.get(f"{base}/_sandbox/") as response:
            mounted = (await response.json())["platforms"]
        targets = ["/_sandbox/stats"]
        if "wechat" in mounted:
            targets.append(WECHAT_TOKEN)
        elif mounted:
            targets.append(f"/{mounted[0]}/__bench__")
        targets.extend(args.path)
        for latency_ms in args.latency_ms:
            config = {"latency_ms": latency_ms, "jitter_ms": args.jitter_ms}
            async with session.post(f"{base}/_sandbox/config", json=config) as response:
                response.raise_for_status()
            for target in targets:
                await drive(session, base + target, args.warmup, args.concurrency)
                cpu_before = cpu_seconds(server_pid)
                seconds, durations, statuses = await drive(
                    session, base + target, args.requests, args.concurrency
                )
                cpu_after = cpu_seconds(server_pid)
                cuts = statistics.quantiles(durations, n=100)
                result = RunResult(
                    target=target,
                    latency_ms=latency_ms,
                    concurrency=args.concurrency,
                    requests=args.requests,
                    seconds=round(seconds, 3),
                    requests_per_s=round(args.requests / seconds, 1),
                    p50_ms=round(cuts[49] * 1000, 2),
                    p99_ms=round(cuts[98] * 1000, 2),
                    max_ms=round(max(durations) * 1000, 2),
                    statuses=dict(statuses),
                    server_cpu_s_per_1k=(
                        round((cpu_after - cpu_before) / args.requests * 1000, 4)
                        if cpu_before is not None and cpu_after is not None
                        else None
                    ),
                )
                results.append(result)
                print(
                    f"{target.split('?')[0]:24} latency {latency_ms:>5.0f} ms  c={args.concurrency:<4} "
                    f"{result.requests_per_s:>8.0f} req/s  p50 {result.p50_ms:>7.2f} ms  "
                    f"p99 {result.p99_ms:>7.2f} ms  server CPU {result.server_cpu_s_per_1k} s/1k  "
                    f"{result.statuses}",
                    flush=True,
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, action="append", default=None)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--path", action="append", default=[], help="extra GET path to drive")
    parser.add_argument("--server-arg", action="append", default=[], help="passed to the sandbox")
    parser.add_argument("--json", type=Path, help="write the results here (e.g. bench/results/)")
    args = parser.parse_args()
    args.latency_ms = args.latency_ms or [0.0, 100.0]

    port = free_port()
    with sandbox_process(port, args.server_arg) as process:
        results = asyncio.run(benchmark(args, f"http://127.0.0.1:{port}", process.pid))

    if args.json:
        path = args.json / "sandbox_throughput.json" if args.json.is_dir() else args.json
        path.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "benchmark": "sandbox_throughput",
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": sys.version.split()[0],
            "aiohttp": aiohttp.__version__,
            "cpus": os.cpu_count(),
            "machine": host_platform.machine(),
            "server_args": args.server_arg,
            "results": [asdict(result) for result in results],
        }
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    main()
