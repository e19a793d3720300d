"""End to end on PostgreSQL + Redis + the sandbox + real worker processes."""

from __future__ import annotations


def test_push_reaches_every_account_then_withdraw_removes_every_copy(fanout):
    fanout.seed(accounts=120)
    item = fanout.approved_item()
    pushed = fanout.push(item, {"orgs": ["yun"], "platforms": ["wechat", "weibo", "cityapp"]})
    video = fanout.approved_video()
    pushed_video = fanout.push(video, {"orgs": ["yun"], "platforms": ["douyin"]})
    assert pushed["total"] + pushed_video["total"] == 120
    fanout.start_workers(2)
    progress = fanout.wait_dispatch(pushed["dispatch_id"], timeout=60)
    failed = fanout.hub.get(f"/api/v1/dispatches/{pushed['dispatch_id']}/deliveries?state=failed")
    reasons = {(d["platform"], d["error"]) for d in failed.json["items"]}
    video_progress = fanout.wait_dispatch(pushed_video["dispatch_id"], timeout=60)
    published = sum(p["counts"]["published"] + p["counts"]["pending_review"]
                    for p in (progress, video_progress))
    assert published == 120, (reasons, video_progress)
    assert fanout.live_posts() == 120
    withdrawn = 0
    for one in (item, video):
        withdrawal = fanout.withdraw(one)
        done = fanout.wait_withdrawal(withdrawal["withdrawal_id"], timeout=60)
        assert done["remaining"] == 0, done
        withdrawn += done["counts"]["withdrawn"]
    assert withdrawn == 120
    assert fanout.live_posts() == 0
    assert fanout.duplicates() == 0
