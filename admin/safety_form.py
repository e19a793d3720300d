"""The negative list (负面清单) as an editor types it: one term per line.

A line is ``词语,类别[,动作]``, the parts separated by a comma (either width) or a tab. The
category is its code (``rumour``) or its name in either language (``散布谣言，扰乱社会秩序``, as the
page's reference table shows it); the action is ``block``/``warn`` or 禁止/提示, and left out takes the
category's default. Blank lines are skipped; lines starting with ``#`` are comments, kept with
the term below them (the API's optional ``comments``; those after the last term go with it as
``comments_after``), so a saved list shows them again. The API validates the result again; this
only turns lines into its terms and says which lines are wrong (every one of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hub.screening import CATEGORIES

from .i18n import LANGS, lookup

_SPLIT = re.compile(r"\s*[,，\t]\s*")
_LAST = re.compile(r"(.+?)\s*[,，\t]\s*([^,，\t]+)$")
_ACTIONS = {"block": "block", "warn": "warn", "禁止": "block", "提示": "warn"}
# A category by its name in either language, as the page's reference table shows it.
_BY_NAME = {name: code for code in CATEGORIES for lang in LANGS
            if (name := lookup(f"label.safety_category.{code}", lang))}
MAX_COMMENT = 200  # characters of one comment line
MAX_COMMENTS = 20  # comment lines kept with one term


@dataclass(frozen=True)
class LineError(Exception):
    line: int  # 1-based, as the editor counts
    problem: str  # an i18n key
    value: str = ""


class LineErrors(Exception):
    """Every wrong line of the text, in order."""

    def __init__(self, errors: list[LineError]):
        super().__init__(f"{len(errors)} wrong lines")
        self.errors = errors


def parse(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The API's terms, and for each the line it came from; ``LineErrors`` names every
    wrong line."""
    terms: list[dict[str, Any]] = []
    lines: list[int] = []
    errors: list[LineError] = []
    comments: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#"):
            comments.append(line[:MAX_COMMENT])
            continue
        if not line:
            continue
        try:
            entry = _entry(line, number)
        except LineError as err:
            errors.append(err)
            continue
        if comments:
            entry["comments"], comments = comments[:MAX_COMMENTS], []
        terms.append(entry)
        lines.append(number)
    if errors:
        raise LineErrors(errors)
    if comments and terms:
        terms[-1]["comments_after"] = comments[:MAX_COMMENTS]
    return terms, lines


def _entry(line: str, number: int) -> dict[str, Any]:
    term, category, action = _parts(line, number)
    code = category if category in CATEGORIES else _BY_NAME.get(category)
    if code is None:
        raise LineError(number, "safety.line_category", category)
    entry: dict[str, Any] = {"term": term, "category": code}
    if action is not None:
        entry["action"] = action
    return entry


def _parts(line: str, number: int) -> tuple[str, str, str | None]:
    """Term, category and action (None: the default). The category's Chinese names hold
    commas themselves, so the term is what comes before the first separator and the action,
    when there is one, what comes after the last."""
    head = _SPLIT.split(line, maxsplit=1)
    if len(head) != 2 or not head[0] or not head[1]:
        raise LineError(number, "safety.line_shape")
    term, rest = head
    if rest in CATEGORIES or rest in _BY_NAME:
        return term, rest, None
    tail = _LAST.match(rest)
    if tail is None:
        return term, rest, None  # an unknown category, named as typed
    action = _ACTIONS.get(tail.group(2).lower())
    if action is None:
        if tail.group(1) in CATEGORIES or tail.group(1) in _BY_NAME:
            raise LineError(number, "safety.line_action", tail.group(2))
        return term, rest, None
    return term, tail.group(1), action


def unparse(terms: list[dict[str, Any]]) -> str:
    """The stored list as lines the editor can change and send back, comments in place."""
    out: list[str] = []
    for t in terms:
        out += t.get("comments") or []
        out.append(f"{t['term']},{t['category']},{t['action']}")
        out += t.get("comments_after") or []
    return "\n".join(out)


def line_of(field: str, lines: list[int]) -> int | None:
    """The line an API error's field (``terms[12].category``) points at."""
    found = re.match(r"terms\[(\d+)\]", field)
    if found is None:
        return None
    index = int(found.group(1))
    return lines[index] if index < len(lines) else None
