"""Ids: 26 Crockford base32 digits of (ms time << 80 | 80 random bits), sortable by time."""

from __future__ import annotations

import random
import re
import time

from hub.infra.ids import _ALPHABET, encode, new_id


def _digits_one_by_one(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def test_encoding_matches_the_digit_by_digit_definition():
    rng = random.Random(7)
    values = [0, 1, 31, 32, 2**128 - 1, 2**80, (int(time.time() * 1000) << 80)]
    values += [rng.getrandbits(128) for _ in range(2000)]
    for value in values:
        assert encode(value) == _digits_one_by_one(value), value


def test_ids_have_the_prefix_the_alphabet_and_sort_by_time():
    first = new_id("dlv")
    time.sleep(0.002)
    second = new_id("dlv")
    for made in (first, second):
        assert re.fullmatch(r"dlv_[0-9a-hjkmnp-tv-z]{26}", made), made
    assert first < second
    assert len({new_id("x") for _ in range(10_000)}) == 10_000
