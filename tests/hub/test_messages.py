"""API error messages from the catalog: the text clients get is the one they always got, every
key the code names is in the catalog, and a message survives copies and pickles."""

from __future__ import annotations

import ast
import copy
import pickle
from pathlib import Path

from hub import catalogs, messages
from hub.errors import ApiError, default_message, not_found
from hub.messages import Message
from hub.validation import choice

HUB = Path(messages.__file__).parent


def _keys_named_in_hub() -> dict[str, str]:
    """Every literal key given to Message(...) or field_message(...), with where it is."""
    named: dict[str, str] = {}
    for path in HUB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args \
                    and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) \
                    in ("Message", "field_message") \
                    and isinstance(node.args[0], ast.Constant):
                named[node.args[0].value] = f"{path.relative_to(HUB)}:{node.lineno}"
    return named


def test_every_key_the_hub_names_is_in_both_languages():
    named = _keys_named_in_hub()
    assert len(named) > 100
    for lang in catalogs.LANGS:
        entries = catalogs.read_entries(
            messages.CATALOGS / lang / "LC_MESSAGES" / f"{messages.DOMAIN}.po")
        assert sorted(f"{key} ({where})" for key, where in named.items()
                      if not entries.get(key)) == [], lang


def test_the_text_clients_get_is_unchanged(hub):
    assert str(default_message(404)) == "找不到该资源 (not found)"
    assert ApiError(429).message == "请求过于频繁 (too many requests)"
    assert not_found("矩阵", "m1").message == "找不到矩阵 m1 (矩阵 not found)"
    try:
        choice({"kind": "x"}, "kind", ("article", "video"))
    except ApiError as err:
        assert err.message == "kind 只能是 article、video (kind must be one of article, video)"
    r = hub.post("/api/v1/items/itm_nope/withdraw", {"reason": " "})
    assert r.status_code == 422
    assert r.json["error"] == {"code": "invalid",
                               "message": "撤稿必须写明原因 (a withdrawal needs a reason)",
                               "details": {"field": "reason"}}


def test_a_message_speaks_one_language_with_its_terms_translated():
    message = Message("not_found", terms=("what",), what="推送任务", id="dsp_1")
    assert message.in_lang("zh") == "找不到推送任务 dsp_1"
    assert message.in_lang("en") == "push not found"
    unknown_word = Message("not_found", terms=("what",), what="某物", id="x")
    assert unknown_word.in_lang("en") == "某物 not found"  # no term entry: the word as given
    no_space = Message("review.not_in_review", sep="", terms=("status",), status="draft")
    assert no_space == "稿件不在审核中（当前 draft）(item is not in review)"
    assert no_space.in_lang("zh") == "稿件不在审核中（当前 草稿）"


def test_a_message_survives_copies_and_pickles():
    message = not_found("稿件", "itm_1").message
    for copied in (pickle.loads(pickle.dumps(message)), copy.deepcopy(message),
                   copy.copy(message)):
        assert copied == message and isinstance(copied, Message)
        assert copied.in_lang("en") == "item not found"
