"""One settings object, read from ``YUNCHU_*`` environment variables and validated at start.

With nothing set, everything points into a data directory: a SQLite file, a local object
store and an embedded Redis-compatible server, so ``yunchu up`` works on a bare machine.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from ..platforms import specs as platform_specs
from .private_files import private_dir, private_file, write_new_private


class ConfigError(ValueError):
    """A setting is present but unusable; the message names the variable."""


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, raw: str, *, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def _cookie_mode(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value == "auto":
        return value
    try:
        return "on" if _flag(name, value) else "off"
    except ConfigError:
        raise ConfigError(f"{name} must be auto, on or off, not {raw!r}") from None


def _allow_list(name: str, raw: str) -> None:
    from adapters.outbound import parse_allow

    try:
        parse_allow(raw)
    except ValueError as err:
        raise ConfigError(f"{name}: {err}") from None


def _component_list(name: str, raw: str, *, pairs: bool) -> None:
    from adapters.wechat_component import parse_codes, parse_funcsets

    try:
        parse_funcsets(raw) if pairs else parse_codes(raw)
    except ValueError as err:
        raise ConfigError(f"{name}: {err}") from None


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ConfigError(f"{name} must be a URL starting with {' or '.join(schemes)}://")
    return raw.rstrip("/") if parts.scheme.startswith("http") else raw


def default_platform_hosts() -> str:
    """The API hosts the platforms' specs declare (WeChat's regional and fail-over hosts too)."""
    return ",".join(host for spec in platform_specs().values() for host in spec.api_hosts)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = ""  # empty: start an embedded server
    s3_endpoint: str = ""  # empty: local-directory store
    s3_access_key: str = field(default="", repr=False)
    s3_secret_key: str = field(default="", repr=False)
    s3_bucket: str = "yunchu"
    s3_secure: bool = False
    secret_key: str = field(default="", repr=False)
    audit_key: str = field(default="", repr=False)  # empty: derived from secret_key
    bootstrap_token: str = field(default="", repr=False)
    workers: int = 2
    public_url: str = ""
    # (platform, base) read from YUNCHU_<PLATFORM>_API_BASE, for platforms whose spec has a
    # default API base; the others use the spec's default (``api_base``).
    api_bases: tuple[tuple[str, str], ...] = ()
    # Hosts an account's own api_base may name (besides the hosts of the API bases).
    platform_hosts: str = field(default_factory=default_platform_hosts)
    # Loopback/private hosts ("host" or "host:port", comma-separated) the hub may call: a
    # sandbox, a gateway inside the network. Nothing by default.
    outbound_allow: str = ""
    max_upload_bytes: int = 200 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    max_bulk_json_bytes: int = 64 * 1024 * 1024
    max_image_pixels: int = 64_000_000
    # 400, not 200: half the jobs, claims and accounts reads per post; a 10,000-account
    # withdrawal cost the workers 13 % less CPU and PostgreSQL 8 % less (bench/results/2026-12-04b).
    batch_size: int = 400
    concurrency: int = 300
    # A claim lasts this long unless its worker renews it (its heartbeat does, every third
    # of it, whatever the platform's latency): a worker that stops beating loses its claims.
    lease_s: int = 15
    # A worker's Redis alive key lives this long and is refreshed every third of it; once it
    # is gone, the next sweep re-drives the worker's claims without waiting for the lease.
    worker_alive_s: float = 3.0
    reconcile_interval_s: float = 1.0
    http_timeout_s: float = 15.0
    retry_base_s: float = 2.0  # first retry of a failed publish waits up to this long
    retry_cap_s: float = 900.0  # no retry waits longer than this
    retry_max_attempts: int = 8  # then the delivery fails with the last reason
    # Transient errors (``hub.fanout.vocabulary.Cause``: 5xx, busy, timeouts, rate limits) are
    # retried for this long from the first one, however many attempts that takes; the
    # attempt limit above counts only the other errors.
    transient_retry_s: float = 3600.0
    # Claims lost with a dead worker count apart (a crash says nothing about the platform);
    # this many, and a lookup that finds no post, fail the delivery; a withdrawal gets a
    # manual task instead and keeps retrying.
    interrupted_max: int = 30
    # Reverse proxies in front of the hub whose X-Forwarded-For/-Proto are trusted (ProxyFix).
    proxy_hops: int = 0
    secure_cookies: str = "auto"  # auto | on | off
    # A push or withdrawal in the admin reaching this many accounts asks the operator to type
    # the number to confirm it.
    confirm_threshold: int = 100
    # The hub as a WeChat 第三方平台 (component): its identity on the open platform. Empty
    # appid: accounts can only be connected with their own AppSecret.
    wechat_component_appid: str = ""
    wechat_component_secret: str = field(default="", repr=False)
    wechat_component_token: str = field(default="", repr=False)  # 消息校验Token
    wechat_component_aes_key: str = field(default="", repr=False)  # 消息加解密Key
    # Where the authorisation pages live (componentloginpage, bindcomponent).
    wechat_component_login_base: str = "https://mp.weixin.qq.com"
    # Pre-auth codes: 0 trusts the platform's expires_in; otherwise the attempt ends after at
    # most this many seconds (the documented lifetime is 600 s in one place, 1800 s in another).
    wechat_component_preauth_ttl_s: int = 0
    # Func-set ids each capability needs, "capability=id+id,…" (which set gates which API is
    # stated per API page; defaults follow the published pages the hub relies on).
    wechat_component_funcsets: str = "publish=7+11,delete=7,statistics=7,comments=7"
    # Codes a business call answers once the account's admin cancelled the authorisation
    # (documented only for the token endpoint: 61003); 40001/40014/42001 are retried with a
    # refreshed token first, whose refusal then tells.
    wechat_component_revoked_codes: str = "61003"
    # --- Accounts connected by OAuth (扫码授权, docs/platforms/weibo.md, douyin.md) ---
    # The hub's own apps on the open platforms; empty: that platform cannot be connected.
    weibo_app_key: str = ""
    weibo_app_secret: str = field(default="", repr=False)
    weibo_scope: str = ""  # comma list asked for on the consent page ("" = the default grant)
    douyin_client_key: str = ""
    douyin_client_secret: str = field(default="", repr=False)
    # Required scopes (locked on the consent page) and optional ones ("scope,1|0" pairs).
    douyin_scopes: str = "user_info,video.create.bind"
    douyin_optional_scopes: str = "video.delete,1,renew_refresh_token,1"
    oauth_attempt_ttl_s: int = 600  # how long a started 扫码授权 waits for the holder
    auth_expiring_days: int = 7  # "expiring" (即将过期) in lists, filters and the dashboard
    auth_remind_days: int = 14  # an operator task this long before access stops
    auth_refresh_interval_s: int = 3600  # the refresher runs this often (maintenance queue)
    auth_refresh_batch: int = 100  # accounts per refresher batch
    reach_interval_s: int = 3600  # reach collection starts this often (maintenance queue); 0: off
    reach_batch: int = 100  # accounts per reach collection job
    reach_concurrency: int = 16  # accounts collected at once by one job
    # --- Interaction intake (comments and messages, docs/platforms/interaction.md) ---
    intake_interval_s: int = 60  # how often due comment polls are planned (maintenance queue)
    intake_batch: int = 50  # posts per intake job
    intake_concurrency: int = 8  # posts one intake job reads at once
    intake_max_age_days: int = 30  # posts older than this are not polled any more
    intake_poll_min_s: int = 600  # a fresh post with new comments is polled this often
    intake_poll_max_s: int = 86400  # a quiet post backs off to this
    intake_pages: int = 5  # comment pages read per post per poll (the rest next time)
    # A ranking period's rollup still within reach of collection is rebuilt when this old.
    reach_rollup_max_age_s: int = 900

    @property
    def redis_embedded(self) -> bool:
        return not self.redis_url

    def api_base(self, platform: str) -> str:
        """The platform's API base ("" when every account brings its own endpoint)."""
        configured = dict(self.api_bases).get(platform)
        if configured:
            return configured
        spec = platform_specs().get(platform)
        return spec.api_base if spec else ""

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)


