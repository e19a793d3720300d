"""Which targets of a push cannot, or should not, take the item — decided before any row is
written, so the preview and the push skip exactly the same accounts for the same reasons.

A target is skipped (a ``skipped`` delivery with a reason code in ``error_kind`` and a
Chinese-first reason in ``error``; nothing is sent) when, checked in this order:

1. its account cannot publish: closed, suspended, or its credentials were rejected by the
   platform (codes ``account_closed``, ``account_suspended``, ``credentials_rejected``; set by
   ``targets.resolve``);
2. its platform's channel refuses the item: the channel is asked to render the approved
   version (an article to a video-only platform, no cover where one is required, a title or
   body the platform cannot take...; code ``cannot_render``). The check renders without
   producing media bytes, so a limit that only shows once an image is re-encoded is still
   caught by the worker, as a failed delivery;
3. the lineage rule (code ``lineage_live``): the account already carries, or is about to
   carry, another item of the same lineage — the origin of a pulled copy, or any copy pulled
   from that origin — with a delivery that is published, awaiting platform review, scheduled,
   queued or being sent. One account never shows the same story twice; once that delivery is
   withdrawn or failed, a later push sends this item (the skipped row is taken over).

An account that already has a delivery of this very item is not a skip: the push keeps it
(``kept`` in the preview), as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from channels.base import AssetView, CannotRender

from ..models import LIVE, PUBLISH_OPEN, Delivery, Item
from ..platforms import channel
from .render import item_view
from .targets import Target

CANNOT_RENDER = "cannot_render"
LINEAGE_LIVE = "lineage_live"
# A lineage delivery in one of these states means the account shows (or is about to show) it.
CARRYING_STATES = PUBLISH_OPEN + LIVE
LINEAGE_REASON = ("该账号已有同源稿件（原稿或其转载稿），不重复推送 (the account already carries "
                  "an item of the same lineage: its origin or a copy of it)")
LINEAGE_RULE = ("同一稿件的原稿或转载稿已在该账号发布或正在推送的，跳过该账号，避免重复发布；"
                "原稿撤回或推送失败后可再次推送 (an account that already carries the origin "
                "of this item or a copy pulled from the same origin, published or on its way, "
                "is skipped so it never shows the story twice; push again once that copy is "
                "withdrawn or failed)")


class ProbeMedia:
    """A media source that produces no bytes: enough for a channel to say whether it takes an
    item, without re-encoding images or reading videos during a click."""

    def original(self, asset: AssetView) -> bytes:
        return b""

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        return b"", "image/png" if asset.content_type == "image/png" else "image/jpeg"


def refusals(session: Session, item: Item, platforms: Iterable[str],
             public_base: str) -> dict[str, CannotRender]:
    """Per platform, why its channel refuses the item's approved version (absent: it takes it)."""
    wanted = sorted(set(platforms))
    if not wanted:
        return {}
    view = item_view(session, item.id, item.approved_version or item.version, public_base)
    refused: dict[str, CannotRender] = {}
    for platform in wanted:
        try:
            channel(platform).render(view, ProbeMedia())
        except CannotRender as err:
            refused[platform] = err
    return refused


def lineage_holders(session: Session, item: Item, account_ids: list[str]) -> dict[str, str]:
    """Accounts (among ``account_ids``) carrying another item of ``item``'s lineage, with the
    item each one carries."""
    root = item.root_id or item.id
    kin = [r[0] for r in session.execute(select(Item.id).where(
        or_(Item.id == root, Item.root_id == root), Item.id != item.id)).all()]
    if not kin or not account_ids:
        return {}
    wanted = set(account_ids)
    held: dict[str, str] = {}
    rows = session.execute(select(Delivery.account_id, Delivery.item_id).where(
        Delivery.item_id.in_(kin), Delivery.state.in_(CARRYING_STATES)))
    for account_id, item_id in rows:
        if account_id in wanted:
            held.setdefault(account_id, item_id)
    return held


def assess(session: Session, item: Item, targets: list[Target],
           public_base: str) -> list[Target]:
    """``targets`` with every skip this module describes filled in (order kept)."""
    open_targets = [t for t in targets if not t.skip_reason]
    refused = refusals(session, item, {t.platform for t in open_targets}, public_base)
    held = lineage_holders(session, item, [t.account_id for t in open_targets
                                           if t.platform not in refused])
    judged: list[Target] = []
    for target in targets:
        if target.skip_reason:
            judged.append(target)
        elif target.platform in refused:
            err = refused[target.platform]
            judged.append(replace(target, skip_code=CANNOT_RENDER, skip_reason=err.reason,
                                  skip_field=err.field))
        elif target.account_id in held:
            judged.append(replace(
                target, skip_code=LINEAGE_LIVE, held_item=held[target.account_id],
                skip_reason=LINEAGE_REASON))
        else:
            judged.append(target)
    return judged
