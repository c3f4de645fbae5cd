"""Every group of the API through ``MemoryClient``, against a real ``memory-system serve``."""

from __future__ import annotations

import pytest

from memory_system.client import MemoryClient, MemoryServiceError, models
from tests.client.conftest import Service


def test_memories_create_list_get_update_delete_and_search(service: Service) -> None:
    with MemoryClient(service.url, token=service.planner, timeout_s=30) as memory:
        created = memory.remember("deploys freeze on Fridays", kind="fact", importance=0.8)
        assert isinstance(created, models.MemoryWrite)
        assert (created.agent_id, created.namespace, created.reinforced) == ("planner", "proj", False)
        again = memory.remember("deploys freeze on Fridays", kind="fact", importance=0.8)
        assert (again.id, again.reinforced) == (created.id, True)  # a repeat adds no row

        batch = memory.remember_many([{"content": "the CI runner has 2 cores"}, {"content": "use ruff"}])
        assert (batch.created, batch.reinforced, len(batch.items)) == (2, 0, 2)

        page = memory.list_memories(limit=2)
        assert [m.id for m in page.memories] == [batch.items[1].id, batch.items[0].id]
        assert page.next_cursor is not None and page.tiers in ("hierarchical", "flat")
        rest = memory.list_memories(limit=2, cursor=page.next_cursor)
        assert [m.id for m in rest.memories] == [created.id]

        assert memory.get_memory(created.id).content == "deploys freeze on Fridays"
        changed = memory.update_memory(created.id, importance=0.3, metadata={"source": "wiki"})
        assert (changed.importance, changed.metadata) == (0.3, {"source": "wiki"})

        found = memory.search("deploys Friday", k=5)
        assert found.hits and found.hits[0].memory.id == created.id and found.hits[0].score > 0

        assert memory.delete_memory(batch.items[0].id) == batch.items[0].id
        with pytest.raises(MemoryServiceError) as gone:
            memory.get_memory(batch.items[0].id)
        assert (gone.value.status, gone.value.error) == (404, "not_found")


def test_inject_gives_a_block_with_what_was_remembered(service: Service) -> None:
    with MemoryClient(service.url, token=service.planner, timeout_s=30) as memory:
        memory.remember("the staging database is on port 5433")
        memory.set_preference("ana", "tone", "terse")
        injected = memory.inject("which port is staging on?", user_id="ana", token_budget=300)
        assert "5433" in injected.block and injected.tokens <= 300
        assert injected.mode in ("enhanced", "degraded", "legacy")


def test_sessions_state_versions_and_handoff(service: Service) -> None:
    with (
        MemoryClient(service.url, token=service.planner, timeout_s=30) as planner,
        MemoryClient(service.url, token=service.coder, timeout_s=30) as coder,
    ):
        session = planner.start_session()
        assert planner.get_session(session.session_id).agent_id == "planner"
        state = planner.get_state(session.session_id)
        assert (state.state, state.version) == ({}, 0)
        state = planner.put_state(session.session_id, {"step": 1}, version=0)
        assert state.version == 1
        with pytest.raises(MemoryServiceError) as stale:
            planner.put_state(session.session_id, {"step": 2}, version=0)
        assert (stale.value.status, stale.value.code) == (409, "stale_version")

        working = planner.remember("the flaky test waits on port 5432", session_id=session.session_id)
        handed = planner.handoff(session.session_id, "coder")
        assert (handed.to_agent_id, handed.memories_moved, handed.state_version) == ("coder", 1, 1)
        assert coder.get_state(handed.new_session_id).state == {"step": 1}
        assert coder.get_memory(working.id).agent_id == "coder"
        assert planner.get_session(session.session_id).ended_at is not None
        assert coder.end_session(handed.new_session_id).ended_at is not None


def test_shares_grant_list_and_revoke(service: Service) -> None:
    with (
        MemoryClient(service.url, token=service.planner, timeout_s=30) as planner,
        MemoryClient(service.url, token=service.coder, timeout_s=30) as coder,
    ):
        mine = planner.remember("the release branch is cut on Mondays")
        with pytest.raises(MemoryServiceError):
            coder.get_memory(mine.id)
        granted = planner.share(mine.id, ["coder"])
        assert [(g.agent_id, g.active) for g in granted.shares] == [("coder", True)]
        assert planner.share(mine.id, ["coder"]).shares == granted.shares  # a set: granting twice is once
        assert coder.get_memory(mine.id).content == "the release branch is cut on Mondays"
        assert planner.list_shares(mine.id).shares == granted.shares
        assert planner.revoke(mine.id, ["coder"]).shares == []
        with pytest.raises(MemoryServiceError) as hidden:
            coder.get_memory(mine.id)
        assert hidden.value.status == 404


def test_preferences_and_code_patterns(service: Service) -> None:
    with MemoryClient(service.url, token=service.planner, timeout_s=30) as memory:
        assert memory.set_preference("ana", "editor", "vim").value == "vim"
        assert memory.set_preference("ana", "editor", "helix").value == "helix"
        assert memory.get_preference("ana", "editor").updated_by == "planner"
        assert [p.key for p in memory.list_preferences("ana").preferences] == ["editor"]
        assert memory.delete_preference("ana", "editor") == "editor"

        pattern = memory.put_code_pattern("Python", "context manager", example="with open(p) as f: ...")
        assert (pattern.language, pattern.name) == ("python", "context manager")
        assert memory.put_code_pattern("python", "context manager", description="x").id == pattern.id
        assert memory.get_code_pattern(pattern.id).description == "x"
        assert [p.id for p in memory.list_code_patterns(language="python").code_patterns] == [pattern.id]
        hits = memory.search_code_patterns("context manager").code_patterns
        assert hits[0].id == pattern.id and hits[0].score is not None
        assert memory.delete_code_pattern(pattern.id) == pattern.id


def test_entities_relations_observations_and_the_graph(service: Service) -> None:
    with MemoryClient(service.url, token=service.planner, timeout_s=30) as memory:
        created = memory.create_entities(
            [
                {"name": "ana", "entityType": "person", "observations": ["writes Go"]},
                {"name": "billing", "entityType": "service", "observations": []},
            ]
        )
        assert [(e.name, e.entity_type) for e in created] == [("ana", "person"), ("billing", "service")]
        assert memory.create_entities([{"name": "ana", "entityType": "person", "observations": []}]) == []
        relations = memory.create_relations([{"from": "ana", "to": "billing", "relationType": "owns"}])
        assert [(r.source, r.target, r.relation_type) for r in relations] == [("ana", "billing", "owns")]
        assert memory.add_observations("ana", ["on call"]) == ["on call"]
        detail = memory.get_entity("ana")
        assert detail.entity.observations == ["writes Go", "on call"] and len(detail.relations) == 1
        assert {e.name for e in memory.search_graph("billing").entities} == {"billing"}
        assert len(memory.read_graph().entities) == 2
        assert memory.delete_entities(["billing"]) == 1


def test_operator_calls(service: Service) -> None:
    with MemoryClient(service.url, admin_token=service.admin, timeout_s=30) as operator:
        assert operator.ready().ready
        assert "USE_CROSS_AGENT_SHARING" in operator.feature_flags()["flags"]
        assert "flags" in operator.feature_flag_stats()
