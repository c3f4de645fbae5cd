"""The knowledge graph keeps the reference MCP memory server's semantics, per namespace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory_system.memory.graph.entities import (
    MAX_BATCH,
    MAX_NAME_CHARS,
    MAX_OBSERVATION_CHARS,
    Entity,
    EntityNotFound,
    InvalidInput,
    KnowledgeGraph,
    ObservationSet,
    Relation,
)
from memory_system.store.connection import Database, open_connection

Rows = Callable[[Path], object]


@pytest.fixture
def graph(migrated_db: Path) -> Iterator[KnowledgeGraph]:
    db = Database(migrated_db)
    yield KnowledgeGraph(db)
    db.close()


def seed(graph: KnowledgeGraph, namespace: str = "default") -> None:
    graph.create_entities(
        [
            Entity("Ada", "person", ("wrote the first program", "liked poetry")),
            Entity("Babbage", "person", ("designed the Analytical Engine",)),
            Entity("Engine", "machine", ()),
            Entity("Paris", "city", ("capital of France",)),
        ],
        namespace,
    )
    graph.create_relations(
        [
            Relation("Ada", "Babbage", "worked_with"),
            Relation("Babbage", "Engine", "designed"),
            Relation("Paris", "Ada", "was_visited_by"),
        ],
        namespace,
    )


def names(entities: object) -> list[str]:
    return [e.name for e in entities]  # type: ignore[attr-defined]


def test_create_entities_skips_existing_names_and_returns_only_new(graph: KnowledgeGraph) -> None:
    first = graph.create_entities([Entity("Ada", "person", ("a", "b", "a"))])
    assert first == [Entity("Ada", "person", ("a", "b"))]
    again = graph.create_entities(
        [Entity("Ada", "robot", ("c",)), Entity("Bob", "person"), Entity("Bob", "x")]
    )
    assert again == [Entity("Bob", "person")]
    assert graph.read_graph().to_dict()["entities"] == [
        {"name": "Ada", "entityType": "person", "observations": ["a", "b"]},
        {"name": "Bob", "entityType": "person", "observations": []},
    ]


def test_create_relations_skips_exact_duplicates_only(graph: KnowledgeGraph) -> None:
    seed(graph)
    created = graph.create_relations(
        [
            Relation("Ada", "Babbage", "worked_with"),  # exists
            Relation("Babbage", "Ada", "worked_with"),  # other direction: new
            Relation("Ada", "Babbage", "admired"),  # other type: new
            Relation("Ada", "Babbage", "admired"),  # repeated in the call
        ]
    )
    assert created == [Relation("Babbage", "Ada", "worked_with"), Relation("Ada", "Babbage", "admired")]
    assert len(graph.read_graph().relations) == 5


def test_relation_to_an_unknown_entity_names_it_and_creates_nothing(
    graph: KnowledgeGraph, migrated_db: Path, graph_rows: Rows
) -> None:
    seed(graph)
    before = graph_rows(migrated_db)
    with pytest.raises(EntityNotFound) as err:
        graph.create_relations([Relation("Ada", "Engine", "used"), Relation("Ada", "Nobody", "knows")])
    assert err.value.field == "relations[1].to" and "'Nobody'" in str(err.value)
    assert graph_rows(migrated_db) == before


def test_add_observations_adds_only_new_ones(graph: KnowledgeGraph) -> None:
    seed(graph)
    result = graph.add_observations(
        [
            ObservationSet("Ada", ("liked poetry", "was a countess", "was a countess")),
            ObservationSet("Engine", ("never finished",)),
        ]
    )
    assert result == [
        ObservationSet("Ada", ("was a countess",)),
        ObservationSet("Engine", ("never finished",)),
    ]
    ada = graph.open_nodes(["Ada"]).entities[0]
    assert ada.observations == ("wrote the first program", "liked poetry", "was a countess")


def test_add_observations_to_an_unknown_entity_fails_and_adds_nothing(
    graph: KnowledgeGraph, migrated_db: Path, graph_rows: Rows
) -> None:
    seed(graph)
    before = graph_rows(migrated_db)
    with pytest.raises(EntityNotFound) as err:
        graph.add_observations([ObservationSet("Ada", ("new",)), ObservationSet("Ghost", ("boo",))])
    assert err.value.field == "observations[1].entityName" and "'Ghost'" in str(err.value)
    assert graph_rows(migrated_db) == before


def test_delete_entities_cascades_to_observations_and_relations(
    graph: KnowledgeGraph, migrated_db: Path
) -> None:
    seed(graph)
    assert graph.delete_entities(["Babbage", "Nobody"]) == 1
    remaining = graph.read_graph()
    assert names(remaining.entities) == ["Ada", "Engine", "Paris"]
    assert remaining.relations == (Relation("Paris", "Ada", "was_visited_by"),)
    conn = open_connection(migrated_db, create=False)
    orphans = conn.execute(
        "SELECT count(*) FROM observations WHERE entity_id NOT IN (SELECT id FROM entities)"
    ).fetchone()[0]
    assert orphans == 0
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_delete_observations_and_relations_remove_matches_silently(graph: KnowledgeGraph) -> None:
    seed(graph)
    deleted = graph.delete_observations(
        [
            ObservationSet("Ada", ("liked poetry", "never said")),
            ObservationSet("Ghost", ("boo",)),
        ]
    )
    assert deleted == 1
    assert graph.open_nodes(["Ada"]).entities[0].observations == ("wrote the first program",)
    assert (
        graph.delete_relations(
            [
                Relation("Ada", "Babbage", "worked_with"),
                Relation("Ada", "Babbage", "never_met"),
                Relation("Ghost", "Ada", "haunts"),
            ]
        )
        == 1
    )
    assert Relation("Ada", "Babbage", "worked_with") not in graph.read_graph().relations
    assert len(graph.read_graph().relations) == 2


def test_search_matches_names_types_and_observations_ignoring_case(graph: KnowledgeGraph) -> None:
    seed(graph)
    assert names(graph.search_nodes("BABB").entities) == ["Babbage"]  # name
    assert names(graph.search_nodes("Machine").entities) == ["Engine"]  # type
    assert names(graph.search_nodes("analytical").entities) == ["Babbage"]  # observation
    assert names(graph.search_nodes("person").entities) == ["Ada", "Babbage"]
    assert graph.search_nodes("zzz").to_dict() == {"entities": [], "relations": []}
    assert names(graph.search_nodes("").entities) == ["Ada", "Babbage", "Engine", "Paris"]


def test_search_folds_case_beyond_ascii(graph: KnowledgeGraph) -> None:
    graph.create_entities([Entity("Ärger", "Gefühl", ("ÜBER alles",))])
    assert names(graph.search_nodes("ärger").entities) == ["Ärger"]
    assert names(graph.search_nodes("über").entities) == ["Ärger"]
    assert names(graph.search_nodes("GEFÜHL").entities) == ["Ärger"]


def test_search_agrees_with_python_case_folding_on_mixed_text(graph: KnowledgeGraph) -> None:
    """The ASCII fast path and the Unicode path together give exactly ``q.lower() in text.lower()``."""
    import random

    rng = random.Random(3)
    alphabet = [
        "a",
        "A",
        "k",
        "K",
        "\u212a",
        "i",
        "I",
        "\u0130",
        "\u00e4",
        "\u00c4",
        " ",
        "z",
        "%",
        "_",
        "\\",
    ]
    texts = ["z" + "".join(rng.choices(alphabet, k=rng.randint(1, 8))) for _ in range(300)]
    graph.create_entities([Entity(f"e{i}", "t", (text,)) for i, text in enumerate(texts)])
    for _ in range(60):
        query = "".join(rng.choices(alphabet, k=rng.randint(1, 3)))
        expected = [f"e{i}" for i, text in enumerate(texts) if query.lower() in text.lower()]
        assert names(graph.search_nodes(query).entities) == expected, repr(query)
    assert names(graph.search_nodes("kelvin").entities) == []
    graph.create_entities([Entity("\u212aelvin", "unit")])
    assert names(graph.search_nodes("kelvin").entities) == ["\u212aelvin"]


def test_search_treats_sql_wildcards_literally(graph: KnowledgeGraph) -> None:
    graph.create_entities([Entity("100% done", "status"), Entity("plain", "status", ("a_b",))])
    assert names(graph.search_nodes("%").entities) == ["100% done"]
    assert names(graph.search_nodes("_").entities) == ["plain"]


def test_search_and_open_return_relations_touching_the_found_entities(graph: KnowledgeGraph) -> None:
    seed(graph)
    found = graph.search_nodes("engine")  # Engine by name, Babbage by observation
    assert names(found.entities) == ["Babbage", "Engine"]
    assert found.relations == (
        Relation("Ada", "Babbage", "worked_with"),
        Relation("Babbage", "Engine", "designed"),
    )
    opened = graph.open_nodes(["Paris", "Nobody"])
    assert names(opened.entities) == ["Paris"]
    assert opened.relations == (Relation("Paris", "Ada", "was_visited_by"),)
    assert graph.open_nodes(["Nobody"]).to_dict() == {"entities": [], "relations": []}


def test_namespaces_never_see_each_other(graph: KnowledgeGraph) -> None:
    seed(graph, "alpha")
    graph.create_entities([Entity("Ada", "robot", ("lives in beta",))], "beta")
    assert names(graph.read_graph("alpha").entities) == ["Ada", "Babbage", "Engine", "Paris"]
    assert graph.read_graph("beta").to_dict() == {
        "entities": [{"name": "Ada", "entityType": "robot", "observations": ["lives in beta"]}],
        "relations": [],
    }
    assert graph.read_graph().to_dict() == {"entities": [], "relations": []}
    assert graph.search_nodes("poetry", "beta").entities == ()
    assert graph.open_nodes(["Babbage"], "beta").entities == ()
    with pytest.raises(EntityNotFound):
        graph.create_relations([Relation("Ada", "Babbage", "knows")], "beta")
    with pytest.raises(EntityNotFound):
        graph.add_observations([ObservationSet("Paris", ("x",))], "beta")
    assert graph.delete_entities(["Babbage"], "beta") == 0
    assert graph.delete_observations([ObservationSet("Ada", ("liked poetry",))], "beta") == 0
    assert graph.delete_relations([Relation("Ada", "Babbage", "worked_with")], "beta") == 0
    assert graph.counts("alpha") == {"entities": 4, "observations": 4, "relations": 3}
    graph.delete_entities(["Ada"], "beta")
    assert names(graph.read_graph("alpha").entities)[0] == "Ada"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda g: g.create_entities([Entity("ok", "t"), Entity(" ", "t")]), "entities[1].name"),
        (lambda g: g.create_entities([Entity("x", "")]), "entities[0].entityType"),
        (lambda g: g.create_entities([Entity("x", "t", ("",))]), "entities[0].observations[0]"),
        (lambda g: g.create_entities([Entity("x" * (MAX_NAME_CHARS + 1), "t")]), "entities[0].name"),
        (
            lambda g: g.create_entities([Entity("x", "t", ("o" * (MAX_OBSERVATION_CHARS + 1),))]),
            "entities[0].observations[0]",
        ),
        (lambda g: g.create_entities([Entity(f"e{i}", "t") for i in range(MAX_BATCH + 1)]), "entities"),
        (lambda g: g.create_entities([Entity(3, "t")]), "entities[0].name"),  # type: ignore[arg-type]
        (lambda g: g.create_relations([Relation("Ada", "Babbage", "")]), "relations[0].relationType"),
        (lambda g: g.create_relations([Relation("", "Babbage", "x")]), "relations[0].from"),
        (lambda g: g.add_observations([ObservationSet("", ("x",))]), "observations[0].entityName"),
        (lambda g: g.add_observations([ObservationSet("Ada", ("ok", " "))]), "observations[0].contents[1]"),
        (lambda g: g.delete_entities(["Ada", ""]), "entityNames[1]"),
        (lambda g: g.delete_observations([ObservationSet("Ada", ("",))]), "deletions[0].observations[0]"),
        (lambda g: g.delete_relations([Relation("Ada", "", "x")]), "relations[0].to"),
        (lambda g: g.open_nodes([""]), "names[0]"),
        (lambda g: g.search_nodes("q" * 5000), "query"),
        (lambda g: g.read_graph(""), "namespace"),
        (lambda g: g.create_entities([Entity("x", "t")], namespace=" "), "namespace"),
        (lambda g: g.list_entities(limit=0), "limit"),
        (lambda g: g.create_entities([Entity("bad \ud800 name", "t")]), "entities[0].name"),
        (lambda g: g.search_nodes("\udfff"), "query"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    graph: KnowledgeGraph, migrated_db: Path, graph_rows: Rows, call: object, field: str
) -> None:
    seed(graph)
    before = graph_rows(migrated_db)
    with pytest.raises(InvalidInput) as err:
        call(graph)  # type: ignore[operator]
    assert err.value.field == field
    assert str(err.value).startswith(field)
    assert graph_rows(migrated_db) == before


def test_get_entity_returns_it_with_its_relations_or_names_the_missing_one(graph: KnowledgeGraph) -> None:
    seed(graph)
    ada = graph.get_entity("Ada")
    assert names(ada.entities) == ["Ada"] and len(ada.relations) == 2
    with pytest.raises(EntityNotFound, match="'Nobody'"):
        graph.get_entity("Nobody")


def test_list_entities_pages_in_creation_order_and_filters(graph: KnowledgeGraph) -> None:
    seed(graph)
    first, after_first = graph.list_entities(limit=2)
    assert names(first) == ["Ada", "Babbage"] and after_first == 2
    second, after_second = graph.list_entities(limit=2, offset=2)
    assert names(second) == ["Engine", "Paris"] and after_second is None
    assert graph.list_entities(limit=2, offset=4) == ([], None)
    assert graph.list_entities(query="PERSON", limit=1, offset=1) == (
        [Entity("Babbage", "person", ("designed the Analytical Engine",))],
        None,
    )
    everything, _ = graph.list_entities(limit=MAX_BATCH)
    assert len(everything) == 4


def test_every_row_records_when_it_was_created(graph: KnowledgeGraph, migrated_db: Path) -> None:
    seed(graph)
    conn = open_connection(migrated_db, create=False)
    for table in ("entities", "observations", "relations"):
        stamps = [r[0] for r in conn.execute(f"SELECT created_at FROM {table}")]
        assert stamps and all(s.endswith("Z") and "T" in s for s in stamps)
    conn.close()


def test_large_name_lists_are_handled_in_chunks(graph: KnowledgeGraph) -> None:
    batch = [Entity(f"node{i}", "t", (f"obs {i}",)) for i in range(MAX_BATCH)]
    assert len(graph.create_entities(batch)) == MAX_BATCH
    graph.create_relations([Relation(f"node{i}", f"node{i + 1}", "next") for i in range(MAX_BATCH - 1)])
    opened = graph.open_nodes([f"node{i}" for i in range(MAX_BATCH)])
    assert len(opened.entities) == MAX_BATCH and len(opened.relations) == MAX_BATCH - 1
    assert graph.delete_entities([f"node{i}" for i in range(0, MAX_BATCH, 2)]) == MAX_BATCH // 2
    assert graph.counts() == {"entities": 500, "observations": 500, "relations": 0}


def scope(graph: KnowledgeGraph, namespace: str = "default") -> int:
    from memory_system.store.scope_versions import scope_version

    return scope_version(graph.db.reader(), namespace)


def test_every_graph_write_that_changes_something_bumps_the_scope_version(graph: KnowledgeGraph) -> None:
    """The injection cache keys on the scope version: a graph write that left it alone would
    let a cached block hide the change for the cache's TTL."""
    writes: list[tuple[str, Callable[[], object]]] = [
        (
            "create_entities",
            lambda: graph.create_entities([Entity("Ada", "person"), Entity("Bob", "person")]),
        ),
        ("create_relations", lambda: graph.create_relations([Relation("Ada", "Bob", "knows")])),
        ("add_observations", lambda: graph.add_observations([ObservationSet("Ada", ("wrote code",))])),
        ("delete_observations", lambda: graph.delete_observations([ObservationSet("Ada", ("wrote code",))])),
        ("delete_relations", lambda: graph.delete_relations([Relation("Ada", "Bob", "knows")])),
        ("delete_entities", lambda: graph.delete_entities(["Bob"])),
        ("import_graph", lambda: graph.import_graph([Entity("Cy", "person", ("new",))], [])),
    ]
    for name, write in writes:
        before, other = scope(graph), scope(graph, "elsewhere")
        write()
        assert scope(graph) == before + 1, name
        write()  # the same write again changes nothing: no bump, cached blocks stay valid
        assert scope(graph) == before + 1, name
        assert scope(graph, "elsewhere") == other, name


