"""Admin UI fixtures: the hub on SQLite and PostgreSQL (``hub`` from tests/plugins/hub.py) with
a newsroom of password users."""

from __future__ import annotations

import pytest

from .support import Newsroom


@pytest.fixture(autouse=True)
def _quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the UI tests log in dozens of users (the cost settings
    themselves are the hub's, tested there)."""
    from argon2 import PasswordHasher

    from hub.services import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                         parallelism=1))


@pytest.fixture
def newsroom(hub) -> Newsroom:
    return Newsroom(hub)


@pytest.fixture
def app_context_lang():
    """Set the UI language of a bare request context (for the translation helpers)."""
    from flask import Flask, g

    app = Flask("i18n-test")
    contexts = []

    def use(lang: str) -> None:
        ctx = app.test_request_context("/")
        ctx.push()
        contexts.append(ctx)
        g.lang = lang

    yield use
    for ctx in reversed(contexts):
        ctx.pop()
