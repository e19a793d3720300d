"""What the hub knows about a platform, declared once by the platform's adapter module.

Every place that used to list the platforms (account validation and identity, rate budgets,
API-base settings and the README table, the admin's labels, the CLI, the seed, the sandbox
mounts, the event callbacks) reads it from the ``SPEC`` of each platform, collected by
``hub/platforms.py``. See docs/dev/platform-kit.md for adding a platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from adapters.base import Capabilities

NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,15}")  # accounts.platform is a String(16)

Credentials = Mapping[str, str]


@dataclass(frozen=True)
class CredentialField:
    """One key of an account's ``credentials`` object."""

    name: str
    required: bool = True
    secret: bool = True  # False: the value may be shown (an app id, a user id)
    # The value must match this (fullmatch) when given; ``hint`` is the 422 message then.
    pattern: str | None = None
    hint: str = ""
    # An http(s) URL the workers call: checked like an account's api_base when written.
    url: bool = False


@dataclass(frozen=True)
class Rate:
    """A rate budget: ``per_second`` sustained, ``burst`` at once."""

    per_second: float
    burst: int

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second


@dataclass(frozen=True)
class PlatformSpec:
    name: str  # accounts.platform, the sandbox mount /<name>, YUNCHU_<NAME>_API_BASE
    label_zh: str
    label_en: str
    channel: str  # "module:Class" of the renderer (channels/)
    adapter: str  # "module:Class" of the API client (adapters/)
    capabilities: Capabilities
    credentials: tuple[CredentialField, ...]
    # The account's identity on the platform as one comparable string ("" when unknown):
    # one identity, one account (hub/services/account_identity.py keeps an HMAC of it).
    identity: Callable[[Credentials], str]
    # The identity as shown (appid, uid, open_id…), not a secret; None when unknown.
    external_id: Callable[[Credentials], str | None]
    # Rate budgets per platform app (shared by the accounts of one app) and per account.
    app_budget: Rate
    account_budget: Rate
    # Credential keys naming the platform app an account belongs to, first present wins;
    # none: one app-wide budget for the platform.
    app_keys: tuple[str, ...] = ()
    # Default API base (YUNCHU_<NAME>_API_BASE overrides it); "" when every account brings its
    # own endpoint. ``api_hosts``: the hosts an account's own api_base may name.
    api_base: str = ""
    api_hosts: tuple[str, ...] = ()
    emulator: str | None = None  # the sandbox module, mounted at /<name>
    callback: str | None = None  # "module:view" serving /callbacks/<name>/<account id>
    # The seed (``yunchu seed``): share of the accounts, name word (default label_zh), and the
    # credentials of account ``index`` at the sandbox base URL.
    seed_share: float = 0.0
    seed_label: str = ""
    seed_credentials: Callable[[int, str], dict[str, str]] | None = None
    # When the emulator must be told an account first: (account, body) for the sandbox's
    # ``POST /_sandbox/accounts/<name>/<account>``.
    sandbox_account: Callable[[Credentials], tuple[str, dict[str, str]]] | None = None
    # "module:Class" of the reach client (adapters/reach.py: statistics and post listing);
    # None when the hub collects no figures from the platform.
    reach: str | None = None

    def __post_init__(self) -> None:
        if not NAME_RE.fullmatch(self.name):
            raise ValueError(f"platform name {self.name!r}: lowercase letters, digits, _ "
                             "(at most 16, a letter first)")

    @property
    def api_base_env(self) -> str:
        return f"YUNCHU_{self.name.upper()}_API_BASE"

    @property
    def required_credentials(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.credentials if f.required)

    def app_of(self, credentials: Credentials) -> str:
        """The platform app whose budget a call spends."""
        return next((credentials[k] for k in self.app_keys if credentials.get(k)), self.name)
