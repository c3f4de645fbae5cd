"""``memory-system tokens ...``: issue, list and revoke agent tokens and approver identities
(works with the service down)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from memory_system.auth.agent_tokens import TokenError, TokenRecord, TokenService
from memory_system.auth.approvers import ROLES, ApproverRecord, ApproverService
from memory_system.cli._common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    open_migrated,
    print_json,
)
from memory_system.cli._tables import new_table, print_table

app = typer.Typer(
    help="Agent tokens (each binds an agent id and a namespace) and approver identities "
    "(a person and a role: manager or dba, who approve a database rollback).",
    no_args_is_help=True,
)


@contextmanager
def _service(option: Path | None) -> Iterator[TokenService]:
    with open_migrated(option, lambda r: r.tokens.ready(), "no agent_tokens table") as runtime:
        yield runtime.tokens


@contextmanager
def _both(option: Path | None) -> Iterator[tuple[TokenService, ApproverService | None]]:
    """Agent tokens, and approvers where the database has them (migration 006)."""
    with open_migrated(option, lambda r: r.tokens.ready(), "no agent_tokens table") as runtime:
        approvers = ApproverService(runtime.db)
        yield runtime.tokens, approvers if approvers.ready() else None


@contextmanager
def _approvers(option: Path | None) -> Iterator[ApproverService]:
    with open_migrated(
        option, lambda r: ApproverService(r.db).ready(), "no approvers table (migration 006)"
    ) as runtime:
        yield ApproverService(runtime.db)


def _approver_dict(record: ApproverRecord) -> dict[str, object]:
    return {
        "id": record.token_id,
        "kind": "approver",
        "name": record.name,
        "role": record.role,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
    }


def _as_dict(record: TokenRecord) -> dict[str, object]:
    return {
        "id": record.token_id,
        "agent_id": record.agent_id,
        "namespace": record.namespace,
        "label": record.label,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
    }


@app.command()
def create(
    agent: Annotated[str | None, typer.Option("--agent", help="Agent id the token acts as.")] = None,
    approver: Annotated[
        str | None,
        typer.Option("--approver", help="An approver's name (a person): a token to approve rollbacks with."),
    ] = None,
    role: Annotated[
        str | None, typer.Option("--role", help=f"The approver's role: {' or '.join(ROLES)}.")
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", help="Namespace (project) the token is bound to.")
    ] = "default",
    label: Annotated[
        str | None, typer.Option("--label", help="A note for 'tokens list', e.g. who holds it.")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Issue a token and print it once: only its sha256 is stored, it cannot be shown again.

    ``--agent A [--namespace P]`` issues an agent token; ``--approver NAME --role manager|dba``
    an approver identity, whose token approves database rollbacks ('memory-system approve')."""
    if (agent is None) == (approver is None):
        fail("give --agent ID for an agent token, or --approver NAME --role manager|dba, not both")
    if approver is not None:
        _create_approver(approver, role, db, json)
        return
    if role is not None:
        fail("--role is for approvers: give --approver NAME --role manager|dba")
    assert agent is not None
    with _service(db) as service:
        try:
            issued = service.create(agent, namespace, label)
        except TokenError as exc:
            fail(str(exc))
    if json:
        print_json({"token": issued.token, **_as_dict(issued.record)})
        return
    typer.echo(issued.token)
    err_console.print(
        f"token {issued.record.token_id} for agent {agent!r} in namespace {namespace!r}; "
        "store it now, it is not shown again. Use it as: Authorization: Bearer <token>",
        highlight=False,
    )


def _create_approver(name: str, role: str | None, db: Path | None, json: bool) -> None:
    if role is None:
        fail(f"an approver needs --role {'|'.join(ROLES)}")
    with _approvers(db) as service:
        try:
            issued = service.create(name, role)
        except TokenError as exc:
            fail(str(exc))
    if json:
        print_json({"token": issued.token, **_approver_dict(issued.record)})
        return
    typer.echo(issued.token)
    err_console.print(
        f"approver {issued.record.token_id}: {issued.record.name!r} as {issued.record.role}; hand the token "
        "to that person only, it is not shown again. They approve with: "
        "MEMORY_SYSTEM_APPROVER_TOKEN=<token> memory-system approve --request ID",
        highlight=False,
    )


@app.command("list")
def list_tokens(
    active: Annotated[bool, typer.Option("--active", help="Only tokens that are not revoked.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List agent tokens by id (a hash prefix), agent, namespace and state, then approvers by
    id, name, role and state; never the tokens themselves."""
    with _both(db) as (service, approvers):
        records = service.list(include_revoked=not active)
        people = approvers.list(include_revoked=not active) if approvers else []
    if json:
        print_json([{"kind": "agent", **_as_dict(r)} for r in records] + [_approver_dict(p) for p in people])
        return
    table = new_table(
        "id", "agent", "namespace", "label", "created", "revoked", whole=("id", "agent", "created", "revoked")
    )
    for r in records:
        table.add_row(r.token_id, r.agent_id, r.namespace, r.label or "", r.created_at, r.revoked_at or "")
    print_table(console, table)
    if people:
        approver_table = new_table(
            "id", "approver", "role", "created", "revoked", whole=("id", "role", "created", "revoked")
        )
        for p in people:
            approver_table.add_row(p.token_id, p.name, p.role, p.created_at, p.revoked_at or "")
        print_table(console, approver_table)


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(help="The id 'tokens list' shows (8 or more characters).")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Revoke a token or an approver; the running service refuses it from the next request on,
    and a revoked approver's approvals stop counting."""
    with _both(db) as (service, approvers):
        try:
            if approvers is not None and approvers.matching(token_id):
                person = approvers.revoke(token_id)
                if json:
                    print_json(_approver_dict(person))
                    return
                typer.echo(f"revoked approver {person.token_id}: {person.name} ({person.role})")
                return
            record = service.revoke(token_id)
        except TokenError as exc:
            fail(str(exc))
    if json:
        print_json(_as_dict(record))
        return
    typer.echo(f"revoked token {record.token_id} of agent {record.agent_id} ({record.namespace})")
