"""The OAuth callback, the same for every platform that sends the holder back with a
``state`` and a ``code``: find the attempt by its state, claim it once (a replayed or
refreshed callback finds it taken and changes nothing), record a denial, exchange the code,
bind the account into the attempt's org. Each platform module supplies ``exchange``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ...models import Account, Authorization, Org, Task, utcnow
from ...security.audit import record
from . import attempts
from .base import NotConfigured
from .binding import BindRefused, Grant, bind
from .oauth_http import PlatformUnreachable

if TYPE_CHECKING:
    from ...infra.runtime import Runtime

log = logging.getLogger("yunchu.onboarding")
CALLBACK_PATH = "/oauth/{platform}/callback"
REMINDER_KIND = "reauthorize"  # the refresher's task asking the holder to authorise again


class GrantFailed(Exception):
    """The platform did not give a usable grant; the message is a short code, never a token."""


def number(value: Any) -> int | None:
    """A lifetime the platform sent as a number or a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def callback_url(public_base: str, platform: str) -> str:
    """Where a platform sends the holder back: fixed, without a query (Douyin refuses one)."""
    return public_base.rstrip("/") + CALLBACK_PATH.format(platform=platform)


@dataclass
class Outcome:
    status: str  # the attempt's status after this callback ("invalid": no such attempt)
    attempt_id: str | None = None
    org_slug: str | None = None
    account_id: str | None = None
    account_name: str | None = None
    error: str | None = None


__all__ = ["NotConfigured", "GrantFailed", "complete", "callback_url", "number"]

Exchange = Callable[["Runtime", str, str], Grant]


def complete(runtime: Runtime, platform: str, args: dict[str, str], exchange: Exchange,
             callback: str) -> Outcome:
    secret = args.get("state") or ""
    with runtime.db.session() as session:
        attempt = attempts.find(session, runtime.box, secret, platform) if secret else None
        if attempt is None:
            return Outcome("invalid")
        outcome = _outcome(session, attempt)
        if attempt.status != attempts.PENDING:
            return outcome  # replayed: the first callback acted
        if args.get("error") or not args.get("code"):
            if attempts.claim(session, attempt):
                reason = (args.get("error") or "no_code")[:60]
                attempts.finish(session, attempt, attempts.DENIED, error=reason)
                _audit(session, attempt, "denied")
            return _outcome(session, attempt)
        if not attempts.claim(session, attempt):
            return _outcome(session, attempt)
        attempt_id = attempt.id
    try:  # claimed and committed: a second callback now finds it taken
        grant: Grant | None = exchange(runtime, args["code"], callback)
        failure = None
    except (GrantFailed, PlatformUnreachable) as err:
        grant, failure = None, str(err) or type(err).__name__
    except Exception as err:  # noqa: BLE001 - the attempt must not stay claimed for good
        # Only the type: a platform's answer or a URL in the message could carry a token.
        log.error("completing %s authorisation %s failed: %s", platform, attempt_id,
                  type(err).__name__)
        grant, failure = None, "internal_error"
    with runtime.db.session() as session:
        attempt = session.get(Authorization, attempt_id)
        assert attempt is not None
        if grant is None:
            attempts.finish(session, attempt, attempts.FAILED, error=failure)
        else:
            try:
                with session.begin_nested():
                    account = bind(session, runtime.box, attempt, grant)
                attempts.finish(session, attempt, attempts.COMPLETED, account=account,
                                identity=account.external_id)
                _close_reminders(session, account.id)
            except BindRefused as refused:
                attempts.finish(session, attempt, attempts.FAILED, error=refused.code)
            except IntegrityError:  # the identity was bound concurrently elsewhere
                attempts.finish(session, attempt, attempts.FAILED, error="identity_taken")
        _audit(session, attempt, attempt.status)
        return _outcome(session, attempt)


def _close_reminders(session: Any, account_id: str) -> None:
    """The holder authorised again: the refresher's 重新授权 task is done."""
    now = utcnow()
    session.execute(update(Task).where(Task.account_id == account_id,
                                       Task.kind == REMINDER_KIND, Task.state == "open")
                    .values(state="done", done_at=now, note="已重新授权 (authorised again)")
                    .execution_options(synchronize_session=False))


def _outcome(session: Any, attempt: Authorization) -> Outcome:
    org = session.get(Org, attempt.org_id)
    name = None
    if attempt.account_id:
        account = session.get(Account, attempt.account_id)
        name = account.name if account else None
    return Outcome(attempt.status, attempt.id, org.slug if org else None, attempt.account_id,
                   name, attempt.error)


def _audit(session: Any, attempt: Authorization, outcome: str) -> None:
    record(session, "account.authorized", target=attempt.account_id, anonymous=True,
           actor_id=attempt.started_by, org_id=attempt.org_id,
           outcome="ok" if outcome == attempts.COMPLETED else "refused",
           details={"attempt": attempt.id, "platform": attempt.platform, "status": outcome,
                    **({"error": attempt.error} if attempt.error else {})})
