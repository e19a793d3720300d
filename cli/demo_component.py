"""`yunchu demo`'s hub as a WeChat 第三方平台 of its own sandbox, so that 授权接入 › 微信公众号
works in the demo: an identity made up for the run, registered at the sandbox the way an
operator registers it at WeChat — the hub's event URL as 授权事件接收URL and the hub's host as
授权发起页域名 (the consent page refuses links opened from anywhere else)."""

from __future__ import annotations

import base64
import json
import secrets
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DemoComponent:
    wechat_base: str  # the sandbox's WeChat: API and consent pages
    appid: str = field(default_factory=lambda: "wxdemo" + secrets.token_hex(6))
    secret: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    token: str = field(default_factory=lambda: secrets.token_hex(8), repr=False)
    aes_key: str = field(repr=False, default_factory=lambda: base64.b64encode(
        secrets.token_bytes(32)).decode().rstrip("="))

    @classmethod
    def of_sandbox(cls, sandbox_url: str) -> DemoComponent:
        return cls(wechat_base=f"{sandbox_url.rstrip('/')}/wechat")

    def settings(self) -> dict[str, object]:
        """``load_settings`` overrides of the hub."""
        return {"wechat_component_appid": self.appid, "wechat_component_secret": self.secret,
                "wechat_component_token": self.token, "wechat_component_aes_key": self.aes_key,
                "wechat_component_login_base": self.wechat_base,
                "api_bases": (("wechat", self.wechat_base),)}

    def env(self) -> dict[str, str]:
        """The same for the workers' environment."""
        return {"YUNCHU_WECHAT_COMPONENT_APPID": self.appid,
                "YUNCHU_WECHAT_COMPONENT_SECRET": self.secret,
                "YUNCHU_WECHAT_COMPONENT_TOKEN": self.token,
                "YUNCHU_WECHAT_COMPONENT_AES_KEY": self.aes_key,
                "YUNCHU_WECHAT_COMPONENT_LOGIN_BASE": self.wechat_base,
                "YUNCHU_WECHAT_API_BASE": self.wechat_base}

    def register(self, hub_url: str) -> bool:
        """Register at the sandbox once the hub listens (the first ticket is pushed at once);
        True when the hub took the ticket."""
        body = {"secret": self.secret, "token": self.token, "aes_key": self.aes_key,
                "event_url": f"{hub_url.rstrip('/')}/wechat/component/events",
                "domain": urlsplit(hub_url).hostname}
        request = urllib.request.Request(
            f"{self.wechat_base}/_component/apps/{self.appid}", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            pushes = json.loads(response.read()).get("pushes") or []
        return bool(pushes) and bool(pushes[-1].get("ok"))
