"""Regenerate (or check) the README's configuration table from hub/infra/config.py.

    .venv/bin/python docs/config_table.py           # rewrite the table in README.md
    .venv/bin/python docs/config_table.py --check   # exit 1 if README.md is out of date

Every field of ``hub.infra.config.Settings`` is a ``YUNCHU_<FIELD>`` variable; a field without a
description below is an error, so a new setting cannot slip into the code undocumented. The
platforms' ``YUNCHU_<PLATFORM>_API_BASE`` rows come from their specs (``hub/platforms.py``).
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.infra.config import _ENV_FIELDS, Settings  # noqa: E402
from hub.platforms import specs  # noqa: E402

README = ROOT / "README.md"
START, END = "<!-- config-table:start -->", "<!-- config-table:end -->"

MEANINGS = {
    "data_dir": "Where the embedded defaults write: `yunchu.db` (SQLite), `secret.key`, "
                "`bootstrap.token`, `valkey/` (embedded Redis data), `objects/` (local store). "
                "`yunchu up --data-dir` overrides it.",
    "database_url": "`postgresql://user:pass@host/db` (the installed psycopg driver is picked), "
                    "`postgresql+psycopg://…` or `sqlite:///path`. Empty: "
                    "`sqlite:///<data dir>/yunchu.db`.",
    "redis_url": "`redis://`, `rediss://` or `unix://` URL of the RQ queues, rate budgets and "
                 "token cache. Empty: `yunchu up` starts an embedded valkey server; "
                 "`yunchu worker` refuses to start without it.",
    "s3_endpoint": "MinIO/S3 endpoint as `host:port` (no scheme). Empty: a local-directory "
                   "store under `<data dir>/objects`.",
    "s3_access_key": "MinIO access key; required when `YUNCHU_S3_ENDPOINT` is set.",
    "s3_secret_key": "MinIO secret key; required when `YUNCHU_S3_ENDPOINT` is set.",
    "s3_bucket": "Bucket for media and renditions (created on the first write if missing).",
    "s3_secure": "`true` to talk TLS to the endpoint (`true/false`, `1/0`, `yes/no`, `on/off`).",
    "secret_key": "Flask's `SECRET_KEY`, and the source of the AES-256-GCM key that encrypts platform "
                  "credentials at rest. Empty: generated once into `<data dir>/secret.key` "
                  "(mode 0600). Changing it makes stored credentials unreadable.",
    "audit_key": "Key of the audit log's HMAC chain and of its signed checkpoints (Redis and "
                 "`<data dir>/audit.checkpoint`). Empty: derived from `YUNCHU_SECRET_KEY` under "
                 "its own label. Keep it outside the database: whoever holds it can rewrite the "
                 "log undetected; `yunchu audit verify` needs the same key.",
    "bootstrap_token": "Token of the bootstrap admin that `yunchu up` registers. Empty: one is "
                       "generated into `<data dir>/bootstrap.token`. Also the CLI's default "
                       "token for `push`/`withdraw`.",
    "workers": "Fan-out worker processes `yunchu up` starts (0: none, run `yunchu worker` "
               "elsewhere).",
    "public_url": "Public base of item pages (`/p/<id>`) and media links that go out in posts "
                  "and feeds. "
                  "Empty: `yunchu up` uses `http://HOST:PORT`; set it in production.",
    "platform_hosts": "Comma-separated hosts an account's own `api_base` may name on a "
                      "platform with a fixed API (the hosts of the `*_API_BASE` settings and of "
                      "`YUNCHU_OUTBOUND_ALLOW` always may). Anything else is refused with a 422 "
                      "when written and not called when delivering. Default: the hosts the "
                      "platforms' specs declare.",
    "outbound_allow": "Comma-separated `host` or `host:port` (IPv6 as `[::1]:8900`) that the "
                      "hub and workers may call although they are loopback or private "
                      "(RFC 1918, CGNAT, ULA, link-local): a sandbox, a gateway inside the "
                      "network. Empty: only public addresses. Checked after DNS resolution on "
                      "every connection; cloud metadata addresses are refused even when named. "
                      "`yunchu demo`, `yunchu bench` and the tests name their sandbox here.",
    "max_upload_bytes": "Largest uploaded asset or import file (multipart; bytes, 413 above "
                        "it).",
    "max_json_bytes": "Largest JSON (or form) request body of any route but the uploads and "
                      "bulk imports: 413 above it, checked from Content-Length before reading "
                      "(a chunked body is cut off at the cap). Also: JSON nested past 64 levels, "
                      "or text with NUL or a lone surrogate, is a 422.",
    "max_bulk_json_bytes": "Largest JSON body of the authenticated routes whose lists run to "
                           "tens of thousands: org and account imports, push targets and "
                           "previews, matrices, safety term lists, item bodies; 413 above it.",
    "max_image_pixels": "Largest image (width × height) accepted: the decompression-bomb limit.",
    "confirm_threshold": "A push or a withdrawal in the admin UI always shows what it will do "
                         "and asks for confirmation; from this many accounts (deliveries) on, "
                         "the operator must type that number to confirm. The API's optional "
                         "`expected_total` field gives the same guarantee to scripts.",
    "batch_size": "Deliveries per RQ job (one platform per job), and per reconciler batch.",
    "concurrency": "Platform calls in flight per worker process, for pushes and for withdrawals each (withdrawals never wait behind pushes); a worker holds up to twice this many claimed deliveries.",
    "lease_s": "Seconds a worker's claim on a delivery lasts unless renewed; a live worker's "
               "heartbeat renews all its claims every third of it, whatever the platform's "
               "latency. An expired lease is re-driven by the reconciler (which looks for "
               "them every third of a lease) after asking the platform whether the post "
               "exists: the fallback when a worker's death cannot be seen sooner, e.g. Redis "
               "lost its keys.",
    "worker_alive_s": "Seconds a worker's Redis alive key (`yunchu:alive:<worker>`) lives; the "
                      "heartbeat refreshes it every third of it. Once it is gone the next sweep "
                      "re-drives that worker's claims without waiting for the lease; a worker "
                      "whose key may have run out sends no new posts. Raise it on hosts where "
                      "a process can stall longer (swap, long GC pauses).",
    "reconcile_interval_s": "Seconds between reconciler sweeps (dead workers, expired leases, "
                            "due retries, scheduled pushes, jobs lost from Redis). The sweep "
                            "lock lives two intervals (at least 2 s), so a dead sweeper holds "
                            "it no longer.",
    "http_timeout_s": "Total timeout of one platform API call, seconds (connect: at most 5 s).",
    "retry_base_s": "First retry of a failed publish waits up to this long (exponential "
                    "backoff with jitter).",
    "retry_cap_s": "No publish retry waits longer than this, seconds.",
    "retry_max_attempts": "Publish attempts before a delivery fails with its last reason, "
                          "counting only errors that are not transient. Claims lost with a "
                          "killed worker do not count.",
    "transient_retry_s": "Seconds a delivery keeps retrying transient errors (HTTP 5xx, the "
                         "platform busy, timeouts and broken connections, rate limits: "
                         "`hub/fanout/vocabulary.py` says which), from the first one, "
                         "however many attempts that takes (backoff up to "
                         "`YUNCHU_RETRY_CAP_S`); then a publish fails saying so (重试一小时后仍失败), "
                         "and a withdrawal also gets a manual task while its retries go on.",
    "interrupted_max": "Claims of one delivery lost with a killed worker before it fails "
                       "(after the platform confirms there is no post): ends a batch that "
                       "kills its worker every time. A withdrawal never fails: at this count "
                       "it also gets a manual task, and the retries go on.",
    "proxy_hops": "Reverse proxies in front of the hub (0: none, the peer is the client). With "
                  "N, the last N `X-Forwarded-For` / `X-Forwarded-Proto` entries are trusted "
                  "(werkzeug ProxyFix): login throttling and the audit log see the real client "
                  "address, and https through a TLS proxy counts as https. Each proxy must "
                  "append to `X-Forwarded-For` and set `X-Forwarded-Proto`; never set it "
                  "higher than the proxies there are (clients could then forge their address).",
    "secure_cookies": "`Secure` on the session and admin cookies: `auto` (on when the request "
                      "came over https, after `YUNCHU_PROXY_HOPS`, or `YUNCHU_PUBLIC_URL` is "
                      "https), `on` or `off`. Cookies are always HttpOnly; the session cookie is "
                      "SameSite=Strict, the others Lax.",
    "wechat_component_appid": "The hub's appid as a WeChat 第三方平台 (open platform component). "
                              "Empty: WeChat accounts connect only with their own AppSecret. "
                              "The four component settings go together "
                              "(docs/platforms/wechat.md, 第三方平台).",
    "wechat_component_secret": "The component's AppSecret (never logged or shown).",
    "wechat_component_token": "The component's 消息校验Token, which signs the authorisation "
                              "events pushed to `<hub>/wechat/component/events`.",
    "wechat_component_aes_key": "The component's 消息加解密Key (EncodingAESKey, 43 characters) "
                                "of those events.",
    "wechat_component_login_base": "Where WeChat's authorisation page (componentloginpage) "
                                   "lives; a sandbox in tests.",
    "wechat_component_preauth_ttl_s": "0: an authorisation attempt lasts as long as WeChat's "
                                      "`expires_in` for its pre-auth code; otherwise at most "
                                      "this many seconds.",
    "wechat_component_funcsets": "Func-set (权限集) ids each capability needs, "
                                 "`capability=id+id,…` over publish, delete, statistics and "
                                 "comments; an account granting less is marked 权限不足 for it.",
    "wechat_component_revoked_codes": "Error codes a business call for an authorised account "
                                      "answers once its admin cancelled (comma-separated): the "
                                      "account is then marked revoked.",
    "weibo_app_key": "The hub's Weibo app (AppKey) that accounts authorise by 扫码授权 "
                     "(`client_id`). Empty: Weibo accounts can only be added with pasted tokens.",
    "weibo_app_secret": "That app's AppSecret (used server-side for the code exchange only).",
    "weibo_scope": "Comma-separated scopes asked for on Weibo's consent page (empty: the "
                   "app's default grant, which covers posting).",
    "douyin_client_key": "The hub's Douyin app (`client_key`) that accounts authorise by "
                         "扫码授权. Empty: Douyin accounts can only be added with pasted tokens.",
    "douyin_client_secret": "That app's `client_secret` (code exchange only; refreshing "
                            "needs none).",
    "douyin_scopes": "Scopes every Douyin authorisation must carry (locked on the consent "
                     "page); an account granted fewer than `video.create.bind` is "
                     "`insufficient` and is not pushed to.",
    "douyin_optional_scopes": "Optional Douyin scopes as `scope,1|0` pairs (1: pre-ticked), "
                              "the consent page's `optionalScope`.",
    "oauth_attempt_ttl_s": "Seconds a started 扫码授权 waits for the account holder (its "
                           "`state` dies with it).",
    "auth_expiring_days": "An authorisation whose access stops within this many days is "
                          "`expiring` (即将过期) in the account list, its filter and the "
                          "dashboard.",
    "auth_remind_days": "The refresher opens an operator task (重新授权) this many days before "
                        "an account's access stops for good (Weibo token expiry, the end of a "
                        "Douyin refresh chain).",
    "auth_refresh_interval_s": "Seconds between refresher runs (one at a time across hosts, "
                               "on the maintenance queue).",
    "auth_refresh_batch": "Accounts the refresher handles per batch (a short random pause "
                          "between batches spreads the calls).",
    "reach_interval_s": "Seconds between reach collections (platform statistics and post "
                        "listings, on the maintenance queue; each account is asked only for "
                        "what is new or still provisional); 0 turns collection off.",
    "reach_batch": "Accounts per reach collection job.",
    "reach_concurrency": "Accounts one reach collection job collects at once (its calls also "
                         "wait for the reach rate budget, `YUNCHU_REACH_RATE_<PLATFORM>_APP` / "
                         "`_ACCOUNT`, separate from fan-out's).",
    "intake_interval_s": "Seconds between plans of comment intake (which posts' comments are "
                         "due; jobs on the maintenance queue).",
    "intake_batch": "Posts per comment-intake job.",
    "intake_concurrency": "Posts one intake job reads at once.",
    "intake_max_age_days": "Posts older than this many days are not polled for comments.",
    "intake_poll_min_s": "A post with new comments is polled again after this many seconds.",
    "intake_poll_max_s": "A quiet post's poll interval doubles up to this many seconds.",
    "intake_pages": "Comment pages read per post per poll (the rest at the next poll).",
    "reach_rollup_max_age_s": "Seconds a ranking period's rollup (per-account, per-item and "
                              "hot-post totals) is used before a ranking rebuilds it, while the "
                              "period's posts may still gain figures; older periods keep theirs.",
}


def _default(f) -> str:
    value = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
    mebibytes = {"max_upload_bytes": 200, "max_json_bytes": 1, "max_bulk_json_bytes": 64}
    if f.name in mebibytes:
        size = mebibytes[f.name]
        return f"`{value}` ({size} MiB)" if value == size * 1024 * 1024 else f"`{value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "(empty)"
    return f"`{value}`"


def api_base_rows() -> list[str]:
    """One ``YUNCHU_<PLATFORM>_API_BASE`` per platform with a fixed API, from its spec."""
    return [f"| `{spec.api_base_env}` | `{spec.api_base}` | {spec.label_en} API base (point it "
            f"at a sandbox: `http://127.0.0.1:8900/{spec.name}`). An account's own `api_base` "
            f"wins. |" for spec in specs().values() if spec.api_base]


def table() -> str:
    missing = [f.name for f in fields(Settings) if f.name not in MEANINGS and f.name != "api_bases"]
    if missing:
        raise SystemExit(f"docs/config_table.py: describe these settings: {', '.join(missing)}")
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        if f.name == "api_bases":
            rows += api_base_rows()
        else:
            rows.append(f"| `{_ENV_FIELDS[f.name]}` | {_default(f)} | {MEANINGS[f.name]} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"README.md lacks the {START} … {END} markers")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    updated = f"{head}{START}\n{table()}\n{END}{tail}"
    if "--check" in argv:
        if updated != text:
            print("README.md configuration table is out of date: run docs/config_table.py")
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
