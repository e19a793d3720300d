"""Delay and loss on the packets a worker host sends to the services, in user space: what
``tc qdisc ... netem`` does, for kernels built without sch_netem (this machine's is one).

Runs inside the worker host's namespace. The host routes the services' addresses into a TUN
device; this process reads each IPv4 packet, drops it with probability ``loss``, and sends the
rest, each after ``delay`` ± ``jitter`` (uniform, so packets reorder as with netem's jitter),
out of the host's bridge interface through a raw socket whose mark selects a routing table that
bypasses the TUN device. Like netem on an interface's egress, one direction is shaped: the
answers come back directly.

    python -m bench.rig.shaper --dev shp0 --mark 7 --delay-ms 200 --jitter-ms 50 --loss 0.02
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import heapq
import os
import random
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SO_MARK = 36


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def run(dev: str, mark: int, delay_s: float, jitter_s: float, loss: float) -> None:
    tun = open_tun(dev)
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    out.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
    print("ready", flush=True)
    queue: list[tuple[float, int, bytes]] = []
    serial = 0
    while True:
        wait = max(0.0, queue[0][0] - time.monotonic()) if queue else None
        readable, _, _ = select.select([tun], [], [], wait)
        if readable:
            for _ in range(256):
                try:
                    packet = os.read(tun, 65535)
                except BlockingIOError:
                    break
                if len(packet) < 20 or packet[0] >> 4 != 4 or random.random() < loss:
                    continue
                due = time.monotonic() + max(0.0, delay_s + random.uniform(-jitter_s, jitter_s))
                serial += 1
                heapq.heappush(queue, (due, serial, packet))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, packet = heapq.heappop(queue)
            # Unreachable (a partition): the packet is lost, as on a wire.
            with contextlib.suppress(OSError):
                out.sendto(packet, (socket.inet_ntoa(packet[16:20]), 0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dev", required=True)
    parser.add_argument("--mark", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--loss", type=float, default=0.0)
    args = parser.parse_args()
    try:
        run(args.dev, args.mark, args.delay_ms / 1000, args.jitter_ms / 1000, args.loss)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