_ENV_FIELDS = {f.name: f"YUNCHU_{f.name.upper()}" for f in fields(Settings)
               if f.name != "api_bases"}


def _api_bases(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((spec.name, _url(spec.api_base_env, env[spec.api_base_env], ("http", "https")))
                 for spec in platform_specs().values()
                 if spec.api_base and spec.api_base_env in env)


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from the environment; raise ConfigError naming the bad variable."""
    env = os.environ if env is None else env
    raw = {name: env[var] for name, var in _ENV_FIELDS.items() if var in env}
    values: dict[str, object] = {}
    for name, value in raw.items():
        var = _ENV_FIELDS[name]
        if name == "data_dir":
            values[name] = Path(value)
        elif name in {"s3_secure"}:
            values[name] = _flag(var, value)
        elif name == "proxy_hops":
            values[name] = _int(var, value, minimum=0)
        elif name == "secure_cookies":
            values[name] = _cookie_mode(var, value)
        elif name in {"workers", "max_upload_bytes", "max_json_bytes",
                      "max_bulk_json_bytes", "max_image_pixels", "batch_size",
                      "concurrency", "lease_s", "retry_max_attempts", "interrupted_max",
                      "confirm_threshold", "oauth_attempt_ttl_s", "auth_expiring_days",
                      "auth_remind_days", "auth_refresh_interval_s", "auth_refresh_batch",
                      "reach_batch", "reach_concurrency",
                      "intake_interval_s", "intake_batch", "intake_concurrency",
                      "intake_max_age_days", "intake_poll_min_s", "intake_poll_max_s",
                      "intake_pages", "reach_rollup_max_age_s"}:
            values[name] = _int(var, value, minimum=0 if name == "workers" else 1)
        elif name in {"wechat_component_preauth_ttl_s", "reach_interval_s"}:
            values[name] = _int(var, value, minimum=0)
        elif name == "wechat_component_login_base":
            values[name] = _url(var, value, ("http", "https"))
        elif name in {"wechat_component_funcsets", "wechat_component_revoked_codes"}:
            _component_list(var, value, pairs=name == "wechat_component_funcsets")
            values[name] = value
        elif name in ("reconcile_interval_s", "http_timeout_s", "retry_base_s", "retry_cap_s",
                      "worker_alive_s", "transient_retry_s"):
            try:
                seconds = float(value)
            except ValueError:
                raise ConfigError(f"{var} must be a number of seconds") from None
            if name == "worker_alive_s" and not seconds > 0:
                raise ConfigError(f"{var} must be more than 0 seconds")
            values[name] = seconds
        elif name == "database_url":
            values[name] = _url(var, value, ("postgresql", "postgres", "sqlite",
                                             "postgresql+psycopg"))
        elif name == "redis_url":
            values[name] = _url(var, value, ("redis", "rediss", "unix"))
        elif name == "public_url":
            values[name] = _url(var, value, ("http", "https"))
        else:
            values[name] = value
    values["api_bases"] = _api_bases(env)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"])  # type: ignore[arg-type]
    settings = Settings(**values)  # type: ignore[arg-type]
    for name in ("outbound_allow", "platform_hosts"):
        _allow_list(_ENV_FIELDS[name], getattr(settings, name))
    component = (settings.wechat_component_appid, settings.wechat_component_secret,
                 settings.wechat_component_token, settings.wechat_component_aes_key)
    if any(component) and not all(component):
        raise ConfigError("YUNCHU_WECHAT_COMPONENT_APPID, _SECRET, _TOKEN and _AES_KEY are "
                          "needed together")
    if settings.wechat_component_aes_key:
        from adapters.wechat_crypto import AES_KEY_RE

        if not AES_KEY_RE.fullmatch(settings.wechat_component_aes_key):
            raise ConfigError("YUNCHU_WECHAT_COMPONENT_AES_KEY must be the 43-character "
                              "EncodingAESKey")
    if settings.s3_endpoint and not (settings.s3_access_key and settings.s3_secret_key):
        raise ConfigError("YUNCHU_S3_ENDPOINT is set: YUNCHU_S3_ACCESS_KEY and "
                          "YUNCHU_S3_SECRET_KEY are required too")
    return _with_defaults(settings)


def _with_defaults(settings: Settings) -> Settings:
    data_dir = settings.data_dir.resolve()
    changes: dict[str, object] = {"data_dir": data_dir}
    if not settings.database_url or not settings.secret_key:
        private_dir(data_dir)  # it will hold the database or the key: owner-only when new
    if not settings.database_url:
        changes["database_url"] = f"sqlite:///{data_dir / 'yunchu.db'}"
    if not settings.secret_key:
        changes["secret_key"] = _persistent_secret(data_dir / "secret.key")
    return replace(settings, **changes)


def _persistent_secret(path: Path) -> str:
    """A key generated once into the data dir, readable only by its owner."""
    if path.exists():
        private_file(path)
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    write_new_private(path, key)
    return key
