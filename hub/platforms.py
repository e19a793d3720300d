"""The platform registry: one line per platform names where its spec is declared.

Adding a platform = a channel in channels/, an adapter in adapters/ that declares a
``PlatformSpec`` (adapters/spec.py), an emulator in sandbox/, and one line in ``SPECS`` below.
Specs named in ``YUNCHU_PLATFORM_SPECS`` (comma-separated "module:NAME") join them in every
process that reads the environment, workers included; ``register`` adds one in this process.
"""

from __future__ import annotations

import importlib
import os
from functools import cache
from typing import Any

from adapters.spec import PlatformSpec

SPECS = (
    "adapters.wechat:SPEC",
    "adapters.weibo:SPEC",
    "adapters.douyin:SPEC",
    "adapters.cityapp:SPEC",
)
EXTRA_ENV = "YUNCHU_PLATFORM_SPECS"

_registered: dict[str, PlatformSpec] = {}


def load(path: str) -> Any:
    """The object a "module:attribute" path names."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def _declared(extra: str) -> dict[str, PlatformSpec]:
    found: dict[str, PlatformSpec] = {}
    for path in [*SPECS, *(p.strip() for p in extra.split(",") if p.strip())]:
        spec = load(path)
        if not isinstance(spec, PlatformSpec):
            raise TypeError(f"{path} is not a PlatformSpec")
        if spec.name in found:
            raise ValueError(f"platform {spec.name!r} is declared twice ({path})")
        found[spec.name] = spec
    return found


def specs() -> dict[str, PlatformSpec]:
    """Every platform, by name, in declaration order."""
    return {**_declared(os.environ.get(EXTRA_ENV, "")), **_registered}


def names() -> tuple[str, ...]:
    return tuple(specs())


def spec(platform: str) -> PlatformSpec:
    """The spec of ``platform``; KeyError for a platform nobody declared."""
    return specs()[platform]


def register(extra: PlatformSpec) -> None:
    """Add a platform in this process (worker processes need ``YUNCHU_PLATFORM_SPECS``)."""
    if extra.name in specs():
        raise ValueError(f"platform {extra.name!r} is already registered")
    _registered[extra.name] = extra


def unregister(platform: str) -> None:
    _registered.pop(platform, None)
    channel.cache_clear()


@cache
def channel(platform: str) -> Any:
    """A (stateless) channel instance for ``platform``."""
    return load(spec(platform).channel)()


def adapter_class(platform: str) -> Any:
    return load(spec(platform).adapter)


def capabilities(platform: str) -> Any:
    return spec(platform).capabilities


def label(platform: str, lang: str = "zh") -> str:
    """The platform's name for people, Chinese or English; the raw name for an unknown one."""
    known = specs().get(platform)
    if known is None:
        return platform
    return known.label_en if lang == "en" else known.label_zh

