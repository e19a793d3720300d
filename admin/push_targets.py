"""The push form's fields, read into the API's push body.

An editor narrows a push to some orgs (with or without the orgs below them), some platforms and
some matrices, and may hold it until a Beijing time. Nothing chosen means the whole of their
scope, so the one click still pushes everywhere they may.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug.datastructures import MultiDict

from hub.platforms import names as platform_names

from .typed_lists import split_list

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass
class PushChoice:
    """What the form held: kept as typed, so a refused push shows it again."""

    orgs: str = ""
    descendants: bool = True
    platforms: list[str] = field(default_factory=list)
    matrices: list[str] = field(default_factory=list)
    schedule_at: str = ""
    # A province admin's reason to push despite blocking negative-list hits (recorded).
    safety_override_reason: str = ""

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> PushChoice:
        # A bare POST (no form fields at all) is the one-click push: descendants on.
        descendants = form.get("descendants") == "1" if "targets_form" in form else True
        return cls(orgs=form.get("orgs", "").strip()[:5000],
                   descendants=descendants,
                   platforms=[p for p in form.getlist("platforms") if p in platform_names()],
                   matrices=[m[:64] for m in form.getlist("matrices")][:1000],
                   schedule_at=form.get("schedule_at", "").strip()[:40],
                   safety_override_reason=form.get("safety_override_reason", "").strip()[:1000])

    def body(self, scope_orgs: list[str]) -> dict[str, Any]:
        """The API's push body; the caller's whole scope when no org or matrix is chosen."""
        orgs = split_list(self.orgs)
        targets: dict[str, Any] = {"orgs": orgs or ([] if self.matrices else scope_orgs),
                                   "descendants": self.descendants}
        if self.platforms:
            targets["platforms"] = self.platforms
        if self.matrices:
            targets["matrices"] = self.matrices
        body: dict[str, Any] = {"targets": targets}
        if self.schedule_at:
            body["schedule_at"] = beijing_to_rfc3339(self.schedule_at)
        body.update(self.override())
        return body

    def override(self) -> dict[str, Any]:
        if not self.safety_override_reason:
            return {}
        return {"override_safety": True, "override_reason": self.safety_override_reason}


def beijing_to_rfc3339(value: str) -> str:
    """A browser's datetime-local value ("2026-12-03T08:30") read as Beijing time.

    Anything else goes to the API unchanged, which refuses it in words.
    """
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.isoformat()
