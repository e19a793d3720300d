"""Authorisation events WeChat pushes to the 授权事件接收URL, once verified and decrypted
(hub/web/wechat_component.py): the ticket, and authorisations given, changed and cancelled."""

from __future__ import annotations

import logging
from typing import Any

from ...infra.runtime import Runtime
from . import grants, tickets

log = logging.getLogger("yunchu.wechat.component")


def handle(runtime: Runtime, event: dict[str, Any]) -> str:
    """Act on one event; returns its InfoType (for the log)."""
    kind = event.get("InfoType") or ""
    if kind == "component_verify_ticket":
        ticket = event.get("ComponentVerifyTicket") or ""
        if ticket:
            with runtime.db.session() as session:
                tickets.store(session, runtime.box, ticket)
    elif kind in ("authorized", "updateauthorized"):
        code = event.get("AuthorizationCode") or ""
        if code:
            grants.complete(runtime, code, pushed=True,
                            pre_auth_code=event.get("PreAuthCode") or None)
    elif kind == "unauthorized":
        appid = event.get("AuthorizerAppid") or ""
        if appid and grants.revoke(runtime, appid) is None:
            log.info("unauthorized event for an appid no component account holds")
    else:
        log.info("component event %s ignored", kind[:40])
    return kind
