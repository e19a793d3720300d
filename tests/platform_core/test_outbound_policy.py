"""The outbound policy at connect time: real listeners on loopback count what reaches them.

A refused call must fail before a single connection is made (so no credentials, signed body
or TLS hello leaves), with a reason that says what was refused and nothing about what answers
there; the same listener named in the allow list does receive the call, so each zero below is
the policy's doing and not an unreachable port.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from adapters.base import AccountMisconfigured
from adapters.http import call
from adapters.outbound import (
    OutboundPolicy,
    OutboundRefused,
    guarded_session,
    is_public,
    parse_allow,
)

SECRET = "APP-SECRET-never-to-leave"
BANNER = b"-ERR redis-banner-from-an-internal-service\r\n"
FAST = aiohttp.ClientTimeout(total=3, connect=1)


class Listener:
    """A TCP server on 127.0.0.1 that counts connections and answers like an internal service."""

    def __init__(self) -> None:
        self.connections = 0
        self.received = b""
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            self.received += await asyncio.wait_for(reader.read(65536), 2)
            writer.write(BANNER)
            await writer.drain()
        except (ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def listening() -> AsyncIterator[Listener]:
    listener = Listener()
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()
        await server.wait_closed()


class FixedResolver(AbstractResolver):
    """DNS that answers every name with one address: a public-looking name re-pointed at an
    internal one, which is what DNS rebinding does between a check and the connect."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [{"hostname": host, "host": self.address, "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass


def policy(allow: str = "", wechat_hosts: tuple[str, ...] = ()) -> OutboundPolicy:
    hosts = {"wechat": frozenset(wechat_hosts)} if wechat_hosts else {}
    return OutboundPolicy(allow=parse_allow(allow), platform_hosts=hosts)


async def token_call(session: aiohttp.ClientSession, url: str, platform: str = "cityapp") -> Any:
    """What a WeChat token request looks like: the app secret in the query string."""
    return await call(session, "GET", url, platform=platform, timeout=FAST,
                      params={"grant_type": "client_credential", "secret": SECRET})


async def refused_unheard(listener: Listener, allowed: OutboundPolicy, url: str,
                          **options: Any) -> AccountMisconfigured:
    """A token call to ``url`` under ``allowed`` is refused and ``listener`` hears nothing."""
    platform = options.pop("platform", "cityapp")
    async with guarded_session(allowed, **options) as session:
        with pytest.raises(AccountMisconfigured) as caught:
            await token_call(session, url, platform)
    assert listener.connections == 0
    return caught.value


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def assert_refused_quietly(err: AccountMisconfigured) -> None:
    assert "YUNCHU_OUTBOUND_ALLOW" in err.reason and "出站策略" in err.reason
    assert "banner" not in err.reason and SECRET not in err.reason


def test_loopback_listener_not_allowed_is_never_connected_to():
    async def scenario() -> None:
        async with listening() as listener:
            async with guarded_session(policy()) as session:
                with pytest.raises(AccountMisconfigured) as caught:
                    await token_call(session, f"http://127.0.0.1:{listener.port}/cgi-bin/token")
                # The connector itself refuses a literal too, not only call()'s pre-check.
                with pytest.raises(OutboundRefused):
                    await session.get(f"http://127.0.0.1:{listener.port}/", timeout=FAST)
            assert listener.connections == 0 and listener.received == b""
            assert_refused_quietly(caught.value)

    run(scenario())


def test_the_same_listener_named_in_the_allow_list_is_reached():
    async def scenario() -> None:
        async with listening() as listener:
            allowed = policy(f"127.0.0.1:{listener.port}")
            async with guarded_session(allowed) as session:
                with pytest.raises(Exception):  # noqa: B017 - it answers garbage; reaching it is the point
                    await token_call(session, f"http://127.0.0.1:{listener.port}/cgi-bin/token")
            assert listener.connections == 1 and SECRET.encode() in listener.received

    run(scenario())


def test_an_allow_entry_for_another_port_does_not_open_this_one():
    async def scenario() -> None:
        async with listening() as listener:
            other = policy(f"127.0.0.1:{listener.port + 1 if listener.port < 65535 else 1}")
            await refused_unheard(listener, other, f"http://127.0.0.1:{listener.port}/")

    run(scenario())


def test_localhost_is_refused_after_resolution_unless_allowed():
    async def scenario() -> None:
        async with listening() as listener:
            url = f"http://localhost:{listener.port}/"
            async with guarded_session(policy()) as session:
                # Straight to the connector: the name is only known to be loopback once resolved.
                with pytest.raises(OutboundRefused):
                    await session.get(url, timeout=FAST)
                with pytest.raises(AccountMisconfigured):
                    await token_call(session, url)
            assert listener.connections == 0
            for entry in ("localhost", f"localhost:{listener.port}", f"127.0.0.1:{listener.port}"):
                async with guarded_session(policy(entry), resolver=FixedResolver("127.0.0.1")
                                           ) as session:
                    with pytest.raises(aiohttp.ClientResponseError):  # reached: it is no HTTP server
                        await session.get(url, timeout=FAST)
            assert listener.connections == 3

    run(scenario())


