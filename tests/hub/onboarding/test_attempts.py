"""The platform-neutral record of an onboarding attempt, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.models import Account, Org
from hub.services.onboarding import attempts
from tests.hub.helpers import make_account, make_org


def _orgs(hub) -> tuple[str, str]:
    make_org(hub, "yun", "province")
    make_org(hub, "k1", "county", "yun")
    make_org(hub, "k2", "county", "yun")
    with hub.runtime.db.session() as session:
        ids = dict(session.execute(select(Org.slug, Org.id)).all())
    return ids["k1"], ids["k2"]


def test_an_attempt_is_found_by_its_secret_and_claimed_once(hub):
    k1, _ = _orgs(hub)
    box = hub.runtime.box
    with hub.runtime.db.session() as session:
        attempt = attempts.create(session, box, org_id=k1, platform="weibo",
                                  secret="state-abc", expires_in=600, started_by=None)
        assert attempt.correlation_key != "state-abc"
        assert "state-abc" not in attempt.correlation_key
    with hub.runtime.db.session() as session:
        found = attempts.find(session, box, "state-abc", "weibo")
        assert found is not None and found.status == attempts.PENDING
        assert attempts.find(session, box, "state-abc", "douyin") is None
        assert attempts.find(session, box, "state-abd", "weibo") is None
        assert attempts.claim(session, found) is True
        assert attempts.claim(session, found) is False
        attempts.finish(session, found, attempts.COMPLETED, identity="uid-1")
    with hub.runtime.db.session() as session:
        done = attempts.find(session, box, "state-abc", "weibo")
        assert done.status == "completed" and done.identity == "uid-1"
        assert done.completed_at is not None


def test_an_expired_attempt_is_not_claimed(hub):
    k1, _ = _orgs(hub)
    with hub.runtime.db.session() as session:
        attempt = attempts.create(session, hub.runtime.box, org_id=k1, platform="douyin",
                                  secret="s", expires_in=600, started_by=None)
        assert attempts.claim(session, attempt,
                              now=attempt.expires_at + timedelta(seconds=1)) is False
        assert attempt.status == attempts.EXPIRED


def test_an_attempt_never_binds_an_account_of_another_org(hub):
    k1, _ = _orgs(hub)
    make_account(hub, "k2", "other-org-account")
    with hub.runtime.db.session() as session:
        other = session.scalar(select(Account).where(Account.name == "other-org-account"))
        attempt = attempts.create(session, hub.runtime.box, org_id=k1, platform="wechat",
                                  secret="pac", expires_in=600, started_by=None)
        with pytest.raises(ValueError):
            attempts.finish(session, attempt, attempts.COMPLETED, account=other)
