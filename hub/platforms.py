"""The platform registry: one line per platform names its channel and its adapter.

Adding a platform = one module in channels/, one in adapters/, one line here.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

REGISTRY: dict[str, tuple[str, str]] = {
    "wechat": ("channels.wechat:WeChatChannel", "adapters.wechat:WeChatAdapter"),
    "weibo": ("channels.weibo:WeiboChannel", "adapters.weibo:WeiboAdapter"),
    "douyin": ("channels.douyin:DouyinChannel", "adapters.douyin:DouyinAdapter"),
    "cityapp": ("channels.cityapp:CityAppChannel", "adapters.cityapp:CityAppAdapter"),
}


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def channel(platform: str) -> Any:
    """A (stateless) channel instance for ``platform``."""
    return _load(REGISTRY[platform][0])()


def adapter_class(platform: str) -> Any:
    return _load(REGISTRY[platform][1])


def capabilities(platform: str) -> Any:
    module = importlib.import_module(REGISTRY[platform][1].partition(":")[0])
    return module.CAPABILITIES
