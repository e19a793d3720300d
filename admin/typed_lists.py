"""Lists as editors type them: org slugs, account ids, tags."""

from __future__ import annotations

import re

# Spaces and line breaks, commas of either width, 、 and semicolons all separate entries.
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def split_list(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text) if part]
