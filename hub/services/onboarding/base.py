"""What every platform's onboarding module gives the platform-neutral flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ...infra.runtime import Runtime
    from ...models import Account


@dataclass(frozen=True)
class Begun:
    """An attempt the platform knows about: ``secret`` correlates its return (the OAuth
    ``state`` or the WeChat ``pre_auth_code``; only its keyed hash is stored) and ``url`` is
    what the account holder opens (a consent page or an authorisation link); ``mobile_url``,
    when the platform has a phone variant, is what the hub's QR code carries instead."""

    secret: str
    url: str
    expires_in: int
    mobile_url: str | None = None


class NotConfigured(Exception):
    """The hub has no app on this platform (its settings are empty): a 422 to the caller."""


class StartFailed(Exception):
    """The platform could not be asked to start an attempt now (e.g. fetching a pre-auth
    code failed): a 502 to the caller; the message is a short reason, never a secret."""


class Starter(Protocol):
    def __call__(self, runtime: Runtime, *, callback_url: str,
                 account: Account | None) -> Begun:
        """Start an attempt; ``account`` is set when re-authorising that account.
        ``callback_url`` is ``<public URL>/oauth/<platform>/callback`` (a platform that comes
        back elsewhere ignores it). Raises NotConfigured or StartFailed."""
        ...
