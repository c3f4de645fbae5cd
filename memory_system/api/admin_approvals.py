"""``/admin/approvals``: database rollback requests (runbook option C) and their approvals.

``GET`` lists the requests (admin token). ``POST /admin/approvals/{id}`` records an approval:
the credential is the approver's own token in ``X-Approver-Token`` (``tokens create
--approver NAME --role manager|dba``), not the admin token, so that whoever holds the admin
token cannot approve as the Engineering Manager or the DBA.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query

from memory_system.api.deps import get_runtime, require_admin
from memory_system.api.error_body import responses
from memory_system.api.responses import answers
from memory_system.api.responses.approvals import ApprovalRequest, ApprovalRequests
from memory_system.auth.approvers import ApproverService
from memory_system.ops.approvals import (
    ApprovalRefused,
    ApprovalService,
    ApproverNotAuthorised,
    RequestNotFound,
)
from memory_system.runtime import Runtime

router = APIRouter(prefix="/admin/approvals", tags=["admin: approvals"], responses=responses(500, 503))

RequestId = Annotated[int, Path(ge=1, le=2**62, description="the approval request's id")]


def _service(runtime: Runtime) -> ApprovalService:
    service = ApprovalService(runtime.db, ApproverService(runtime.db))
    if not service.ready():
        raise HTTPException(
            409, f"no approval tables: run 'memory-system db migrate --db {runtime.settings.db_path}' first"
        )
    return service


@router.get(
    "",
    dependencies=[Depends(require_admin)],
    responses={**answers(ApprovalRequests), **responses(401, 403, 409, 422)},
)
def list_approvals(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    all_requests: Annotated[
        bool, Query(alias="all", description="every request, not only the pending ones")
    ] = False,
) -> dict[str, Any]:
    """Requests with the filled-in template and the approvals given; pending ones by default."""
    views = _service(runtime).list(pending_only=not all_requests)
    return {"requests": [v.to_dict() for v in views]}


@router.post("/{request_id}", responses={**answers(ApprovalRequest), **responses(401, 404, 409, 422)})
def approve(
    request_id: RequestId,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    x_approver_token: Annotated[
        str | None, Header(description="the approver's token (msa_...), from 'tokens create --approver'")
    ] = None,
) -> dict[str, Any]:
    """Record the approval of the approver whose token this is; the request as it now stands."""
    if not x_approver_token or not x_approver_token.strip():
        raise HTTPException(
            401,
            "approver token required: send 'X-Approver-Token: <token>' (an operator issues one with "
            "'memory-system tokens create --approver NAME --role manager|dba')",
        )
    service = _service(runtime)
    try:
        return service.approve(request_id, x_approver_token.strip()).to_dict()
    except ApproverNotAuthorised as exc:
        raise HTTPException(401, str(exc)) from exc
    except RequestNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except ApprovalRefused as exc:
        raise HTTPException(409, str(exc)) from exc
