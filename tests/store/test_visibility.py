"""The visibility predicate against every combination of owner, grant, expiry and flag."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from memory_system.store.connection import open_connection
from memory_system.store.scope import Visibility
from memory_system.store.visibility import visible_sql

NOW = "2030-06-01T12:00:00.000Z"
PAST, FUTURE = "2030-06-01T11:59:59.999Z", "2030-06-01T12:00:00.001Z"
GRANTS = {"none": [], "to_viewer": ["viewer"], "to_other": ["other"], "namespace": [None]}


def expected(
    owner: str,
    viewer_ns: str,
    visibility: str,
    grant: str,
    grant_expiry: str | None,
    memory_expiry: str | None,
    sharing: bool,
) -> bool:
    if viewer_ns != "proj" or (memory_expiry is not None and memory_expiry <= NOW):
        return False
    if owner == "viewer":
        return True
    if not sharing:
        return False
    live_grant = grant_expiry is None or grant_expiry > NOW
    return visibility == "namespace" or (grant in ("to_viewer", "namespace") and live_grant)


@pytest.mark.parametrize("sharing", [True, False])
def test_visible_sql_matches_the_rules_for_every_combination(migrated_db: Path, sharing: bool) -> None:
    conn = open_connection(migrated_db)
    cases = list(
        itertools.product(
            ["viewer", "owner"],
            ["private", "shared", "namespace"],
            GRANTS,
            [None, PAST, NOW, FUTURE],
            [None, PAST, NOW, FUTURE],
        )
    )
    for i, (owner, visibility, grant, grant_expiry, memory_expiry) in enumerate(cases):
        conn.execute(
            "INSERT INTO memories (id, namespace, agent_id, content, content_hash, visibility, expires_at)"
            " VALUES (?, 'proj', ?, ?, ?, ?, ?)",
            (i + 1, owner, f"m{i}", f"h{i}", visibility, memory_expiry),
        )
        for grantee in GRANTS[grant]:
            conn.execute(
                "INSERT INTO memory_shares (memory_id, namespace, grantee_agent_id, granted_by, expires_at)"
                " VALUES (?, 'proj', ?, ?, ?)",
                (i + 1, grantee, owner, grant_expiry),
            )
    for viewer_ns in ("proj", "elsewhere"):
        visibility = Visibility(agent_id="viewer", namespace=viewer_ns, sharing_enabled=sharing, now=NOW)
        where, params = visible_sql("m", visibility)
        seen = {row[0] for row in conn.execute(f"SELECT id FROM memories m WHERE {where}", params)}
        want = {
            i + 1
            for i, case in enumerate(cases)
            if expected(case[0], viewer_ns, case[1], case[2], case[3], case[4], sharing)
        }
        assert seen == want
    conn.close()
