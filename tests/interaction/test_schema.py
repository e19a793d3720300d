"""The interaction schema keeps intake idempotent, and unimplemented platform calls are loud."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.base import AccountRef, NoInteraction, PostRef
from hub import platforms
from hub.infra import migrate
from hub.infra.db import make_engine
from hub.models import Account, Conversation, InteractionMessage, Org

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _seed(session: Session) -> None:
    # No relationships between the models: flushed one by one, in foreign-key order.
    for row in (Org(id="o1", slug="yun-schema", name="云城", kind="province", path="/o1/"),
                Account(id="a1", org_id="o1", platform="wechat", name="云城发布",
                        credentials_sealed=b"x"),
                Conversation(id="c1", org_id="o1", account_id="a1", platform="wechat",
                             kind="message", thread_key="openid-1")):
        session.add(row)
        session.flush()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_message_is_stored_once_per_account(backend: str, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    url = (request.getfixturevalue("pg_database_url") if backend == "postgres"
           else f"sqlite:///{tmp_path / 'i.db'}")
    engine = make_engine(url)
    migrate.upgrade(engine)
    try:
        with Session(engine) as session:
            _seed(session)
            session.add(InteractionMessage(id="m1", conversation_id="c1", account_id="a1",
                                           platform="wechat", direction="in", remote_id="42",
                                           text="你好", created_at=NOW))
            session.flush()
            session.add(InteractionMessage(id="m2", conversation_id="c1", account_id="a1",
                                           platform="wechat", direction="in", remote_id="42",
                                           text="你好", created_at=NOW))
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()
            _seed(session)
            session.add(Conversation(id="c2", org_id="o1", account_id="a1", platform="wechat",
                                     kind="message", thread_key="openid-1"))
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()
    finally:
        engine.dispose()


def test_every_platform_declares_its_interaction_limits() -> None:
    wechat = platforms.spec("wechat").capabilities.interaction
    assert wechat.one_reply_per_comment and wechat.can_elect and wechat.list_comments
    assert wechat.comment_page_max < 50  # "count > 50" is refused; the docs disagree at 50
    weibo = platforms.spec("weibo").capabilities.interaction
    assert (weibo.reply_max_chars, weibo.replies_per_hour) == (140, 60)
    assert not weibo.can_hide  # comments/destroy only removes the account's own comments


def test_a_missing_interaction_call_says_which() -> None:
    class Partial(NoInteraction):
        platform = "weibo"

    account = AccountRef(id="a1", platform="weibo", api_base="http://x", credentials={})
    with pytest.raises(NotImplementedError, match="weibo: reply_comment"):
        asyncio.run(Partial().reply_comment(account, PostRef("1"), "2", "谢谢"))
