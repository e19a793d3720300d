"""What an adapter derives from an account's credentials is computed once per ``AccountRef``
(adapters/base.py), never carried over to a ref with other credentials, and a failure is not
remembered."""

from __future__ import annotations

import dataclasses

import pytest

from adapters.base import AccountMisconfigured, AccountRef
from adapters.wechat import app_of


def _ref(**credentials: str) -> AccountRef:
    return AccountRef(id="acc_1", platform="wechat", api_base="https://api.weixin.qq.com",
                      credentials=credentials)


def test_derived_once_per_ref_and_anew_for_new_credentials():
    calls: list[str] = []

    def key(ref: AccountRef) -> str:
        calls.append(ref.credentials["secret"])
        return "key-" + ref.credentials["secret"]

    ref = _ref(appid="wx1", secret="s1")
    assert ref.derived("k", key) == ref.derived("k", key) == "key-s1"
    rotated = dataclasses.replace(ref, credentials={"appid": "wx1", "secret": "s2"})
    assert rotated.derived("k", key) == "key-s2"
    assert calls == ["s1", "s2"]
    assert "s1" not in repr(ref) and "key-" not in repr(ref)  # secrets stay out of reprs


def test_a_failure_is_raised_each_time_not_remembered():
    ref = _ref(appid="wx1")  # no secret
    for _ in range(2):
        with pytest.raises(AccountMisconfigured):
            app_of(ref)
    assert ref.memo == {}
    fixed = dataclasses.replace(ref, credentials={"appid": "wx1", "secret": "s"})
    assert app_of(fixed) is app_of(fixed)
