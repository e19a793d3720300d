"""The failure list of a push or a withdrawal: the deliveries that need attention, paged and
filtered by state, error kind and platform, read through the same service as the API's
``.../deliveries`` (hub/services/fanout_actions.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import g
from werkzeug.datastructures import MultiDict

from hub.fanout.progress import PROBLEM_STATES
from hub.platforms import names as platform_names
from hub.services import fanout_actions

from . import i18n
from .timefmt import local_time
from .web import runtime

PAGE_ROWS = 50
CSV_PAGE = 1000
CSV_MAX_ROWS = 200_000
CSV_COLUMNS = ("account", "account_name", "org", "platform", "state", "error_kind", "error",
               "attempts", "updated_at")


@dataclass(frozen=True)
class FailureFilter:
    kind: str  # "dispatch" or "withdrawal"
    state: str = ""
    error_kind: str = ""
    platform: str = ""
    after: str = ""

    @classmethod
    def from_args(cls, kind: str, args: MultiDict[str, str]) -> FailureFilter:
        state = args.get("state", "")
        platform = args.get("platform", "")
        return cls(kind=kind, state=state if state in PROBLEM_STATES[kind] else "",
                   error_kind=args.get("error_kind", "")[:32],
                   platform=platform if platform in platform_names() else "",
                   after=args.get("after", "")[:64])

    def query(self, limit: int) -> dict[str, Any]:
        """The service's filter arguments for one page of ``limit`` rows."""
        return {"states": [self.state] if self.state else list(PROBLEM_STATES[self.kind]),
                "error_kind": self.error_kind or None, "platform": self.platform or None,
                "cursor": self.after or None, "limit": limit}

    def args(self, **changes: str) -> dict[str, str]:
        """The filter as query arguments (empty ones left out), for links and the CSV."""
        values = {"state": self.state, "error_kind": self.error_kind,
                  "platform": self.platform, "after": self.after} | changes
        return {k: v for k, v in values.items() if v}


def page(run_id: str, where: FailureFilter, limit: int = PAGE_ROWS
         ) -> tuple[list[dict], str | None]:
    """One page of the list and the cursor of the next (None: the last page)."""
    with runtime().db.session() as db:
        return fanout_actions.deliveries(db, g.principal, where.kind, run_id,
                                         **where.query(limit))


def every_row(run_id: str, where: FailureFilter) -> Iterator[dict]:
    """Every row the filter selects (from its cursor on), page by page, up to CSV_MAX_ROWS."""
    after, sent = where.after, 0
    while sent < CSV_MAX_ROWS:
        query = FailureFilter(where.kind, where.state, where.error_kind, where.platform, after)
        rows, next_cursor = page(run_id, query, CSV_PAGE)
        yield from rows
        sent += len(rows)
        after = next_cursor or ""
        if not after:
            return


def as_csv(rows: Iterator[dict]) -> str:
    """The rows as CSV with a UTF-8 BOM (so spreadsheet programs read the Chinese right),
    times in Beijing time, messages in the page's language."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([row.get("account"), row.get("account_name"), row.get("org"),
                         row.get("platform"), row.get("state"), row.get("error_kind") or "",
                         i18n.localise(row.get("error") or ""), row.get("attempts"),
                         local_time(row.get("updated_at"), seconds=True) + " +08:00"])
    return out.getvalue()


def links(kind: str, run_id: str, where: FailureFilter,
          next_cursor: str | None) -> dict[str, str | None]:
    """The list's addresses: its page (the filter form's target), the fragment the progress
    page reloads, the CSV of the filter, the first and the next page."""
    from flask import url_for

    run = {f"{kind}_id": run_id}
    endpoint = f"admin.{kind}"
    return {"page": url_for(endpoint, **run),
            "fragment": url_for(f"{endpoint}_failures", **run, **where.args()),
            "csv": url_for(f"{endpoint}_failures_csv", **run, **where.args(after="")),
            "first": url_for(endpoint, **run, **where.args(after="")) if where.after else None,
            "next": url_for(endpoint, **run, **where.args(after=next_cursor))
            if next_cursor else None}
