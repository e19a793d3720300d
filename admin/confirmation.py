"""The confirmation a push or a withdrawal asks for in the admin: what it will do (the
preview's numbers) and, from ``confirm_threshold`` accounts on, the number typed back.

The typed number is checked here, on the server, against the count just recomputed: a page
confirmed when the push reached 120 accounts does not authorise one that now reaches 130. The
count is then sent as the API's ``expected_total``, so a change between this check and the
push itself is refused too (409), and the operator confirms again.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from .web import runtime

TYPED_FIELD = "typed_total"
EXPECTED = "expected_total"  # the API's field
CHANGED = "expected_total_mismatch"  # the API's 409 code when the count moved


def threshold() -> int:
    return runtime().settings.confirm_threshold


def typed_total(form: MultiDict[str, str]) -> int | None:
    value = form.get(TYPED_FIELD, "").strip().replace(",", "").replace("，", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def accepted(numbers: dict[str, Any], form: MultiDict[str, str]) -> bool:
    """Whether the form may go ahead: below the threshold always (the page showed the
    numbers), above it only with the current count typed back."""
    total = int(numbers.get("total") or 0)
    return total < threshold() or typed_total(form) == total
