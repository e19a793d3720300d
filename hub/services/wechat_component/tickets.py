"""The component_verify_ticket WeChat pushes every ten minutes, kept sealed in the database.

There is no API to fetch one: every process reads the latest pushed ticket from here. When
pushes stop, the last good one stays in use (it is valid twelve hours; WeChat answers
61005 after that, and the client asks for a push).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from ...infra.crypto import CredentialBox, CredentialError
from ...models import PlatformSecret, utcnow

TICKET = "wechat.component_verify_ticket"
TICKET_LIFETIME = timedelta(hours=12)


def store(session: Session, box: CredentialBox, ticket: str) -> None:
    now = utcnow()
    sealed = box.seal({"value": ticket}, bound_to=TICKET)
    row = session.get(PlatformSecret, TICKET)
    if row is None:
        session.add(PlatformSecret(name=TICKET, value_sealed=sealed, received_at=now,
                                   expires_at=now + TICKET_LIFETIME))
    else:
        row.value_sealed, row.received_at = sealed, now
        row.expires_at = now + TICKET_LIFETIME
    session.flush()


def load(session: Session, box: CredentialBox) -> str | None:
    row = session.get(PlatformSecret, TICKET)
    if row is None:
        return None
    try:
        return box.open(row.value_sealed, bound_to=TICKET).get("value") or None
    except CredentialError:
        return None
