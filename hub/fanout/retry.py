"""Send a push's failed deliveries again, when the cause was passing: the platform was
unreachable or kept failing (``retryable``) or kept rate-limiting (``rate_limited``).

Failures that would fail again the same way (content refused, credentials rejected, the
channel cannot render the item) are not retried; those need a fix first. Nor is a failed row
whose send may have reached the platform (``needs_lookup``): sending it again could post twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..errors import ApiError
from ..infra.idsets import among, chunks
from ..models import Account, Delivery, Dispatch, Item, Org, utcnow
from ..services.review import require_approved

RETRYABLE_KINDS = ("retryable", "rate_limited")
CHUNK = 5000


@dataclass(frozen=True)
class RetryResult:
    retried: int
    queued: list[tuple[str, str]]  # (delivery id, platform) to enqueue after commit


def retryable_failures(dispatch_id: str, org_path: str | None = None):
    """The query of a dispatch's failed rows that may be sent again (in ``org_path``'s
    subtree when given), as (delivery id, platform)."""
    query = (select(Delivery.id, Delivery.platform)
             .where(Delivery.dispatch_id == dispatch_id, Delivery.state == "failed",
                    Delivery.error_kind.in_(RETRYABLE_KINDS),
                    Delivery.needs_lookup.is_(False)))
    if org_path is not None:
        query = (query.join(Account, Account.id == Delivery.account_id)
                 .join(Org, Org.id == Account.org_id)
                 .where(Org.path.startswith(org_path, autoescape=True)))
    return query


def retry_failed(session: Session, dispatch: Dispatch, item: Item,
                 org_path: str | None, now: datetime | None = None) -> RetryResult:
    """Queue the dispatch's retryable failures again with a fresh retry budget. 409 when the
    item may no longer be pushed (withdrawn, edited since) or the dispatch sent an older
    version than the one approved now (push again instead)."""
    require_approved(item, session)
    if dispatch.version != item.approved_version:
        raise ApiError(409, "该推送发送的是旧版本，请重新推送 (this push sent an older version; "
                            "push the item again)", code="dispatch_stale",
                       details={"dispatch_version": dispatch.version,
                                "approved_version": item.approved_version})
    now = now or utcnow()
    rows = session.execute(retryable_failures(dispatch.id, org_path)
                           .order_by(Delivery.id).with_for_update(of=Delivery)).all()
    for chunk in chunks([r[0] for r in rows], CHUNK):
        session.execute(
            update(Delivery).where(among(session, Delivery.id, chunk))
            .values(state="queued", error=None, error_kind=None, next_attempt_at=None,
                    attempts=0, interrupted=0, transient=0, transient_since=None,
                    updated_at=now)
            .execution_options(synchronize_session=False))
    if rows:
        session.execute(update(Dispatch).where(Dispatch.id == dispatch.id)
                        .values(finished_at=None))
    return RetryResult(retried=len(rows), queued=[(r[0], r[1]) for r in rows])
