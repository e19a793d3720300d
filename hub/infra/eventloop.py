"""The event loop for the fan-out workers and the sandbox: uvloop where it is installed (Linux,
macOS), the standard loop otherwise. uvloop roughly halves the per-request CPU of asyncio's
transport layer, which is what bounds a 2-core fan-out (see bench/results/)."""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # e.g. Windows: uvloop does not exist there
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
