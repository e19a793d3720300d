"""What a completed OAuth grant does to the ledger: create the account in the org that began
the attempt, or renew the account being re-authorised. One platform identity stays one
account over all orgs: a grant for an identity another org's account holds is refused, and a
re-authorisation must come back as the same identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...infra.crypto import CredentialBox
from ...infra.ids import new_id
from ...models import Account, Authorization, utcnow
from .. import account_identity
from ..accounts import external_id


class BindRefused(Exception):
    """The grant cannot be bound; ``code`` says why (the attempt's error)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Grant:
    """One platform's answer after the code exchange and identification."""

    platform: str
    name: str  # the holder's screen name / nickname
    credentials: dict[str, str] = field(repr=False)
    scopes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    expires_at: datetime | None = None  # access stops unless the holder acts
    token_expires_at: datetime | None = None


def bind(session: Session, box: CredentialBox, attempt: Authorization, grant: Grant) -> Account:
    key = account_identity.identity_key(box, grant.platform, grant.credentials)
    if key is None:
        raise BindRefused("no_identity")
    holder = session.scalar(select(Account).where(Account.identity_key == key))
    if attempt.account_id is not None:
        account = session.get(Account, attempt.account_id)
        if account is None or account.org_id != attempt.org_id:
            raise BindRefused("account_gone")
        if (holder is not None and holder.id != account.id) or (
                account.external_id and account.external_id != external_id(
                    grant.platform, grant.credentials)):
            raise BindRefused("other_identity")
    elif holder is not None:
        if holder.org_id != attempt.org_id or holder.platform != grant.platform:
            raise BindRefused("identity_taken")
        account = holder  # the same account authorised again from its own org
    else:
        account = _new_account(session, attempt, grant.name)
    _apply(box, account, grant, key)
    session.flush()
    return account


def _new_account(session: Session, attempt: Authorization, name: str) -> Account:
    name = (name or attempt.platform).strip()[:180]
    taken = set(session.scalars(select(Account.name).where(
        Account.org_id == attempt.org_id, Account.platform == attempt.platform,
        Account.name.startswith(name, autoescape=True))))
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name} ({n})", n + 1
    account_id = new_id("acc")
    account = Account(id=account_id, org_id=attempt.org_id, platform=attempt.platform,
                      name=unique, status="active", credentials_sealed=b"")
    session.add(account)
    return account


def _apply(box: CredentialBox, account: Account, grant: Grant, key: str) -> None:
    now = utcnow()
    account.credentials_sealed = box.seal(grant.credentials, bound_to=account.id)
    account.credentials_updated_at = now
    account.external_id = external_id(grant.platform, grant.credentials)
    account.identity_key = key
    account.flagged_reason = account.flagged_at = None
    account.auth_mode = "oauth"
    account.auth_state = "insufficient" if grant.missing else "authorized"
    account.auth_scopes = list(grant.scopes)
    account.auth_missing = list(grant.missing)
    account.auth_expires_at = grant.expires_at
    account.auth_token_expires_at = grant.token_expires_at
    account.auth_refreshed_at = now
    account.auth_renewals = 0
    account.auth_error = None
    account.auth_changed_at = now
