"""A newcomer signs in: the first start gives the bootstrap admin a password, shown once and
kept only as its argon2 hash, and ``yunchu users set-password`` sets one from the console.

Reproduced: ``yunchu up`` printed a bearer token, the login form asked for a name and a
password, and the bootstrap admin had none; nothing said how to get one.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from hub.infra.bootstrap import first_password, prepare
from hub.infra.runtime import Runtime
from hub.models import AuditEntry, Base, User
from hub.security.auth import BOOTSTRAP_USER

from .support import Browser


def _bootstrap_hash(hub) -> str | None:
    with hub.runtime.db.session() as db:
        return db.execute(select(User.password_hash).where(
            User.name == BOOTSTRAP_USER, User.org_id.is_(None))).scalar_one()


def _every_stored_value(hub) -> str:
    """Every row of every table, as text."""
    with hub.runtime.db.session() as db:
        return "\n".join(repr(row) for table in Base.metadata.sorted_tables
                         for row in db.execute(select(table)).all())


def _signs_in(hub, password: str, name: str = BOOTSTRAP_USER) -> bool:
    browser = Browser(hub.app)
    response = browser.login(name, password)
    if response.status_code != 303:
        return False
    page = browser.follow(response)
    assert "概览" in page and name in page
    return True


def test_the_first_start_prints_a_password_that_reaches_the_dashboard(hub, tmp_path: Path):
    assert _bootstrap_hash(hub) is None  # prepare() alone, as before: no way in by password
    password = first_password(hub.runtime)
    assert password and len(password) >= 10
    assert _signs_in(hub, password)

    stored = _bootstrap_hash(hub)
    assert stored and stored.startswith("$argon2id$")
    assert password not in _every_stored_value(hub)
    for path in tmp_path.rglob("*"):  # the data dir (and the SQLite database file)
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    with hub.runtime.db.session() as db:
        [entry] = db.execute(select(AuditEntry).where(AuditEntry.action == "user.password"))\
            .scalars()
        assert entry.details == {"by": "first_start"} and password not in repr(entry.details)


def test_a_later_start_neither_shows_nor_changes_the_password(hub):
    password = first_password(hub.runtime)
    stored = _bootstrap_hash(hub)
    runtime = Runtime(hub.runtime.settings)  # what the next `yunchu up` does
    try:
        prepare(runtime)
        assert first_password(runtime) is None
    finally:
        runtime.close()
    assert _bootstrap_hash(hub) == stored
    assert password and _signs_in(hub, password)


def _cli(hub, args: list[str], stdin: str):
    settings = hub.runtime.settings
    env = {"YUNCHU_DATABASE_URL": settings.database_url, "YUNCHU_DATA_DIR": str(settings.data_dir),
           "YUNCHU_SECRET_KEY": settings.secret_key, "YUNCHU_REDIS_URL": settings.redis_url,
           "YUNCHU_BOOTSTRAP_TOKEN": settings.bootstrap_token}
    return CliRunner().invoke(main, ["users", "set-password", *args], input=stdin, env=env)


def test_users_set_password_asks_twice_and_the_new_password_signs_in(hub):
    old = first_password(hub.runtime)
    new = "新的-bootstrap-密码-2026"
    done = _cli(hub, [BOOTSTRAP_USER], f"{new}\n{new}\n")
    assert done.exit_code == 0, done.output
    assert new not in done.output and "password set for bootstrap-admin" in done.output
    assert _signs_in(hub, new)
    assert old and not _signs_in(hub, old)
    assert new not in _every_stored_value(hub)


def test_users_set_password_reads_stdin_for_scripts(hub):
    done = _cli(hub, [BOOTSTRAP_USER, "--stdin"], "scripted-password-42\n")
    assert done.exit_code == 0, done.output
    assert _signs_in(hub, "scripted-password-42")


def test_users_set_password_refuses_what_the_api_refuses(hub):
    stored = _bootstrap_hash(hub)
    for stdin in ("short\n", "\n"):
        done = _cli(hub, [BOOTSTRAP_USER, "--stdin"], stdin)
        assert done.exit_code == 1 and "密码须为10到200位" in done.output, done.output
    different = _cli(hub, [BOOTSTRAP_USER], "first-try-123456\nsecond-try-123456\n")
    assert different.exit_code != 0
    unknown = _cli(hub, ["nobody-here", "--stdin"], "long-enough-password\n")
    assert unknown.exit_code == 1 and "找不到用户" in unknown.output
    assert _bootstrap_hash(hub) == stored


def test_the_login_page_tells_a_newcomer_how_to_get_in(hub):
    browser = Browser(hub.app)
    page = browser.text("/admin/login")
    assert "首次使用" in page and "bootstrap-admin" in page
    assert "yunchu users set-password bootstrap-admin" in page
    english = browser.text("/admin/login?lang=en")
    assert "First time here?" in english and "首次使用" not in english
