"""Where the hub may send requests: the outbound policy and the connector that enforces it.

An account's ``api_base`` and a city app's ``webhook_url`` are typed in by people, and every
request to them carries the account's credentials or a signed body. So:

- an address that is not public (loopback, RFC 1918 and other private ranges, CGNAT
  100.64/10, ULA fc00::/7, link-local, multicast, unspecified, reserved) is refused unless
  the operator named its host (optionally with a port) in the allow list;
- cloud metadata addresses are refused always;
- on platforms with a fixed API (WeChat, Weibo, Douyin), ``api_base`` must name one of the
  platform hosts (or a host in the allow list).

The address check runs in ``GuardedConnector`` on every new connection, on the addresses DNS
returned and that are about to be dialled, so a public name re-pointed at an internal address
(DNS rebinding) is refused as well; nothing is sent, not even the TLS hello.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import aiohttp.abc

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services (AWS/GCP/Azure/OpenStack, ECS tasks, Alibaba Cloud, AWS over
# IPv6): never reachable, whatever the allow list says.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "168.63.129.16", "100.100.100.200", "fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class OutboundRefused(aiohttp.ClientConnectionError):
    """The policy refused the address before anything was sent. The message names the host
    and port the caller gave, never the address DNS returned or anything that answered."""

    def __init__(self, host: str, port: int | None) -> None:
        self.host, self.port = host, port
        super().__init__(f"outbound policy refused {host}:{port}")


@dataclass(frozen=True)
class AllowEntry:
    """One ``host`` or ``host:port`` of the allow list; host lower-case, IPv6 unbracketed."""

    host: str
    port: int | None = None

    def matches(self, host: str, port: int | None) -> bool:
        return self.host == host and (self.port is None or self.port == port)


def normal_host(host: str) -> str:
    """Lower-case, no brackets, no trailing dot; IP literals in their canonical spelling."""
    host = host.strip().lower().strip("[]").rstrip(".")
    literal = ip_literal(host)
    return str(literal) if literal is not None else host


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def parse_allow(raw: str) -> tuple[AllowEntry, ...]:
    """``"127.0.0.1:8900, sandbox.internal, [::1]:9000"`` -> entries; ValueError names the bad one."""
    entries = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        host, port = part, None
        if part.startswith("["):
            host, closed, rest = part[1:].partition("]")
            if not closed or ip_literal(host) is None:
                raise ValueError(f"{part!r} is not [IPv6] or [IPv6]:port")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"{part!r} is not host or host:port")
                port = _port(part, rest[1:])
        elif part.count(":") == 1:
            host, _, port_text = part.partition(":")
            port = _port(part, port_text)
        elif ":" in part and ip_literal(part) is None:
            raise ValueError(f"{part!r} is not host or host:port (bracket IPv6: [::1]:8900)")
        host = normal_host(host)
        if not host or "/" in host or " " in host:
            raise ValueError(f"{part!r} is not host or host:port")
        entries.append(AllowEntry(host, port))
    return tuple(entries)


def _port(part: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{part!r}: the port must be a number from 1 to 65535")
    return int(text)


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where it goes."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """A globally routable unicast address (CGNAT 100.64/10 is not global, nor ULA)."""
    ip = _embedded_v4(ip) or ip
    return (ip.is_global and not ip.is_multicast and not ip.is_reserved
            and not ip.is_unspecified and not getattr(ip, "is_site_local", False))


def is_local_name(host: str) -> bool:
    """Names that resolve to loopback without asking DNS (RFC 6761 and /etc/hosts staples)."""
    return host in _LOCAL_NAMES or host.endswith(".localhost")


def is_legacy_ipv4(host: str) -> bool:
    """``2130706433``, ``127.1``, ``0x7f.0.0.1``: spellings C resolvers map onto an address."""
    if ip_literal(host) is not None or not host or not all(
            c in "0123456789abcdefx." for c in host):
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per process
class OutboundPolicy:
    """What the hub may connect to. ``platform_hosts`` maps each platform with a fixed API to
    the hosts its accounts' ``api_base`` may name; a platform missing from it (the city app:
    every account has its own server) is held to the address rules only."""

    allow: tuple[AllowEntry, ...] = ()
    platform_hosts: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def allows(self, host: str, port: int | None) -> bool:
        """Named in the allow list (``host`` as the URL spells it, or an address it resolved to)."""
        host = normal_host(host)
        return any(entry.matches(host, port) for entry in self.allow)

    def refuses_address(self, host: str, address: str, port: int) -> bool:
        """Must a connection for URL host ``host`` not go to ``address``:``port``? Decided on
        the address actually dialled; a host or address named in the allow list lets a private
        or loopback address through, never a metadata one."""
        ip = ip_literal(address)
        if ip is None:
            return True
        if (_embedded_v4(ip) or ip) in METADATA_ADDRESSES:
            return True
        if is_public(ip):
            return False
        return not (self.allows(host, port) or self.allows(str(ip), port))

    def url_refusal(self, platform: str | None, url: str) -> str | None:
        """Why ``url`` may not be used for ``platform`` without asking DNS (None: it may,
        as far as can be told before connecting). One of "malformed", "not_platform_host",
        "private_address"."""
        return _url_refusal(self, platform, url)


def _url_refusal(policy: OutboundPolicy, platform: str | None, url: str) -> str | None:
    where = _url_host(url)
    if where is None:
        return "malformed"
    return _host_refusal(policy, platform or "", *where)


@lru_cache(maxsize=4096)
def _url_host(url: str) -> tuple[str, int] | None:
    """(normalised host, port) of an http(s) URL, None when malformed. Cached: a worker calls
    the same few API URLs thousands of times, and parsing each was 3 % of its CPU."""
    try:
        parts = urlsplit(url)
        raw_host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not raw_host:
        return None
    return normal_host(raw_host), port or (443 if parts.scheme == "https" else 80)


@lru_cache(maxsize=4096)
def _host_refusal(policy: OutboundPolicy, platform: str, host: str, port: int) -> str | None:
    if is_legacy_ipv4(host):
        return "malformed"
    named = policy.allows(host, port)
    if ip_literal(host) is not None:
        if policy.refuses_address(host, host, port):
            return "private_address"
    elif is_local_name(host) and not (named or policy.allows("127.0.0.1", port)
                                      or policy.allows("::1", port)):
        return "private_address"
    hosts = policy.platform_hosts.get(platform)
    if hosts is not None and host not in hosts and not named:
        return "not_platform_host"
    return None


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that dials only addresses the policy allows."""

    def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    # aiohttp's resolve step, overridden because it is the one place that sees the URL's host
    # and port together with the addresses about to be dialled, IP literals included (those
    # never reach a custom resolver). It runs for every new connection, after the DNS cache.
    async def _resolve_host(self, host: str, port: int,
                            traces: Sequence[Any] | None = None) -> list[Any]:
        results = await super()._resolve_host(host, port, traces=traces)  # type: ignore[arg-type]
        if not results or any(self.policy.refuses_address(host, r["host"], port)
                              for r in results):
            raise OutboundRefused(host, port)
        return results


def guarded_session(policy: OutboundPolicy, *, limit: int = 100,
                    resolver: aiohttp.abc.AbstractResolver | None = None,
                    **session_kwargs: Any) -> aiohttp.ClientSession:
    """The client session platform calls go through: pooled, no cookie jar, no proxies from
    the environment, and every connection checked against ``policy``."""
    connector = GuardedConnector(policy, limit=limit, limit_per_host=0, ttl_dns_cache=300,
                                 enable_cleanup_closed=True, resolver=resolver)
    return aiohttp.ClientSession(connector=connector, trust_env=False,
                                 cookie_jar=aiohttp.DummyCookieJar(), **session_kwargs)


def policy_of(session: aiohttp.ClientSession) -> OutboundPolicy | None:
    return getattr(session.connector, "policy", None)


def hosts_of(urls: Iterable[str]) -> frozenset[str]:
    return frozenset(normal_host(h) for h in (urlsplit(u).hostname for u in urls if u) if h)
