"""Orgs and accounts as people keep them: a CSV sheet (UTF-8, with or without a BOM) or JSON.

CSV has a header row naming the API's fields; an account's credentials go in
``credentials.<key>`` columns (``credentials.appid``, ``credentials.secret`` …), and empty
cells are left out. JSON is a list, or ``{"orgs": [...]}`` / ``{"accounts": [...]}``. Used by
``yunchu import`` and by the admin UI's import page, which both hand the rows to the API's
own parsing.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

KINDS = ("orgs", "accounts")
CREDENTIAL_PREFIX = "credentials."


class UnreadableFile(ValueError):
    """The file is not a sheet or document of rows (not a row that breaks a rule)."""


def read_rows(text: str, kind: str, *, as_json: bool) -> list[dict[str, Any]]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    text = text.removeprefix("\ufeff")
    if as_json:
        try:
            data = json.loads(text)
        except ValueError as err:
            raise UnreadableFile(f"不是有效的 JSON (not valid JSON: {err})") from None
        rows = data.get(kind, []) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise UnreadableFile(f"应为列表或 {{\"{kind}\": [...]}} (expected a list or "
                                 f"{{\"{kind}\": [...]}})")
        return rows
    try:
        return [_row(raw, kind) for raw in csv.DictReader(io.StringIO(text))]
    except csv.Error as err:
        raise UnreadableFile(f"不是有效的 CSV (not valid CSV: {err})") from None


def _row(raw: dict[str | None, Any], kind: str) -> dict[str, Any]:
    row: dict[str, Any] = {k.strip(): v.strip() for k, v in raw.items()
                           if k and isinstance(v, str) and v.strip()}
    if kind == "orgs":
        row.setdefault("parent", None)
    else:
        row["credentials"] = {k.removeprefix(CREDENTIAL_PREFIX): row.pop(k)
                              for k in list(row) if k.startswith(CREDENTIAL_PREFIX)}
    return row
