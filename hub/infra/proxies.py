"""Trusted reverse proxies (``YUNCHU_PROXY_HOPS``): werkzeug's ProxyFix takes the client's
address and scheme from the last N ``X-Forwarded-For`` / ``X-Forwarded-Proto`` entries, the
ones our own proxies wrote. Host is not taken from ``X-Forwarded-Host``: the proxy passes Host
through. A forwarded address that is not an IP address (a proxy that passes the client's
header on unchanged) is ignored: the peer's own address is used."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def behind_proxies(app: WsgiApp, hops: int) -> WsgiApp:
    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            ipaddress.ip_address(environ.get("REMOTE_ADDR") or "")
        except ValueError:
            environ["REMOTE_ADDR"] = environ["werkzeug.proxy_fix.orig"]["REMOTE_ADDR"]
        return app(environ, start_response)

    return ProxyFix(checked, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
