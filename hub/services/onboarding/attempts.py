"""One onboarding attempt (``Authorization`` row): begun by a user for an org, correlated by a
keyed hash of its secret, completed at most once, and never binding an account into an org
other than the one that began it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ...infra.crypto import CredentialBox
from ...infra.ids import new_id
from ...models import Account, Authorization, utcnow

PENDING = "pending"
CLAIMED = "claimed"  # a callback is completing it
COMPLETED = "completed"
DENIED = "denied"
EXPIRED = "expired"
FAILED = "failed"
FINAL = (COMPLETED, DENIED, EXPIRED, FAILED)


def correlation_key(box: CredentialBox, secret: str) -> str:
    return box.identity_key("authorization:" + secret)


def create(session: Session, box: CredentialBox, *, org_id: str, platform: str, secret: str,
           expires_in: int, started_by: str | None,
           account_id: str | None = None) -> Authorization:
    attempt = Authorization(
        id=new_id("au"), org_id=org_id, platform=platform, account_id=account_id,
        started_by=started_by, correlation_key=correlation_key(box, secret), status=PENDING,
        expires_at=utcnow() + timedelta(seconds=expires_in))
    session.add(attempt)
    session.flush()
    return attempt


def find(session: Session, box: CredentialBox, secret: str,
         platform: str) -> Authorization | None:
    """The attempt a returned secret belongs to, whatever its status (a replayed callback
    finds a finished attempt and must not act twice)."""
    return session.scalar(select(Authorization).where(
        Authorization.correlation_key == correlation_key(box, secret),
        Authorization.platform == platform))


def claim(session: Session, attempt: Authorization, *, now: datetime | None = None) -> bool:
    """Take a pending, unexpired attempt for completion; False when another request already
    took it or it expired. Conditional UPDATE, so two callbacks racing claim it once."""
    now = now or utcnow()
    if attempt.expires_at <= now:
        finish(session, attempt, EXPIRED, error="authorization expired")
        return False
    taken = session.execute(
        update(Authorization)
        .where(Authorization.id == attempt.id, Authorization.status == PENDING)
        .values(status=CLAIMED)
        .execution_options(synchronize_session=False))
    session.refresh(attempt)
    return taken.rowcount == 1


def finish(session: Session, attempt: Authorization, status: str, *,
           account: Account | None = None, identity: str | None = None,
           error: str | None = None) -> None:
    if status not in FINAL:
        raise ValueError(status)
    if account is not None and account.org_id != attempt.org_id:
        raise ValueError("an attempt binds accounts only into the org that began it")
    attempt.status = status
    attempt.account_id = account.id if account is not None else attempt.account_id
    attempt.identity = identity or attempt.identity
    attempt.error = error[:500] if error else None
    attempt.completed_at = utcnow()
    session.flush()


def to_json(attempt: Authorization, *, url: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": attempt.id, "platform": attempt.platform, "status": attempt.status,
        "account_id": attempt.account_id, "identity": attempt.identity,
        "error": attempt.error, "created_at": attempt.created_at.isoformat(),
        "expires_at": attempt.expires_at.isoformat(),
        "completed_at": attempt.completed_at.isoformat() if attempt.completed_at else None,
    }
    if url is not None:
        data["url"] = url
    return data
