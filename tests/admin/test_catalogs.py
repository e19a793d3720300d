"""The gettext catalogs are complete: every msgid reads in both languages, every key a template
or a view names exists, and every value the hub can show has a label."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from admin import i18n
from hub import catalogs, messages
from hub.models import ACCOUNT_STATUSES, DELIVERY_STATES, ITEM_STATUSES, ROLES
from hub.screening import CATEGORIES

ADMIN = Path(i18n.__file__).parent
HUB = Path(messages.__file__).parent
CATALOG_DIRS = {"admin": (i18n.CATALOGS, i18n.DOMAIN), "api": (messages.CATALOGS, messages.DOMAIN)}


def _entries(which: str, lang: str) -> dict[str, str]:
    source, domain = CATALOG_DIRS[which]
    return catalogs.read_entries(source / lang / "LC_MESSAGES" / f"{domain}.po")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("which", sorted(CATALOG_DIRS))
def test_every_msgid_reads_in_both_languages(which):
    zh, en = _entries(which, "zh"), _entries(which, "en")
    assert len(zh) > 60
    assert sorted(set(zh) ^ set(en)) == []
    assert sorted(key for key in zh if not zh[key].strip() or not en[key].strip()) == []


def test_the_admin_fills_the_same_placeholders_in_both_languages():
    """t(key, **values) passes one set of values to either language. (An API message may use
    different values per half: its wire text keeps each half as it always was.)"""
    zh, en = _entries("admin", "zh"), _entries("admin", "en")
    assert sorted(key for key in zh if _placeholders(zh[key]) != _placeholders(en[key])) == []


@pytest.mark.parametrize("which", sorted(CATALOG_DIRS))
def test_the_compiled_catalogs_say_what_the_po_files_say(which):
    source, domain = CATALOG_DIRS[which]
    for lang in catalogs.LANGS:
        compiled = catalogs.translations(source, lang, domain)
        for key, text in _entries(which, lang).items():
            assert compiled.gettext(key) == text, (lang, key)


def test_no_string_is_left_in_the_old_table():
    """New words go into the catalogs, not into the table they replaced."""
    assert i18n.TEXT == {}
    for group, values in i18n.LABELS.items():
        for value, pair in values.items():
            assert len(pair) == 2 and all(pair), (group, value)


def _keys_named_in_templates() -> tuple[set[str], set[str]]:
    keys: set[str] = set()
    groups: set[str] = set()
    for path in (ADMIN / "templates").rglob("*.html"):
        source = path.read_text()
        keys |= set(re.findall(r"""\b(?:t|_|gettext)\(\s*['"]([^'"]+)['"]\s*[,)]""", source))
        # t('run.' ~ run.state): a family of keys; the family must exist
        keys |= {prefix + "*" for prefix in re.findall(r"""\bt\(\s*['"]([^'"]+\.)['"]\s*~""",
                                                        source)}
        for group, value in re.findall(r"""\blabel\(\s*['"](\w+)['"]\s*,\s*(['"]\w+['"])?""",
                                       source):
            groups.add(group)
            if value:
                keys.add(f"label.{group}.{value.strip(chr(39) + chr(34))}")
    return keys, groups


def _keys_named_in_code() -> set[str]:
    """String keys given to t(), lookup() and LineError(line, key) anywhere in admin/."""
    keys: set[str] = set()
    for path in ADMIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            arg = {"t": 0, "lookup": 0, "LineError": 1}.get(name or "")
            if arg is None or len(node.args) <= arg:
                continue
            keys |= set(_literal_keys(node.args[arg]))
    return keys


def _literal_keys(node: ast.expr) -> list[str]:
    """The keys an argument can be: a literal, or either literal of ``a if x else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literal_keys(node.body) + _literal_keys(node.orelse)
    return []


def test_every_key_a_template_or_view_names_is_in_the_catalogs():
    known = set(_entries("admin", "zh"))
    template_keys, groups = _keys_named_in_templates()
    code_keys = _keys_named_in_code()
    assert len(template_keys) > 200 and len(code_keys) > 30
    families = {key for key in template_keys if key.endswith("*")}
    assert families and all(any(k.startswith(f[:-1]) for k in known) for f in families)
    assert sorted((template_keys - families | code_keys) - known) == []
    labelled = {key.split(".")[1] for key in known if key.startswith("label.")} | set(i18n.LABELS)
    labelled.add("platform")  # each platform names itself (the platform registry), not a catalog
    assert sorted(groups - labelled) == []


def _audit_actions() -> set[str]:
    actions: set[str] = set()
    for path in list(HUB.rglob("*.py")) + list(ADMIN.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(
                    node.func, "attr", None)) in ("record", "record_separately") \
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                actions.add(node.args[1].value)
    return actions


def test_every_value_the_hub_can_show_has_a_label_in_both_languages():
    actions = _audit_actions()
    assert {"item.push", "login", "access.denied"} <= actions
    groups = {"item_status": ITEM_STATUSES, "delivery": DELIVERY_STATES,
              "account_status": ACCOUNT_STATUSES, "role": ROLES, "safety": ("block", "warn"),
              "safety_category": tuple(CATEGORIES), "audit_action": tuple(actions),
              "field": ("title", "summary", "body")}
    for lang in catalogs.LANGS:
        entries = _entries("admin", lang)
        missing = [f"{group}.{value}" for group, values in groups.items() for value in values
                   if f"label.{group}.{value}" not in entries]
        assert missing == [], lang
    zh_names = {code: _entries("admin", "zh")[f"label.safety_category.{code}"]
                for code in CATEGORIES}
    assert zh_names == CATEGORIES  # the names the province's rules use, word for word
