"""One platform identity, one account: across every org, whoever registers it.

An account's identity on its platform is what the platform's spec says (``identity`` in
adapters/spec.py): the WeChat appid, the Weibo uid (or, without one, the access token: the
same token is the same user), the Douyin open_id, or the city app's webhook endpoint. Two accounts holding the same identity would let one org post as another's
official account, so registering an identity that another account already holds is refused
with a 409 that does not say which org holds it.

The database keeps the rule too: ``accounts.identity_key`` is unique and holds an HMAC of
the identity under a key derived from YUNCHU_SECRET_KEY (a Weibo token must never sit in a
plain column), so concurrent registrations cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ApiError
from ..infra.crypto import CredentialBox, CredentialError
from ..models import Account, utcnow
from ..platforms import spec as platform_spec

_CHUNK = 5000
DUPLICATE_FLAG = ("平台身份与另一账号重复，请核对凭据 (another account holds this platform "
                  "identity: check the credentials)")


def identity_of(platform: str, credentials: dict[str, str]) -> str | None:
    """The account's identity as one comparable string, or None when the credentials lack it."""
    value = platform_spec(platform).identity(credentials)
    return f"{platform}:{value}" if value else None


def identity_key(box: CredentialBox, platform: str, credentials: dict[str, str]) -> str | None:
    identity = identity_of(platform, credentials)
    return box.identity_key(identity) if identity else None


def taken() -> ApiError:
    return ApiError(409, "该平台账号（AppID、UID、open_id 或城市App）已登记在系统中的另一个账号下，"
                         "不能重复登记 (this platform identity is already registered to another "
                         "account)", code="identity_taken", details={"field": "credentials"})


def require_free(session: Session, key: str | None, *, account_id: str | None = None) -> None:
    """409 unless no account other than ``account_id`` holds ``key``."""
    if key is None:
        return
    query = select(Account.id).where(Account.identity_key == key)
    if account_id is not None:
        query = query.where(Account.id != account_id)
    if session.execute(query.limit(1)).first():
        raise taken()


def holders(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """identity key -> id of the account holding it, for those held."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = session.execute(select(Account.identity_key, Account.id).where(
            Account.identity_key.in_(wanted[start:start + _CHUNK])))
        found.update({key: account_id for key, account_id in rows if key is not None})
    return found


def backfill(session: Session, box: CredentialBox) -> int:
    """Give accounts registered before identities were kept their key; returns how many got
    one. When two already share an identity the older keeps it and the other is flagged (no
    sends) until an admin corrects its credentials."""
    rows = session.execute(select(Account).where(Account.identity_key.is_(None))
                           .order_by(Account.created_at, Account.id)).scalars().all()
    if not rows:
        return 0
    held = set(session.execute(select(Account.identity_key)
                               .where(Account.identity_key.is_not(None))).scalars())
    given = 0
    for account in rows:
        try:
            credentials = box.open(account.credentials_sealed, bound_to=account.id)
        except CredentialError:
            continue  # unreadable credentials cannot send anything either
        key = identity_key(box, account.platform, credentials)
        if key is None:
            continue
        if key in held:
            if account.flagged_reason != DUPLICATE_FLAG:
                account.flagged_reason, account.flagged_at = DUPLICATE_FLAG, utcnow()
            continue
        account.identity_key = key
        held.add(key)
        given += 1
    session.flush()
    return given
