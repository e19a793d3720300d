"""三审 independence: no one person below the province may stand behind an item's author and
all three of its reviewers.

Whoever creates a user receives that user's first token, and whoever appoints a reviewer or
sets their password could act as them; the user's ``sponsor_id`` records that person. The
people behind a user are the user and, following sponsors upward, everyone who could act as
them, stopping at a province-wide admin (trusted by design: the province appoints). If one
person is behind the author and every reviewer of a round, 三审 was not three people, so the
final approval is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Org, User

MAX_CHAIN = 64  # sponsors upward; a longer chain is a cycle or a data error


def _province_wide(session: Session, user: User) -> bool:
    if user.org_id is None:
        return True
    path = session.execute(select(Org.path).where(Org.id == user.org_id)).scalar_one_or_none()
    return path is not None and path.count("/") == 2 and "admin" in user.roles


def people_behind(session: Session, user_id: str) -> set[str]:
    """The user and every sponsor above them, up to (not including) a province-wide admin."""
    found: set[str] = set()
    current = session.get(User, user_id)
    while current is not None and current.id not in found and len(found) < MAX_CHAIN:
        if _province_wide(session, current):
            break
        found.add(current.id)
        current = session.get(User, current.sponsor_id) if current.sponsor_id else None
    return found


def shared_controller(session: Session, authors: Iterable[str],
                      reviewers: Iterable[str]) -> str | None:
    """A person behind some author and every reviewer, or None when the round is independent."""
    common: set[str] = set()
    for author in authors:
        common |= people_behind(session, author)
    for reviewer in reviewers:
        common &= people_behind(session, reviewer)
        if not common:
            return None
    return min(common) if common else None
