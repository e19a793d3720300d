"""Accounts whose authorisation does not stand (``Account.auth_state``) take no pushes: the
reason shown in a push's preview and result, and the machine code of the skipped delivery."""

from __future__ import annotations

REASONS = {
    "revoked": "授权已撤销，需重新扫码授权后再推送 (authorisation revoked; authorise again)",
    "expired": "授权已过期，需重新扫码授权后再推送 (authorisation expired; authorise again)",
    "insufficient": "权限不足，需管理员重新授权所需权限后再推送 (permissions insufficient; the "
                    "account must grant what publishing needs)",
}


def blocked(auth_state: str | None) -> bool:
    return bool(auth_state) and auth_state != "authorized"


def skip_code(auth_state: str) -> str:
    return f"auth_{auth_state}"


def reason(auth_state: str, detail: str | None = None) -> str:
    text = REASONS.get(auth_state, f"授权状态为 {auth_state} (authorisation {auth_state})")
    return f"{text}: {detail}" if detail else text
