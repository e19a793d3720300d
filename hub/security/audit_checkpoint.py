"""Signed checkpoints of the audit chain's tail, kept outside the database.

After every commit that extends the chain, the newest (entry id, MAC) is signed with the audit
key and written to Redis (shared by every hub process and worker) and to a file in the data dir
(the host's own copy, readable by ``yunchu audit verify`` without Redis). Both only ever move
forward, so processes committing out of order cannot roll a checkpoint back. ``verify`` then
requires the checkpointed entry to still be in the chain with that MAC: deleting the newest
entries and fixing up the head in the database is detected.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models.base import utcnow
from .audit_key import AuditKey

if TYPE_CHECKING:
    import redis

log = logging.getLogger("yunchu.audit")

FILE_NAME = "audit.checkpoint"

# Replace the stored checkpoint only with a newer one (KEYS[1]: the hash; ARGV: id, json).
_ADVANCE = """
local current = redis.call('HGET', KEYS[1], 'last_id')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'last_id', ARGV[1], 'checkpoint', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Checkpoint:
    last_id: int
    mac: str
    key_id: str
    at: str
    signature: str = ""

    def payload(self) -> dict[str, Any]:
        return {"last_id": self.last_id, "mac": self.mac, "key_id": self.key_id, "at": self.at}

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Checkpoint:
        data = json.loads(raw)
        return cls(last_id=int(data["last_id"]), mac=str(data["mac"]),
                   key_id=str(data["key_id"]), at=str(data["at"]),
                   signature=str(data["signature"]))


@dataclass(frozen=True)
class Reading:
    """The newest checkpoint whose signature holds, and what was wrong with the others."""

    newest: Checkpoint | None
    sources: list[str]
    problems: list[str]


class CheckpointStore:
    def __init__(self, key: AuditKey, *, data_dir: Path,
                 redis_client: Callable[[], redis.Redis | None]):
        self._key = key
        self.path = data_dir / FILE_NAME
        self._redis = redis_client
        self.redis_key = f"yunchu:audit:{key.key_id}:checkpoint"

    def make(self, last_id: int, mac: str) -> Checkpoint:
        unsigned = Checkpoint(last_id=last_id, mac=mac, key_id=self._key.key_id,
                              at=utcnow().isoformat())
        return Checkpoint(**{**asdict(unsigned), "signature": self._key.sign(unsigned.payload())})

    def advance(self, last_id: int, mac: str) -> None:
        """Record (last_id, mac) as the chain's tail unless a newer checkpoint is stored."""
        checkpoint = self.make(last_id, mac)
        try:
            self._advance_file(checkpoint)
        except OSError:
            log.exception("could not write the audit checkpoint file %s", self.path)
        client = self._redis()
        if client is not None:
            try:
                client.eval(_ADVANCE, 1, self.redis_key, last_id, checkpoint.to_json())
            except Exception:  # noqa: BLE001 - the action has committed; the next one retries
                log.exception("could not write the audit checkpoint to Redis")

    def replace(self, last_id: int, mac: str) -> None:
        """Set the checkpoint even if a newer one is stored: an operator's ``yunchu audit
        reseal`` after looking into a tampered or restored log."""
        checkpoint = self.make(last_id, mac)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp_fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(tmp_fd, "w") as fh:
            fh.write(checkpoint.to_json())
        os.replace(temporary, self.path)
        client = self._redis()
        if client is not None:
            client.hset(self.redis_key, mapping={"last_id": last_id,
                                                 "checkpoint": checkpoint.to_json()})

    def read(self) -> Reading:
        found: list[Checkpoint] = []
        sources: list[str] = []
        problems: list[str] = []
        for source, raw in self._raw_checkpoints(problems):
            try:
                checkpoint = Checkpoint.from_json(raw)
            except (ValueError, KeyError, TypeError):
                problems.append(f"audit checkpoint in {source} is unreadable")
                continue
            if not self._key.signature_ok(checkpoint.payload(), checkpoint.signature):
                problems.append(f"audit checkpoint in {source} has a bad signature (forged, or "
                                f"signed with another audit key)")
                continue
            found.append(checkpoint)
            sources.append(source)
        newest = max(found, key=lambda c: c.last_id, default=None)
        return Reading(newest=newest, sources=sources, problems=problems)

    def _raw_checkpoints(self, problems: list[str]) -> list[tuple[str, str | bytes]]:
        raw: list[tuple[str, str | bytes]] = []
        if self.path.exists():
            raw.append((str(self.path), self.path.read_text()))
        client = self._redis()
        if client is not None:
            try:
                value = client.hget(self.redis_key, "checkpoint")
            except Exception as err:  # noqa: BLE001 - reported, the file may still answer
                problems.append(f"Redis could not be read for the audit checkpoint ({err})")
            else:
                if value is not None:
                    raw.append((f"Redis key {self.redis_key}", value))
        return raw

    def _advance_file(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_suffix(".lock")
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # hub processes on one host take turns
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                stored = Checkpoint.from_json(self.path.read_text())
                if stored.last_id >= checkpoint.last_id and \
                        self._key.signature_ok(stored.payload(), stored.signature):
                    return
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp_fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(tmp_fd, "w") as fh:
                fh.write(checkpoint.to_json())
            os.replace(temporary, self.path)
        finally:
            os.close(fd)
