"""``memory-system tokens ...``: issue, list and revoke agent tokens (works with the service down)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from memory_system.auth.agent_tokens import TokenError, TokenRecord, TokenService
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

app = typer.Typer(help="Agent tokens: each binds an agent id and a namespace.", no_args_is_help=True)


@contextmanager
def _service(option: Path | None) -> Iterator[TokenService]:
    with open_migrated(option, lambda r: r.tokens.ready(), "no agent_tokens table") as runtime:
        yield runtime.tokens


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
    agent: Annotated[str, typer.Option("--agent", help="Agent id the token acts as.")],
    namespace: Annotated[
        str, typer.Option("--namespace", help="Namespace (project) the token is bound to.")
    ] = "default",
    label: Annotated[
        str | None, typer.Option("--label", help="A note for 'tokens list', e.g. who holds it.")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Issue a token and print it once: only its sha256 is stored, it cannot be shown again."""
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


@app.command("list")
def list_tokens(
    active: Annotated[bool, typer.Option("--active", help="Only tokens that are not revoked.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List tokens by id (a hash prefix), agent, namespace and state; never the tokens themselves."""
    with _service(db) as service:
        records = service.list(include_revoked=not active)
    if json:
        print_json([_as_dict(r) for r in records])
        return
    table = new_table(
        "id", "agent", "namespace", "label", "created", "revoked", whole=("id", "agent", "created", "revoked")
    )
    for r in records:
        table.add_row(r.token_id, r.agent_id, r.namespace, r.label or "", r.created_at, r.revoked_at or "")
    print_table(console, table)


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(help="The id 'tokens list' shows (8 or more characters).")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Revoke a token; the running service refuses it from the next request on."""
    with _service(db) as service:
        try:
            record = service.revoke(token_id)
        except TokenError as exc:
            fail(str(exc))
    if json:
        print_json(_as_dict(record))
        return
    typer.echo(f"revoked token {record.token_id} of agent {record.agent_id} ({record.namespace})")
