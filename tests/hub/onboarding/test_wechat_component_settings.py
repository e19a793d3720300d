"""The hub's 第三方平台 identity and the settings for what WeChat leaves undocumented."""

from __future__ import annotations

import pytest

from adapters.wechat_component import missing_capabilities, parse_funcsets
from hub.infra.config import ConfigError, load_settings

KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
FULL = {"YUNCHU_WECHAT_COMPONENT_APPID": "wxc0mp0nent0000001",
        "YUNCHU_WECHAT_COMPONENT_SECRET": "s3cret-value-never-shown",
        "YUNCHU_WECHAT_COMPONENT_TOKEN": "Token01",
        "YUNCHU_WECHAT_COMPONENT_AES_KEY": KEY}


def test_component_identity_is_read_and_its_secrets_never_shown(tmp_path) -> None:
    settings = load_settings({**FULL, "YUNCHU_WECHAT_COMPONENT_FUNCSETS": "publish=11",
                              "YUNCHU_WECHAT_COMPONENT_PREAUTH_TTL_S": "300",
                              "YUNCHU_SECRET_KEY": "k" * 40}, data_dir=tmp_path)
    assert settings.wechat_component_appid == "wxc0mp0nent0000001"
    assert settings.wechat_component_preauth_ttl_s == 300
    assert parse_funcsets(settings.wechat_component_funcsets) == {"publish": (11,)}
    shown = repr(settings)
    assert "s3cret-value-never-shown" not in shown and KEY not in shown and "Token01" not in shown


@pytest.mark.parametrize("env, named", [
    ({"YUNCHU_WECHAT_COMPONENT_APPID": "wxc0mp0nent0000001"}, "_SECRET"),
    ({**FULL, "YUNCHU_WECHAT_COMPONENT_AES_KEY": "short"}, "AES_KEY"),
    ({**FULL, "YUNCHU_WECHAT_COMPONENT_FUNCSETS": "publish=seven"},
     "YUNCHU_WECHAT_COMPONENT_FUNCSETS"),
    ({**FULL, "YUNCHU_WECHAT_COMPONENT_FUNCSETS": "fly=1"}, "YUNCHU_WECHAT_COMPONENT_FUNCSETS"),
    ({**FULL, "YUNCHU_WECHAT_COMPONENT_REVOKED_CODES": "61003,x"},
     "YUNCHU_WECHAT_COMPONENT_REVOKED_CODES"),
])
def test_unusable_component_settings_are_refused_by_name(env, named, tmp_path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({**env, "YUNCHU_SECRET_KEY": "k" * 40}, data_dir=tmp_path)
    assert named in str(refused.value)


def test_missing_capabilities_follow_the_configured_func_sets() -> None:
    needs = parse_funcsets("publish=7+11,delete=7,statistics=7,comments=7")
    assert missing_capabilities({7, 11}, needs) == []
    assert missing_capabilities({11}, needs) == ["publish", "delete", "statistics", "comments"]
    assert missing_capabilities({7}, needs) == ["publish"]


def test_the_starter_refuses_clearly_without_a_component_identity(tmp_path) -> None:
    from types import SimpleNamespace

    from hub.errors import ApiError
    from hub.services.onboarding.registry import starter_for

    starter = starter_for("wechat")
    assert starter is not None
    runtime = SimpleNamespace(settings=load_settings({"YUNCHU_SECRET_KEY": "k" * 40},
                                                     data_dir=tmp_path))
    with pytest.raises(ApiError) as refused:
        starter(runtime, callback_url="https://hub.example/oauth/wechat/callback", account=None)
    assert refused.value.status == 409 and refused.value.code == "component_not_configured"
    assert "第三方平台" in refused.value.message