def test_a_public_name_rebound_to_loopback_is_refused_at_connect():
    async def scenario() -> None:
        async with listening() as listener:
            url = f"http://api.weixin.qq.com:{listener.port}/cgi-bin/token"
            refused = await refused_unheard(
                listener, policy(wechat_hosts=("api.weixin.qq.com",)), url, platform="wechat",
                resolver=FixedResolver("127.0.0.1"))
            assert_refused_quietly(refused)

    run(scenario())


@pytest.mark.parametrize("address", [
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "10.0.0.8", "172.16.5.4",
    "192.168.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.251", "fe80::1", "fc00::1", "fd00:ec2::254",
    "::1", "::", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1", "64:ff9b::a00:1",
])
def test_private_link_local_and_metadata_literals_are_refused(address: str):
    host = f"[{address}]" if ":" in address else address

    async def scenario() -> None:
        async with guarded_session(policy()) as session:
            with pytest.raises(AccountMisconfigured) as caught:
                await token_call(session, f"http://{host}:8080/latest/meta-data/")
            assert_refused_quietly(caught.value)
            with pytest.raises(OutboundRefused):
                await session.get(f"http://{host}:8080/", timeout=FAST)

    run(scenario())


@pytest.mark.parametrize("address", ["169.254.169.254", "100.100.100.200", "fd00:ec2::254"])
def test_metadata_addresses_stay_refused_even_when_named(address: str):
    host = f"[{address}]" if ":" in address else address
    named = policy(f"{host},{host}:80")
    assert named.refuses_address(address, address, 80)
    assert named.url_refusal(None, f"http://{host}/") == "private_address"


def test_a_name_resolving_to_a_metadata_address_is_refused():
    async def scenario() -> None:
        async with guarded_session(policy(), resolver=FixedResolver("169.254.169.254")
                                   ) as session:
            with pytest.raises(OutboundRefused):
                await session.get("http://metadata.google.internal/computeMetadata/v1/",
                                  timeout=FAST)

    run(scenario())


def test_an_api_base_off_the_platform_hosts_is_not_called():
    async def scenario() -> None:
        async with listening() as listener:
            # The listener is allowed as an address, yet WeChat's api_base must be a WeChat host.
            both = policy(f"127.0.0.1:{listener.port}", wechat_hosts=("api.weixin.qq.com",))
            async with guarded_session(both) as session:
                await_call = call(session, "GET", "https://collector.example.com/cgi-bin/token",
                                  platform="wechat", timeout=FAST, params={"secret": SECRET})
                with pytest.raises(AccountMisconfigured) as caught:
                    await await_call
            assert "YUNCHU_PLATFORM_HOSTS" in caught.value.reason

    run(scenario())


def test_public_addresses_pass():
    import ipaddress

    for address in ("8.8.8.8", "203.119.1.1", "2400:3200::1", "101.226.1.1"):
        assert is_public(ipaddress.ip_address(address))
    assert policy().url_refusal("cityapp", "https://app.jiangcheng.gov.cn/hook/a1") is None


@pytest.mark.parametrize("raw", ["127.0.0.1:0", "host:99999", "a b", "[::1", "::1:80:x/y"])
def test_malformed_allow_entries_are_refused(raw: str):
    with pytest.raises(ValueError):
        parse_allow(raw)


def test_settings_refuse_a_malformed_allow_list_naming_the_variable(tmp_path):
    from hub.infra.config import ConfigError, load_settings
    from hub.security.outbound_policy import policy_for

    with pytest.raises(ConfigError, match="YUNCHU_OUTBOUND_ALLOW"):
        load_settings(env={"YUNCHU_OUTBOUND_ALLOW": "127.0.0.1:99999",
                           "YUNCHU_SECRET_KEY": "k"}, data_dir=tmp_path)
    settings = load_settings(env={"YUNCHU_OUTBOUND_ALLOW": " 127.0.0.1:8900 , [::1]:8901,",
                                  "YUNCHU_WECHAT_API_BASE": "https://wx-gw.example.gov.cn",
                                  "YUNCHU_SECRET_KEY": "k"}, data_dir=tmp_path)
    configured = policy_for(settings)
    assert configured.url_refusal("weibo", "http://127.0.0.1:8900/weibo") is None
    assert configured.url_refusal("weibo", "http://[::1]:8901/weibo") is None
    assert configured.url_refusal("weibo", "http://127.0.0.1:8902/weibo") == "private_address"
    # The configured API base's host joins the platform hosts; the city app has none.
    assert configured.url_refusal("wechat", "https://wx-gw.example.gov.cn/x") is None
    assert configured.url_refusal("douyin", "https://evil.example.com") == "not_platform_host"
    assert configured.url_refusal("cityapp", "https://evil.example.com") is None
    assert load_settings(env={"YUNCHU_SECRET_KEY": "k"}, data_dir=tmp_path).outbound_allow == ""
