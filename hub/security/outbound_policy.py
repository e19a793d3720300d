"""The outbound policy as configured, and the checks of account URLs when they are written.

Connections are checked again when they are made (adapters/outbound.py): what is written here
is refused early with a 422 that names the field, what DNS says is known only at connect time.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from adapters.outbound import OutboundPolicy, hosts_of, parse_allow

from ..errors import ApiError, invalid
from ..infra.config import Settings
from ..platforms import names as platform_names
from ..platforms import spec as platform_spec
from ..platforms import specs as platform_specs

if TYPE_CHECKING:
    from ..infra.crypto import CredentialBox
    from ..models import Account
    from ..services.accounts import AccountSpec
    from .auth import Principal


def url_credentials() -> tuple[str, ...]:
    """Credential keys that are URLs the workers call (``url`` in a platform's spec)."""
    return tuple(sorted({f.name for declared in platform_specs().values()
                         for f in declared.credentials if f.url}))


def outbound_fields() -> tuple[str, ...]:
    """Every account field that makes the hub or a worker send a request to where it points."""
    return ("api_base", *(f"credentials.{name}" for name in url_credentials()))


@cache
def policy_for(settings: Settings) -> OutboundPolicy:
    """Platforms with a configured API base (all but the city app) accept, as an account's
    api_base, the hosts of YUNCHU_PLATFORM_HOSTS and of the configured bases."""
    fixed = [p for p in platform_names() if settings.api_base(p)]
    hosts = frozenset(e.host for e in parse_allow(settings.platform_hosts)) | hosts_of(
        settings.api_base(p) for p in fixed)
    return OutboundPolicy(allow=parse_allow(settings.outbound_allow),
                          platform_hosts={p: hosts for p in fixed})


def check_account_urls(policy: OutboundPolicy, spec: AccountSpec, where: str = "") -> None:
    """422 naming the field when the spec's api_base or webhook_url may not be called."""
    for name, value in outbound_values(spec).items():
        platform = spec.platform if name == "api_base" else None
        refusal = policy.url_refusal(platform, value)
        if refusal is not None:
            raise _refused(f"{where}.{name}" if where else name, refusal, spec.platform)


def _refused(field: str, refusal: str, platform: str) -> ApiError:
    if refusal == "not_platform_host":
        return invalid(field, f"{field} 必须是{platform}平台的官方接口主机 ({field} must name "
                              f"one of the platform's API hosts)", reason=refusal)
    if refusal == "private_address":
        return invalid(field, f"{field} 指向内网、本机或元数据地址，不允许；确需使用请由运维在 "
                              f"YUNCHU_OUTBOUND_ALLOW 中登记该主机 ({field} points at a private, "
                              f"loopback or metadata address; an operator may name the host in "
                              f"YUNCHU_OUTBOUND_ALLOW)", reason=refusal)
    return invalid(field, f"{field} 必须是 http(s) 地址 ({field} must be an http(s) URL)",
                   reason=refusal)


def outbound_values(spec: AccountSpec) -> dict[str, str]:
    """The outbound URLs a spec sets: field -> URL (no trailing slash)."""
    values = {}
    if spec.api_base:
        values["api_base"] = spec.api_base.rstrip("/")
    for name in url_credentials():
        url = (spec.credentials or {}).get(name)
        if url:
            values[f"credentials.{name}"] = url.strip().rstrip("/")
    return values


def stored_values(box: CredentialBox, account: Account) -> dict[str, str]:
    """The same for an account as stored."""
    values = {}
    if account.api_base:
        values["api_base"] = account.api_base.rstrip("/")
    urls = [f.name for f in platform_spec(account.platform).credentials if f.url]
    if urls and account.credentials_sealed:
        try:
            credentials = box.open(account.credentials_sealed, bound_to=account.id)
        except Exception:  # noqa: BLE001 - unreadable credentials: any URL is a change
            credentials = {}
        for name in urls:
            if credentials.get(name):
                values[f"credentials.{name}"] = credentials[name].strip().rstrip("/")
    return values


def changed_fields(spec: AccountSpec, stored: dict[str, str]) -> list[str]:
    return [name for name, value in outbound_values(spec).items() if stored.get(name) != value]


def may_set_outbound(principal: Principal) -> bool:
    """Pointing an account somewhere else is the province's call: a lower admin could aim
    another org's credentials, or the workers, at a host of their choosing."""
    return principal.has("admin") and principal.province_wide


def require_outbound_right(principal: Principal, fields: Iterable[str], where: str = "") -> None:
    """403 (the API's error shape) unless the caller may change these outbound fields."""
    fields = list(fields)
    if not fields or may_set_outbound(principal):
        return
    field = f"{where}.{fields[0]}" if where else fields[0]
    details: dict[str, Any] = {"action": "account.outbound", "field": field}
    raise ApiError(403, "只有省级管理员可以设置或修改账号的接口地址 api_base 和城市客户端接收地址 "
                        "webhook_url (only a province admin may set an account's api_base or "
                        "webhook_url)", details=details)
