"""Length-aware text folding: match on a compact form, report positions in the original text.

Screening ignores case, full-width forms and the spaces, punctuation and invisible characters
people insert to dodge a filter ("法 轮·功"); a hit still points at the exact original span.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_FOLD = {**{c: c + 0x20 for c in range(ord("A"), ord("Z") + 1)},
         **{c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)},  # full-width ASCII
         0x3000: 0x20}
for _c in range(0xFF21, 0xFF3B):  # full-width capitals fold to lower-case ASCII
    _FOLD[_c] = _c - 0xFEE0 + 0x20

_SKIP = re.compile(
    r"[\s!-/:-@\[-`{-~\u00a0-\u00bf\u00d7\u00f7\u2000-\u206f\u2190-\u21ff\u2460-\u27bf"
    r"\u3000-\u303f\u30fb\ufe10-\ufe6f\ufeff\ufff0-\uffff]+"
)


@dataclass(frozen=True)
class Folded:
    """``compact`` is the folded text; ``original_span`` maps a compact span back."""

    compact: str
    _run_at: list[int]  # compact index at which each skipped run was removed
    _removed: list[int]  # characters removed up to and including that run

    def original_index(self, compact_index: int) -> int:
        k = bisect_right(self._run_at, compact_index)
        return compact_index + (self._removed[k - 1] if k else 0)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.original_index(start), self.original_index(end - 1) + 1


def fold(text: str) -> Folded:
    folded = text.translate(_FOLD)
    run_at: list[int] = []
    removed: list[int] = []
    total = 0
    for match in _SKIP.finditer(folded):
        run_at.append(match.start() - total)
        total += match.end() - match.start()
        removed.append(total)
    compact = _SKIP.sub("", folded) if run_at else folded
    return Folded(compact, run_at, removed)


def compact(text: str) -> str:
    return fold(text).compact
