"""``memory-system approve``: an approver records their approval of a database rollback request,
or anyone lists the requests waiting (``--list``). Works with the service down.

The approver's token comes from ``$MEMORY_SYSTEM_APPROVER_TOKEN`` or ``--token-file``, never
from a command-line argument that would land in shell history and ``ps``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from memory_system.auth.approvers import ApproverService
from memory_system.cli._common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    open_migrated,
    print_json,
)
from memory_system.ops import approvals
from memory_system.ops.approvals import ApprovalRefused, ApprovalService, RequestView
from memory_system.runtime import Runtime

TOKEN_ENV = "MEMORY_SYSTEM_APPROVER_TOKEN"


@contextmanager
def _service(option: Path | None) -> Iterator[ApprovalService]:
    def ready(runtime: Runtime) -> bool:
        return ApprovalService(runtime.db, ApproverService(runtime.db)).ready()

    with open_migrated(option, ready, "no approval tables (migration 006)") as runtime:
        yield ApprovalService(runtime.db, ApproverService(runtime.db))


def _read_token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            fail(f"cannot read --token-file {token_file}: {exc.strerror or exc}")
        if not token:
            fail(f"--token-file {token_file} is empty; put the approver token in it")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        fail(
            f"an approval needs the approver's token: set ${TOKEN_ENV} or give --token-file PATH "
            "(an operator issues one with 'memory-system tokens create --approver NAME --role manager|dba')"
        )
    return token


def print_request(view: RequestView) -> None:
    console.print(approvals.render_template(view), markup=False, highlight=False, soft_wrap=True)
    given = ", ".join(
        f"{a['name']} ({a['role']}{'' if a['counts'] else ', REVOKED: does not count'})"
        for a in view.to_dict()["approvals"]
    )
    console.print(f"Approved by: {given or 'nobody yet'}", markup=False, highlight=False)
    missing = view.missing_roles()
    if missing and view.record.state == "pending":
        console.print(
            f"Waiting for: {' and '.join(missing)}; "
            f"approve with: {approvals.approve_command(view.record.id)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def approve(
    request: Annotated[
        int | None, typer.Option("--request", help="The approval request to approve (its id).", min=1)
    ] = None,
    list_requests: Annotated[
        bool, typer.Option("--list", help="List the pending requests with their filled-in template.")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="With --list: every request (used, expired too).")
    ] = False,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help=f"A file holding the approver token (else ${TOKEN_ENV})."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Approve a database rollback request with your approver token, or --list what waits.

    A rollback (``rollback c --request ID``) proceeds with one manager and one DBA approval
    from two different people, on a pending request that has not expired (4 h)."""
    if (request is None) == (not list_requests):
        fail("give --request ID to approve, or --list to see the pending requests")
    if list_requests:
        with _service(db) as service:
            views = service.list(pending_only=not show_all)
        if json_out:
            print_json([v.to_dict() for v in views])
            return
        if not views:
            console.print(
                "no pending approval requests" if not show_all else "no approval requests", highlight=False
            )
        for view in views:
            print_request(view)
            console.print("")
        return
    assert request is not None
    token = _read_token(token_file)
    with _service(db) as service:
        try:
            view = service.approve(request, token)
        except ApprovalRefused as exc:
            fail(str(exc))
    if json_out:
        print_json(view.to_dict())
        return
    missing = view.missing_roles()
    latest = view.approvals[-1]
    err_console.print(
        f"approved request {request} as {latest.name} ({latest.role}); "
        + (
            f"still waiting for: {' and '.join(missing)}"
            if missing
            else f"ready: run 'memory-system rollback c --request {request}'"
            if view.record.action == approvals.ROLLBACK_C
            else f"ready: run 'memory-system db rollback --request {request} ...'"
        ),
        highlight=False,
        soft_wrap=True,
    )


def create_request(
    db: Path | None,
    *,
    action: str,
    reason: str | None,
    requested_by: str | None,
    expires_in_minutes: float,
    migration: int | None = None,
    backup_path: Path | None = None,
    json_out: bool = False,
) -> None:
    """What ``rollback c --request-approval`` and ``db rollback --request-approval`` run."""
    if not reason:
        fail("an approval request needs --reason TEXT: why the rollback is needed")
    who = requested_by or os.environ.get("USER") or getpass.getuser()
    with _service(db) as service:
        try:
            view = service.request(
                action=action,
                reason=reason,
                requested_by=who,
                migration=migration,
                backup_path=backup_path,
                ttl=timedelta(minutes=expires_in_minutes),
            )
        except ApprovalRefused as exc:
            fail(str(exc))
    if json_out:
        print_json(view.to_dict())
        return
    print_request(view)
    run = (
        f"memory-system rollback c --request {view.record.id}"
        if action == approvals.ROLLBACK_C
        else f"memory-system db rollback --migration {migration or 0:03d} --backup PATH "
        f"--request {view.record.id}"
    )
    console.print(
        f"\nrequest {view.record.id} created; when both have approved: {run}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
