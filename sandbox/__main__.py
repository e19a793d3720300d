"""``python -m sandbox [--host H] [--port P] [--latency-ms N] [--jitter-ms N]``."""

from __future__ import annotations

import argparse
import logging

from sandbox.server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--timeout-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run(
        args.host,
        args.port,
        args.latency_ms,
        args.jitter_ms,
        timeout_s=args.timeout_s,
    )


if __name__ == "__main__":
    main()
