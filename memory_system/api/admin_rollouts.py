"""``/admin/rollouts``: progressive rollout of a flag, step by step, held back by CRITICAL alerts.

``POST /admin/rollouts`` starts one (the flag goes to the first step at once); the service's
rollout driver moves it up when each hold has passed (``flags/rollout.py``). Pause, resume and
abort take the flag in the path. Bad input changes nothing: 422 ``invalid_rollout`` naming the
field, 404 ``rollout_not_found`` (nothing to pause, resume or abort), 409 ``rollout_conflict``
(a second rollout of a flag, resume of a running one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from pydantic import Field, StringConstraints

from memory_system.api.deps import get_runtime, require_admin
from memory_system.api.error_body import responses
from memory_system.api.fields import NOT_BLANK, Body
from memory_system.api.responses import answers
from memory_system.api.responses.rollouts import Rollout, Rollouts
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.rollout import (
    DEFAULT_HOLD,
    DEFAULT_STEPS,
    MAX_HOLD_S,
    MAX_STEPS,
    RolloutConflict,
    RolloutError,
    RolloutNotFound,
)
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/admin/rollouts",
    tags=["admin: rollouts"],
    dependencies=[Depends(require_admin)],
    responses=responses(401, 403, 500, 503),
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

if TYPE_CHECKING:
    FlagName = str
else:  # the flags' names, as an enum of the schema
    FlagName = Literal[FLAG_NAMES]

Actor = Annotated[
    str | None,
    StringConstraints(max_length=200, pattern=NOT_BLANK),
    Header(description="Who makes the change, for the audit trail; default admin."),
]
Reason = Annotated[str, StringConstraints(max_length=1000)]
Hold = (
    Annotated[str, StringConstraints(min_length=1, max_length=32)]
    | Annotated[float, Field(ge=0, le=MAX_HOLD_S, allow_inf_nan=False)]
)


class RolloutIn(Body):
    flag: FlagName
    steps: Annotated[list[float], Field(min_length=1, max_length=MAX_STEPS)] = Field(
        default=list(DEFAULT_STEPS),
        description="Rising fractions in (0, 1]; the flag goes to the first at once.",
    )
    hold: Hold = Field(
        default=DEFAULT_HOLD,
        description="How long each step is held before the next: 30s, 5m, 1h, 2d, or seconds.",
    )


class ReasonIn(Body):
    reason: Reason = ""


_STATUS = {RolloutNotFound: 404, RolloutConflict: 409}
T = TypeVar("T")


def _answer(call: Callable[[], T]) -> T:
    try:
        return call()
    except RolloutError as exc:
        status = next((s for kind, s in _STATUS.items() if isinstance(exc, kind)), 422)
        raise HTTPException(
            status, detail={"error": exc.kind, "field": exc.field, "message": str(exc)}
        ) from None


@router.get("", responses={**answers(Rollouts), **responses(422)})
def list_rollouts(
    runtime: RuntimeDep,
    flag: Annotated[FlagName | None, Query(description="Only this flag.")] = None,
) -> dict[str, Any]:
    """Each flag's newest rollout: state, step, next step at, reason, and every event."""
    return {"rollouts": _answer(lambda: runtime.rollouts.status(flag))}


@router.post(
    "",
    status_code=201,
    responses={**answers(Rollout, 201, "Started"), **responses(400, 409, 413, 422)},
)
def start_rollout(runtime: RuntimeDep, body: RolloutIn, x_actor: Actor = None) -> dict[str, Any]:
    """Start a rollout of ``flag``: its database value goes to ``steps[0]`` now, and up one step
    after each ``hold`` in which no CRITICAL alert fired."""
    return _answer(lambda: runtime.rollouts.start(body.flag, body.steps, body.hold, actor=x_actor or "admin"))


@router.post("/{flag}/pause", responses={**answers(Rollout), **responses(400, 404, 409, 413, 422)})
def pause_rollout(
    runtime: RuntimeDep, flag: FlagName, body: ReasonIn | None = None, x_actor: Actor = None
) -> dict[str, Any]:
    """Hold the rollout at its step (the flag keeps the step's value) until resumed."""
    reason = body.reason if body else ""
    return _answer(lambda: runtime.rollouts.pause(flag, actor=x_actor or "admin", reason=reason))


@router.post("/{flag}/resume", responses={**answers(Rollout), **responses(404, 409, 422)})
def resume_rollout(runtime: RuntimeDep, flag: FlagName, x_actor: Actor = None) -> dict[str, Any]:
    """Run a paused rollout again: the step's value back on the flag, its hold from now."""
    return _answer(lambda: runtime.rollouts.resume(flag, actor=x_actor or "admin"))


@router.post("/{flag}/abort", responses={**answers(Rollout), **responses(400, 404, 409, 413, 422)})
def abort_rollout(
    runtime: RuntimeDep, flag: FlagName, body: ReasonIn | None = None, x_actor: Actor = None
) -> dict[str, Any]:
    """End the rollout and turn the flag off (0), as runbook option A does."""
    reason = body.reason if body else ""
    return _answer(lambda: runtime.rollouts.abort(flag, actor=x_actor or "admin", reason=reason))
