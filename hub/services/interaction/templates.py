"""常用回复 (an org's canned replies) and an org's interaction settings (approval of replies,
the deadline rule). An org sees its own templates and those of the orgs above it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import ApiError, not_found
from ...infra.ids import new_id
from ...messages import Message
from ...models import InteractionSetting, Org, ReplyTemplate
from ...security.audit import record
from ...security.auth import Principal
from ...security.permissions import require
from ...validation import flag, rfc3339, text
from ..orgs import get_by_slug
from .deadlines import MAX_WORKING_DAYS, settings_for


def template_json(template: ReplyTemplate, org_slug: str) -> dict[str, Any]:
    return {"id": template.id, "org": org_slug, "title": template.title, "text": template.text,
            "created_at": rfc3339(template.created_at)}


def _org(session: Session, principal: Principal, slug: Any) -> Org:
    if slug is not None and not isinstance(slug, str):
        raise ApiError(422, Message("templates.org"), code="invalid", details={"field": "org"})
    if slug:
        return get_by_slug(session, slug)
    if principal.org_id is None:
        raise ApiError(422, Message("templates.org"), code="invalid", details={"field": "org"})
    org = session.get(Org, principal.org_id)
    assert org is not None
    return org


def list_templates(session: Session, principal: Principal, *, org: str | None) -> list[dict]:
    """The templates an org may use: its own and its ancestors'."""
    require(principal, "inbox.read")
    if not org and principal.org_id is None:
        rows = session.execute(select(ReplyTemplate, Org.slug).join(
            Org, Org.id == ReplyTemplate.org_id).order_by(ReplyTemplate.title)).all()
        return [template_json(t, slug) for t, slug in rows]
    target = _org(session, principal, org)
    if org:
        require(principal, "inbox.read", org_path=target.path)
    ids = [p for p in target.path.strip("/").split("/") if p]
    rows = session.execute(select(ReplyTemplate, Org.slug).join(
        Org, Org.id == ReplyTemplate.org_id).where(ReplyTemplate.org_id.in_(ids))
        .order_by(ReplyTemplate.title)).all()
    return [template_json(t, slug) for t, slug in rows]


def create_template(session: Session, principal: Principal,
                    body: dict[str, Any]) -> dict[str, Any]:
    org = _org(session, principal, body.get("org"))
    require(principal, "inbox.triage", org_path=org.path)
    template = ReplyTemplate(id=new_id("rt"), org_id=org.id,
                             title=text(body, "title", max_len=200),
                             text=text(body, "text", max_len=2000),
                             created_by=principal.user_id)
    session.add(template)
    session.flush()
    record(session, "reply_template.create", target=template.id, org_id=org.id)
    return template_json(template, org.slug)


def delete_template(session: Session, principal: Principal, template_id: str) -> None:
    template = session.get(ReplyTemplate, template_id)
    if template is None:
        raise not_found("常用回复", template_id)
    org = session.get(Org, template.org_id)
    assert org is not None
    require(principal, "inbox.triage", org_path=org.path)
    session.delete(template)
    record(session, "reply_template.delete", target=template_id, org_id=org.id)


def settings_json(setting: InteractionSetting, org_slug: str) -> dict[str, Any]:
    return {"org": org_slug, "replies_need_approval": setting.replies_need_approval,
            "deadline_working_days": setting.deadline_working_days}


def get_settings(session: Session, principal: Principal, slug: str) -> dict[str, Any]:
    org = get_by_slug(session, slug)
    require(principal, "inbox.read", org_path=org.path)
    return settings_json(settings_for(session, org.id), org.slug)


def put_settings(session: Session, principal: Principal, slug: str,
                 body: dict[str, Any]) -> dict[str, Any]:
    org = get_by_slug(session, slug)
    require(principal, "inbox.manage", org_path=org.path)
    current = settings_for(session, org.id)
    days = body.get("deadline_working_days", current.deadline_working_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WORKING_DAYS:
        raise ApiError(422, Message("settings.deadline_days", max=MAX_WORKING_DAYS),
                       code="invalid", details={"field": "deadline_working_days"})
    approval = flag(body, "replies_need_approval", current.replies_need_approval)
    row = session.get(InteractionSetting, org.id)
    if row is None:
        row = InteractionSetting(org_id=org.id)
        session.add(row)
    row.replies_need_approval, row.deadline_working_days = approval, days
    row.updated_by = principal.user_id
    session.flush()
    record(session, "interaction_settings.update", target=org.id, org_id=org.id,
           details={"replies_need_approval": approval, "deadline_working_days": days})
    return settings_json(row, org.slug)
