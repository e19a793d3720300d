"""What every command shares: settings (a config error is a clean message), the runtime, and
the client of a running hub with its --url and --token options."""

from __future__ import annotations

import os
from typing import Any

import click

from hub.infra.config import ConfigError, Settings, load_settings
from hub.platforms import names as platform_names


class PlatformName(click.ParamType):
    """A registered platform, looked up when the option is used (loading the specs at import
    would slow every command down)."""

    name = "platform"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        known = platform_names()
        if value not in known:
            self.fail(f"{value!r} 不是已知平台 (not a platform): {', '.join(known)}", param, ctx)
        return value


def command_settings(ctx: click.Context, **overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as err:
        raise click.ClickException(f"配置错误 (configuration error): {err}") from None


def command_runtime(settings: Settings):
    from hub.infra.runtime import Runtime

    return Runtime(settings)


def hub_client(ctx: click.Context, url: str | None, token: str | None):
    from cli.client import HubClient

    settings = command_settings(ctx)
    token = token or settings.bootstrap_token
    if not token:
        path = settings.data_dir / "bootstrap.token"
        if path.exists():
            token = path.read_text().strip()
    if not token:
        raise click.ClickException("需要令牌：--token 或 YUNCHU_TOKEN (a bearer token is required)")
    return HubClient(url or os.environ.get("YUNCHU_URL") or "http://127.0.0.1:8000", token)


url_option = click.option("--url", default=None, help="Hub URL (default $YUNCHU_URL or :8000).")
token_option = click.option("--token", default=None, envvar="YUNCHU_TOKEN",
                            help="Bearer token (default $YUNCHU_TOKEN or the bootstrap token).")
