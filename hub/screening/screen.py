"""One negative-list version compiled for matching: Aho-Corasick over terms, and a near-miss
check of canonical names and titles (one character different, or two neighbours swapped).

Build a ``Screen`` once per list version and reuse it; ``scan`` is safe to call from threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import ahocorasick

from .categories import TYPO_CATEGORY
from .text import Folded, compact, fold

MIN_NEAR_MISS_LEN = 3  # two-character names differ from countless ordinary words by one char


@dataclass(frozen=True)
class Term:
    term: str
    category: str
    action: str  # block | warn


@dataclass(frozen=True)
class Hit:
    field: str
    start: int
    end: int
    term: str
    category: str
    action: str
    matched: str  # the text as written at [start, end)
    expected: str | None = None  # for serious typos: the canonical spelling

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"field": self.field, "start": self.start, "end": self.end,
                                   "term": self.term, "category": self.category,
                                   "action": self.action, "matched": self.matched}
        if self.expected is not None:
            data["expected"] = self.expected
        return data


class Screen:
    def __init__(self, terms: Iterable[Term], canonical_names: Iterable[str] = (), *,
                 typo_action: str = "warn", version: int = 0):
        self.version = version
        self.typo_action = typo_action
        self._terms = ahocorasick.Automaton()
        for entry in terms:
            key = compact(entry.term)
            if key:
                self._terms.add_word(key, (len(key), entry))
        self._has_terms = len(self._terms) > 0
        if self._has_terms:
            self._terms.make_automaton()
        self._canonical: dict[str, str] = {}  # compact form -> as configured
        pieces: dict[str, list[tuple[str, int]]] = {}
        for name in canonical_names:
            key = compact(name)
            if not key:
                continue
            self._canonical[key] = name
            if len(key) >= MIN_NEAR_MISS_LEN:
                for piece, offset in _three_pieces(key):
                    pieces.setdefault(piece, []).append((key, offset))
        self._pieces = ahocorasick.Automaton()
        for piece, owners in pieces.items():
            self._pieces.add_word(piece, (len(piece), owners))
        self._has_names = len(self._pieces) > 0
        if self._has_names:
            self._pieces.make_automaton()

    @property
    def empty(self) -> bool:
        return not (self._has_terms or self._has_names)

    def scan(self, fields: Mapping[str, str]) -> list[Hit]:
        """Every hit in every field, in field order then position order."""
        hits: list[Hit] = []
        for field, text in fields.items():
            if not text:
                continue
            folded = fold(text)
            found = self._term_hits(field, text, folded) + self._typo_hits(field, text, folded)
            hits.extend(sorted(found, key=lambda h: (h.start, h.end, h.term)))
        return hits

    def _term_hits(self, field: str, text: str, folded: Folded) -> list[Hit]:
        if not self._has_terms:
            return []
        hits: dict[tuple[int, str], Hit] = {}
        for end, (length, entry) in self._terms.iter(folded.compact):
            start, stop = folded.original_span(end - length + 1, end + 1)
            hits.setdefault((start, entry.term), Hit(
                field=field, start=start, end=stop, term=entry.term, category=entry.category,
                action=entry.action, matched=text[start:stop]))
        return list(hits.values())

    def _typo_hits(self, field: str, text: str, folded: Folded) -> list[Hit]:
        if not self._has_names:
            return []
        body = folded.compact
        seen: set[tuple[int, str]] = set()
        hits: list[Hit] = []
        for end, (length, owners) in self._pieces.iter(body):
            piece_start = end - length + 1
            for name, offset in owners:
                start = piece_start - offset
                if start < 0 or (start, name) in seen:
                    continue
                window = body[start:start + len(name)]
                seen.add((start, name))
                if len(window) != len(name) or window in self._canonical:
                    continue
                if _near_miss(window, name):
                    o_start, o_end = folded.original_span(start, start + len(name))
                    hits.append(Hit(field=field, start=o_start, end=o_end, term=window,
                                    category=TYPO_CATEGORY, action=self.typo_action,
                                    matched=text[o_start:o_end],
                                    expected=self._canonical[name]))
        return hits


def _three_pieces(name: str) -> list[tuple[str, int]]:
    """Split into three runs: one substitution or one adjacent swap leaves one run intact."""
    size, extra = divmod(len(name), 3)
    pieces, at = [], 0
    for index in range(3):
        length = size + (1 if index >= 3 - extra else 0)
        pieces.append((name[at:at + length], at))
        at += length
    return pieces


def _near_miss(window: str, name: str) -> bool:
    diff = [i for i, (a, b) in enumerate(zip(window, name, strict=True)) if a != b]
    if len(diff) == 1:
        return True
    return (len(diff) == 2 and diff[1] == diff[0] + 1
            and window[diff[0]] == name[diff[1]] and window[diff[1]] == name[diff[0]])
