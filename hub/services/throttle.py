"""Login throttling in Redis, counted before the password is checked.

Three budgets of failed attempts, each counted in a window:

- per (name, address): a guesser at one address is stopped after a few guesses at a name,
  while the same name still signs in from any other address;
- per address, over every name: one address spraying guesses at many names;
- per name, over every address that has not signed in as that name lately: a guess spread
  over many addresses. An address that signed in as the name within ``KNOWN_FOR_S`` is not
  held to this budget, so guessers elsewhere cannot lock the real user out of their usual
  address.

A spent budget blocks for the window; each time the same budget is spent again within
``STRIKE_MEMORY_S`` the block doubles (exponential backoff), up to ``MAX_BLOCK_S``.

``reserve`` checks every budget that applies and, when none is spent, counts the attempt as a
failure in advance, in one Lua script: parallel guesses cannot all pass a check that runs
before any of them is counted. ``succeeded`` gives the attempt back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

MAX_FAILURES_PER_PAIR = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_FAILURES_PER_NAME = 50
WINDOW_S = 15 * 60
MAX_BLOCK_S = 4 * 3600
STRIKE_MEMORY_S = 24 * 3600
KNOWN_FOR_S = 30 * 86400

# KEYS: the counters; ARGV[1]: the window; ARGV[1 + i]: the limit of KEYS[i].
# Returns {seconds to wait} when a counter is spent, else {0, count after this attempt...}.
_RESERVE = """
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then
      redis.call('EXPIRE', key, ARGV[1])
      ttl = tonumber(ARGV[1])
    end
    wait = math.max(wait, ttl, 1)
  end
end
if wait > 0 then return {wait} end
local counts = {0}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  counts[i + 1] = count
end
return counts
"""

# KEYS: counters to give one attempt back to (those that still exist).
_REFUND = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 and tonumber(redis.call('GET', key)) > 0 then
    redis.call('DECR', key)
  end
end
return 0
"""


@dataclass(frozen=True)
class Budget:
    key: str
    limit: int


@dataclass(frozen=True)
class Attempt:
    """One login attempt: either to wait ``retry_after`` seconds, or counted in ``budgets``
    (with each counter's value after it, in ``counts``)."""

    retry_after: int
    budgets: tuple[Budget, ...] = ()
    counts: tuple[int, ...] = ()
    known_key: str = ""
    pair_key: str = ""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, client: redis.Redis, prefix: str, *,
                 per_pair: int = MAX_FAILURES_PER_PAIR,
                 per_address: int = MAX_FAILURES_PER_ADDRESS,
                 per_name: int = MAX_FAILURES_PER_NAME, window_s: int = WINDOW_S,
                 max_block_s: int = MAX_BLOCK_S):
        self.client = client
        self.prefix = prefix
        self.per_pair = per_pair
        self.per_address = per_address
        self.per_name = per_name
        self.window_s = window_s
        self.max_block_s = max_block_s
        self._reserve = client.register_script(_RESERVE)
        self._refund = client.register_script(_REFUND)

    def _keys(self, name: str, address: str | None) -> tuple[str, str, str, str]:
        """(pair, address, name, known) keys; names compare case-insensitively."""
        name_digest = _digest(name.strip().casefold())
        address_digest = _digest(address or "unknown")
        base = f"{self.prefix}:login-fail"
        return (f"{base}:pair:{name_digest}:{address_digest}",
                f"{base}:addr:{address_digest}", f"{base}:name:{name_digest}",
                f"{self.prefix}:login-known:{name_digest}:{address_digest}")

    def reserve(self, name: str, address: str | None) -> Attempt:
        """Count an attempt before it is checked; ``retry_after`` > 0: refuse it unchecked."""
        pair, by_address, by_name, known = self._keys(name, address)
        budgets = [Budget(pair, self.per_pair), Budget(by_address, self.per_address)]
        if not self.client.exists(known):
            budgets.append(Budget(by_name, self.per_name))
        answer = [int(v) for v in self._reserve(
            keys=[b.key for b in budgets],
            args=[self.window_s, *(b.limit for b in budgets)])]
        if answer[0]:
            return Attempt(retry_after=answer[0])
        return Attempt(retry_after=0, budgets=tuple(budgets), counts=tuple(answer[1:]),
                       known_key=known, pair_key=pair)

    def failed(self, attempt: Attempt) -> None:
        """The attempt was wrong (already counted): a budget it spent blocks, longer each
        time it is spent again."""
        spent = [b for b, count in zip(attempt.budgets, attempt.counts, strict=True)
                 if count == b.limit]  # exactly one attempt per window brings a budget there
        if not spent:
            return
        pipe = self.client.pipeline()
        for budget in spent:
            pipe.incr(f"{budget.key}:strikes")
            pipe.expire(f"{budget.key}:strikes", STRIKE_MEMORY_S)
        strikes = pipe.execute()[::2]
        pipe = self.client.pipeline()
        for budget, strike in zip(spent, strikes, strict=True):
            pipe.expire(budget.key, self.block_s(int(strike)))
        pipe.execute()

    def block_s(self, strike: int) -> int:
        """How long the ``strike``-th spending of a budget within a day blocks."""
        return min(self.window_s * 2 ** max(strike - 1, 0), self.max_block_s)

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt was right: it is no failure, its address is now known for the name, and
        the (name, address) pair starts afresh."""
        self._refund(keys=[b.key for b in attempt.budgets if b.key != attempt.pair_key])
        pipe = self.client.pipeline()
        pipe.delete(attempt.pair_key, f"{attempt.pair_key}:strikes")
        pipe.set(attempt.known_key, 1, ex=KNOWN_FOR_S)
        pipe.execute()
