"""Where Weibo and Douyin send the account holder back after consent:
``GET /oauth/<platform>/callback?code=…&state=…`` (or ``error=…``). Public: the holder's
browser (often a phone) is not logged in to the hub; the ``state`` is the credential. The page
says what happened; the operator's 授权接入 page learns it by polling the attempt."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, render_template, request

from ..services.media_urls import public_base
from ..services.onboarding.oauth_flow import callback_url, complete
from ..services.onboarding.registry import OAUTH_EXCHANGES
from .public_headers import page_csp, protect

oauth_pages = Blueprint("oauth_pages", __name__, template_folder="templates")

REASONS = {
    "other_identity": "授权的不是要重新授权的那个账号，请用原账号登录后再授权。",
    "identity_taken": "该平台账号已由其他单位接入，不能重复接入。",
    "appkey_mismatch": "令牌不属于本系统的应用。",
    "account_gone": "要重新授权的账号已不存在。",
}


@oauth_pages.after_request
def _headers(response: Response) -> Response:
    # The URL carries a code and a state: never in a Referer, never in a cache.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return protect(response, page_csp(current_app.extensions["yunchu"].settings.public_url))


@oauth_pages.get("/oauth/<platform>/callback")
def oauth_callback(platform: str):
    exchange = OAUTH_EXCHANGES.get(platform)
    if exchange is None:
        return render_template("public/missing.html"), 404
    runtime = current_app.extensions["yunchu"]
    args = {k: v[:2000] for k, v in request.args.items() if isinstance(v, str)}
    outcome = complete(runtime, platform, args, exchange, callback_url(public_base(), platform))
    retry = f"{public_base()}/admin/orgs/{outcome.org_slug}/authorize" if outcome.org_slug \
        else None
    status = 400 if outcome.status == "invalid" else 200
    return render_template("public/authorized.html", outcome=outcome, retry_url=retry,
                           reason=REASONS.get(outcome.error or "", "平台没有给出可用的授权，请重试。")), status


_SECRET_PARAM = re.compile(r"([?&](?:code|state|auth_code)=)[^&\s\"]+")


def redact(text: str) -> str:
    """A request line with the one-time code and state of a callback blanked out."""
    return _SECRET_PARAM.sub(r"\1[redacted]", text) if "/oauth/" in text else text


class RedactCallbacks(logging.Filter):
    """The development server logs each request line, query included: not a callback's
    code and state."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_redaction(logger_name: str = "werkzeug") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactCallbacks) for f in logger.filters):
        logger.addFilter(RedactCallbacks())