def test_a_failed_graph_write_leaves_the_scope_version_alone(graph: KnowledgeGraph) -> None:
    graph.create_entities([Entity("Ada", "person")])
    before = scope(graph)
    with pytest.raises(EntityNotFound):
        graph.create_relations([Relation("Ada", "Nobody", "knows")])
    with pytest.raises(EntityNotFound):
        graph.add_observations([ObservationSet("Ada", ("x",)), ObservationSet("Nobody", ("y",))])
    assert scope(graph) == before
    assert graph.read_graph().to_dict()["entities"] == [
        {"name": "Ada", "entityType": "person", "observations": []}
    ]


def test_a_new_entity_shows_in_the_next_injection_not_a_cached_block(tmp_path: Path) -> None:
    """The real Injector (full-text retrieval, no model needed): a block cached before a graph
    write is not served after it; the next request misses and carries the change."""
    from memory_system.core.settings import Settings
    from memory_system.memory.injection.injector import InjectionFlags
    from memory_system.ops import schema
    from memory_system.runtime import Runtime

    db = tmp_path / "inject.db"
    schema.migrate(db)
    runtime = Runtime(Settings(db_path=db, config_path=tmp_path / "absent.json", embedder="none"))
    try:
        flags = InjectionFlags(enhanced=True, tiers=True, sharing=False)

        def inject() -> Any:
            return runtime.injector.inject(
                agent_id="a1", namespace="proj", query="what is Zanzibar about?", flags=flags
            )

        runtime.memories.create_batch(
            namespace="proj",
            agent_id="a1",
            items=[{"content": "Zanzibar is the codename of the billing rewrite."}],
        )
        first = inject()
        assert first.cache == "miss" and "Zanzibar" in first.block
        assert "Spice" not in first.block and inject().cache == "hit"
        runtime.graph.create_entities([Entity("Zanzibar", "project", ("Spice island rewrite",))], "proj")
        after_create = inject()
        assert after_create.cache == "miss" and "Spice island rewrite" in after_create.block
        assert inject().cache == "hit"
        runtime.graph.add_observations([ObservationSet("Zanzibar", ("ships in March",))], "proj")
        assert "ships in March" in inject().block
        runtime.graph.delete_entities(["Zanzibar"], "proj")
        after_delete = inject()
        assert after_delete.cache == "miss" and "Spice island rewrite" not in after_delete.block
    finally:
        runtime.close()
