"""Users: created by an admin (or the CLI), each with one bearer token shown once."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from ..auth import issue_token
from ..errors import invalid
from ..ids import new_id
from ..models import ROLES, Org, User
from ..validation import rfc3339

_hasher = PasswordHasher()


def parse_roles(roles: Any, review_stage: Any) -> tuple[list[str], int | None]:
    if not isinstance(roles, list) or not roles or not all(r in ROLES for r in roles):
        raise invalid("roles", f"roles 必须是 {'、'.join(ROLES)} 中的一个或多个 "
                               f"(roles: one or more of {', '.join(ROLES)})")
    if "reviewer" in roles:
        if review_stage not in (1, 2, 3):
            raise invalid("review_stage", "审核人须指定审级 1、2 或 3 (a reviewer needs "
                                          "review_stage 1, 2 or 3)")
    elif review_stage is not None:
        raise invalid("review_stage", "只有审核人有审级 (only reviewers have a review_stage)")
    return list(dict.fromkeys(roles)), review_stage


def create(session: Session, *, org: Org | None, name: str, roles: list[str],
           review_stage: int | None, password: str | None = None) -> tuple[User, str]:
    if password is not None and (not isinstance(password, str) or len(password) < 10):
        raise invalid("password", "密码至少10位 (password must be at least 10 characters)")
    user = User(id=new_id("usr"), org_id=org.id if org else None, name=name, roles=roles,
                review_stage=review_stage,
                password_hash=_hasher.hash(password) if password else None)
    session.add(user)
    session.flush()
    return user, issue_token(session, user.id, label="created")


def to_json(user: User, org_slug: str | None) -> dict[str, Any]:
    return {"id": user.id, "org": org_slug, "name": user.name, "roles": list(user.roles),
            "review_stage": user.review_stage, "disabled": user.disabled,
            "created_at": rfc3339(user.created_at)}
