"""/api/v1/dispatches/<id>/retry: send a push's retryable failures again."""

from __future__ import annotations

from flask import jsonify

from ..audit import record
from ..auth import current
from ..errors import not_found
from ..fanout.retry import retry_failed
from ..models import Dispatch, Item, Org
from ..permissions import require
from ..services import items as item_service
from . import api
from .common import rt
from .fanout import _enqueue


@api.post("/dispatches/<dispatch_id>/retry")
def retry_dispatch(dispatch_id: str):
    """Queue a push's failed deliveries again where the cause was passing (platform
    unreachable, rate limited); other failures need a fix first and are left as they are."""
    principal = current()
    require(principal, "item.push")
    runtime = rt()
    with runtime.db.session() as session:
        dispatch = session.get(Dispatch, dispatch_id)
        if dispatch is None:
            raise not_found("推送任务", dispatch_id)
        item: Item = item_service.get(session, dispatch.item_id, for_update=True)
        require(principal, "item.push", org_path=session.get(Org, item.org_id).path)
        result = retry_failed(session, dispatch, item, principal.org_path)
        record(session, "dispatch.retry", target=dispatch.id, item_id=item.id,
               details={"retried": result.retried})
    _enqueue(runtime, "publish", result.queued)
    return jsonify({"dispatch_id": dispatch_id, "retried": result.retried}), 202

