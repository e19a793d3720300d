"""Comments the city app's backend sends the hub: ``POST /callbacks/cityapp/<account id>``
(docs/platforms/cityapp.md, "Comments from the app").

The webhook contract the hub uses towards the app, the other way round: Standard Webhooks
headers (``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` = ``v1,<base64
HMAC-SHA256(key, id.timestamp.body)>``) signed with the account's own ``signing_secret``
(either one while it rotates), a timestamp within 300 s, each ``webhook-id`` acted on once.
The body: ``{"type": "comment.created", "timestamp", "data": {"comment_id", "article_id",
"user_id", "nickname"?, "content", "created_at" (RFC 3339), "reply_to"?}}``. The comment is
stored under the yunchu story it names (``article_id``, any revision) in its thread (the
comment it replies to, else its own); a story yunchu did not publish there is 404
``unknown_article``. Answers 200 ``{"status": "accepted" | "duplicate" | "ignored"}``.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from flask import abort, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from adapters.base import AdapterError, RemoteComment
from adapters.cityapp import decode_secret, sign

from ..errors import ApiError, bad_request, not_found
from ..models import Account, Delivery
from ..services.interaction.store import Place, is_duplicate, take_comments
from .api.common import rt
from .callbacks import MAX_CLOCK_SKEW_S, REPLAY_MEMORY_S, SEEN_PREFIX

log = logging.getLogger("yunchu.cityapp.comments")

MAX_BODY_BYTES = 64 * 1024
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def comment_event(account_id: str):
    if request.method != "POST":
        abort(405)
    runtime = rt()
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"请求过大 (body larger than {MAX_BODY_BYTES} bytes)")
    account = _account(runtime, account_id)
    msg_id = _verified(runtime, account_id, body)
    try:
        event = json.loads(body)
    except ValueError:
        raise bad_request("请求体不是合法JSON (body is not valid JSON)") from None
    if not isinstance(event, dict) or event.get("type") != "comment.created":
        return jsonify({"status": "ignored"})
    comment, article_id = _comment(event.get("data"))
    seen = f"{SEEN_PREFIX}cityapp:{account_id}:{msg_id[:80]}"
    if not runtime.redis.set(seen, b"1", nx=True, ex=REPLAY_MEMORY_S):
        return jsonify({"status": "duplicate"})
    try:
        stored = _store(runtime, account, article_id, comment)
    except Exception:
        runtime.redis.delete(seen)  # not stored: the app's resend must count
        raise
    return jsonify({"status": "accepted" if stored else "duplicate"})


def _account(runtime: Any, account_id: str) -> Account:
    with runtime.db.session() as session:
        account = session.get(Account, account_id)
        if account is None or account.platform != "cityapp":
            raise not_found("账号", account_id)
        session.expunge(account)
    return account


def _verified(runtime: Any, account_id: str, body: bytes) -> str:
    headers = request.headers
    if any(not headers.get(name) for name in HEADERS):
        raise bad_request("缺少 webhook 签名头 (webhook-id, webhook-timestamp and "
                          "webhook-signature are required)")
    msg_id = headers["webhook-id"]
    try:
        timestamp = int(headers["webhook-timestamp"])
    except ValueError:
        raise bad_request("webhook-timestamp 不是整数 (webhook-timestamp is not an "
                          "integer)") from None
    if abs(time.time() - timestamp) > MAX_CLOCK_SKEW_S:
        raise ApiError(400, "请求时间戳过期 (timestamp too old or in the future)",
                       code="stale_timestamp")
    keys = []
    with runtime.db.session() as session:
        sealed = session.scalar(select(Account.credentials_sealed).where(
            Account.id == account_id))
    try:
        credentials = runtime.box.open(sealed, bound_to=account_id)
        keys = [decode_secret(part) for part in
                str(credentials.get("signing_secret", "")).split()]
    except (AdapterError, Exception):  # noqa: BLE001 - unreadable: nothing verifies
        log.warning("signing secret of account %s cannot be read; comments refused",
                    account_id)
    offered = headers["webhook-signature"].split()
    expected = sign(keys, msg_id, timestamp, body).split() if keys else []
    if not any(hmac.compare_digest(o.encode(), e.encode()) for o in offered for e in expected):
        raise ApiError(401, "签名校验失败 (signature does not match)", code="bad_signature")
    return msg_id


def _comment(data: Any) -> tuple[RemoteComment, str]:
    if not isinstance(data, dict):
        raise bad_request("缺少 data (data is required)")
    fields = {name: data.get(name) for name in ("comment_id", "article_id", "user_id",
                                                "content")}
    missing = [name for name, value in fields.items() if not isinstance(value, str | int)
               or str(value) == ""]
    if missing:
        raise ApiError(422, f"缺少字段 {', '.join(missing)} (missing fields)",
                       code="invalid_comment")
    try:
        at = datetime.fromisoformat(str(data.get("created_at"))).astimezone(UTC)
    except (TypeError, ValueError):
        at = datetime.now(UTC)
    comment_id = str(fields["comment_id"])[:200]
    parent = str(data.get("reply_to") or "")[:200]
    nickname = data.get("nickname")
    return RemoteComment(
        remote_id=comment_id, thread_id=parent or comment_id, comment_id=comment_id,
        text=str(fields["content"])[:5000], created_at=at, user_id=str(fields["user_id"])[:200],
        author_name=str(nickname)[:200] if isinstance(nickname, str) else None,
    ), str(fields["article_id"])[:180]


def _store(runtime: Any, account: Account, article_id: str, comment: RemoteComment) -> bool:
    with runtime.db.session() as session:
        delivery = session.execute(select(Delivery.id, Delivery.item_id, Delivery.remote_id)
                                   .where(Delivery.account_id == account.id,
                                          Delivery.remote_id.like(f"{article_id}@%"))
                                   .order_by(Delivery.created_at.desc()).limit(1)).first()
    if delivery is None:
        raise ApiError(404, f"未找到该稿件 {article_id} (no story of yunchu's by that id on "
                            "this account)", code="unknown_article")
    place = Place(org_id=account.org_id, account_id=account.id, platform="cityapp",
                  delivery_id=delivery.id, item_id=delivery.item_id,
                  remote_post_id=article_id)
    try:
        with runtime.db.session() as session:
            return take_comments(session, place, [comment]).new_messages > 0
    except IntegrityError as err:
        if not is_duplicate(err):
            raise
        return False
