"""The ledger's inspection verdicts in the browser: the dashboard counts the accounts that would
fail and links to them; the ledger page says what fails each one and filters on it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from hub.models import Account, utcnow

LEDGER = {"responsible_person": "李明", "chief_editor": "王芳", "managing_department": "县委宣传部",
          "filing_number": "滇网备-2024-0012"}


def test_the_dashboard_counts_failing_accounts_and_the_ledger_names_why(newsroom):
    good = newsroom.account("c1", "合格账号", **LEDGER)["id"]
    quiet = newsroom.account("c1-k1", "久未更新", **LEDGER)["id"]
    newsroom.account("c1", "未备案账号")
    with newsroom.hub.runtime.db.session() as session:
        session.execute(update(Account).where(Account.id == quiet).values(
            created_at=utcnow() - timedelta(days=200),
            last_published_at=utcnow() - timedelta(days=100)))
    auditor = newsroom.browser("auditor")  # of c1
    page = auditor.text("/admin/")
    assert "账号检查（14天更新窗口）" in page and "受检账号3个，合格1个" in page
    assert 'href="/admin/accounts?inspection=failing"' in page and "不合格2个" in page
    assert "僵尸账号" in page and "备案信息不全" in page

    failing = auditor.text("/admin/accounts?inspection=failing")
    assert "久未更新" in failing and "未备案账号" in failing and "合格账号" not in failing
    assert "超期未更新" in failing and "僵尸账号" in failing
    passing = auditor.text("/admin/accounts?inspection=passing")
    assert f'data-account="{good}"' in passing and "久未更新" not in passing
    assert "Failing inspection" in auditor.text("/admin/accounts?lang=en")
