"""The start cannot be broken from inside, and what it writes only its owner reads.

Reproduced: a county admin created a user named "bootstrap-admin", or the bootstrap token was
revoked through the API; the next ``yunchu up`` failed (several users of that name; a token
hash that already exists). And ``yunchu.db`` was created readable by everyone (0644).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import select

from hub.infra.bootstrap import prepare
from hub.infra.config import load_settings
from hub.infra.ids import new_id
from hub.infra.runtime import Runtime
from hub.models import Org, User
from tests.hub.helpers import error_of, make_org, make_tree
from tests.plugins.hub import BOOT_TOKEN

from .support import make_user


def _restart(hub, token: str | None = BOOT_TOKEN) -> str:
    """What ``yunchu up`` does at start, against the same database."""
    runtime = Runtime(hub.runtime.settings.with_overrides(bootstrap_token=token or ""))
    try:
        return prepare(runtime)
    finally:
        runtime.close()


def _whoami(hub, token: str) -> dict:
    r = hub.get("/api/v1/session", token=token)
    assert r.status_code == 200, r.json
    return r.json["user"]


def test_no_api_user_takes_the_bootstrap_admins_name(hub):
    make_tree(hub)
    admin = make_user(hub, "县管理员", ["admin"], org="c1")["token"]
    for name in ("bootstrap-admin", " Bootstrap-Admin "):
        r = hub.post("/api/v1/users", {"org": "c1", "name": name, "roles": ["editor"]},
                     token=admin)
        assert r.status_code == 422, r.json
        assert error_of(r)["details"]["field"] == "name"


def test_a_same_named_user_of_an_org_neither_breaks_the_start_nor_gets_the_token(hub):
    make_tree(hub)
    with hub.runtime.db.session() as session:  # as an older version let a county admin do
        org = session.execute(select(Org.id).where(Org.slug == "c1")).scalar_one()
        session.add(User(id=new_id("usr"), org_id=org, name="bootstrap-admin",
                         roles=["editor"]))
    new_token = "yc_a_new_bootstrap_token_0123456789abcdef"
    assert _restart(hub, new_token) == new_token
    me = _whoami(hub, new_token)
    assert me["org"] is None and me["roles"] == ["admin"]
    assert _whoami(hub, BOOT_TOKEN)["id"] == me["id"]  # the same bootstrap admin


def test_a_revoked_bootstrap_token_from_the_environment_is_registered_again(hub):
    me = _whoami(hub, BOOT_TOKEN)
    [row] = hub.get(f"/api/v1/users/{me['id']}/tokens").json["items"]
    assert hub.post(f"/api/v1/tokens/{row['id']}/revoke", {}).status_code == 200
    assert hub.get("/api/v1/session").status_code == 401
    assert _restart(hub) == BOOT_TOKEN  # the variable's value is the token
    assert _whoami(hub, BOOT_TOKEN)["id"] == me["id"]


def test_a_revoked_generated_bootstrap_token_is_replaced(hub, tmp_path: Path):
    data = tmp_path / "generated"
    settings = hub.runtime.settings.with_overrides(bootstrap_token="", data_dir=data)
    runtime = Runtime(settings)
    try:
        first = prepare(runtime)
        me = _whoami(hub, first)
        [row] = [t for t in hub.get(f"/api/v1/users/{me['id']}/tokens").json["items"]
                 if t["label"] == "bootstrap" and t["revoked_at"] is None][-1:]
        assert hub.post(f"/api/v1/tokens/{row['id']}/revoke", {},
                        token=first).status_code == 200
        second = prepare(runtime)
    finally:
        runtime.close()
    assert second != first and (data / "bootstrap.token").read_text() == second
    assert _whoami(hub, second)["id"] == me["id"]
    assert hub.get("/api/v1/session", token=first).status_code == 401  # still revoked
    assert stat.S_IMODE((data / "bootstrap.token").stat().st_mode) == 0o600


def test_the_data_dir_the_database_and_the_keys_are_owner_only(tmp_path: Path):
    previous = os.umask(0o022)  # the usual umask, which made yunchu.db 0644
    try:
        data = tmp_path / "var"
        settings = load_settings(env={}, data_dir=data, redis_url="redis://127.0.0.1:9/0")
        runtime = Runtime(settings)
        try:
            prepare(runtime)
        finally:
            runtime.close()
    finally:
        os.umask(previous)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in data.iterdir()}
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert {"yunchu.db", "secret.key", "bootstrap.token"} <= set(modes)
    assert {name: mode for name, mode in modes.items() if mode & 0o077} == {}


def test_a_database_file_left_wide_by_an_older_version_is_narrowed(tmp_path: Path):
    data = tmp_path / "var"
    data.mkdir()
    (data / "yunchu.db").touch(mode=0o644)
    os.chmod(data / "yunchu.db", 0o644)
    runtime = Runtime(load_settings(env={}, data_dir=data, secret_key="k" * 32))
    runtime.close()
    assert stat.S_IMODE((data / "yunchu.db").stat().st_mode) == 0o600


def test_the_reserved_name_is_refused_even_at_the_root(hub):
    make_org(hub, "yun", "province")
    r = hub.post("/api/v1/users", {"name": "bootstrap-admin", "roles": ["admin"]})
    assert r.status_code == 422
