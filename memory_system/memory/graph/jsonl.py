"""The reference MCP memory server's ``memory.jsonl``: import into a namespace, export from one.

One JSON object per line, ``{"type":"entity","name","entityType","observations"}`` or
``{"type":"relation","from","to","relationType"}``; blank lines are ignored, as the
reference does. Import reads and checks the whole file before writing anything, then
writes in one transaction: a bad line is an error naming its number and nothing is
imported. Export writes a temporary file next to the target and renames it, so a reader
never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_system.memory.graph.entities import (
    DEFAULT_NAMESPACE,
    Entity,
    GraphError,
    KnowledgeGraph,
    Relation,
)


class JsonlError(ValueError):
    """The file cannot be imported or written; the message names the line or the path."""


@dataclass
class ImportSummary:
    path: str
    namespace: str
    lines: int = 0
    entities_created: int = 0
    entities_merged: int = 0
    observations_added: int = 0
    relations_created: int = 0
    relations_existing: int = 0
    # (line number, missing entity name) of each relation skipped for a missing endpoint
    relations_skipped: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "namespace": self.namespace,
            "lines": self.lines,
            "entities_created": self.entities_created,
            "entities_merged": self.entities_merged,
            "observations_added": self.observations_added,
            "relations_created": self.relations_created,
            "relations_existing": self.relations_existing,
            "relations_skipped": [{"line": line, "missing": name} for line, name in self.relations_skipped],
        }


@dataclass
class ExportSummary:
    path: str
    namespace: str
    entities: int
    relations: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "namespace": self.namespace,
            "entities": self.entities,
            "relations": self.relations,
        }


def _string(item: dict[str, Any], key: str, line: int) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise JsonlError(f"line {line}: field {key!r} must be a string, got {json.dumps(value)[:60]}")
    return value


def parse_lines(text: str) -> tuple[list[tuple[int, Entity]], list[tuple[int, Relation]]]:
    """Entities and relations with the line each came from; ``JsonlError`` on the first bad line."""
    entities: list[tuple[int, Entity]] = []
    relations: list[tuple[int, Relation]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise JsonlError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(item, dict):
            raise JsonlError(f"line {number}: expected a JSON object, got {type(item).__name__}")
        kind = item.get("type")
        if kind == "entity":
            observations = item.get("observations", [])
            if not isinstance(observations, list) or not all(isinstance(o, str) for o in observations):
                raise JsonlError(f"line {number}: field 'observations' must be a list of strings")
            entities.append(
                (
                    number,
                    Entity(
                        _string(item, "name", number),
                        _string(item, "entityType", number),
                        tuple(observations),
                    ),
                )
            )
        elif kind == "relation":
            relations.append(
                (
                    number,
                    Relation(
                        _string(item, "from", number),
                        _string(item, "to", number),
                        _string(item, "relationType", number),
                    ),
                )
            )
        else:
            raise JsonlError(
                f'line {number}: field \'type\' must be "entity" or "relation", got {json.dumps(kind)[:60]}'
            )
    return entities, relations


def import_jsonl(
    graph: KnowledgeGraph, path: str | Path, namespace: str = DEFAULT_NAMESPACE
) -> ImportSummary:
    """Merge the file's graph into ``namespace`` (see ``KnowledgeGraph.import_graph``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JsonlError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise JsonlError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise JsonlError(f"{path}: cannot read ({exc.strerror})") from None
    entities, relations = parse_lines(text)
    try:
        result = graph.import_graph([e for _, e in entities], [r for _, r in relations], namespace)
    except GraphError as exc:
        raise JsonlError(_line_of(exc.field, entities, relations) + exc.message) from None
    return ImportSummary(
        path=str(path),
        namespace=namespace,
        lines=len(entities) + len(relations),
        entities_created=result.entities_created,
        entities_merged=result.entities_merged,
        observations_added=result.observations_added,
        relations_created=result.relations_created,
        relations_existing=result.relations_existing,
        relations_skipped=[(relations[i][0], name) for i, name in result.missing_endpoints],
    )


def _line_of(field: str, entities: list[tuple[int, Entity]], relations: list[tuple[int, Relation]]) -> str:
    """Turn ``entities[3].name`` into ``line 7: field 'name' `` for the user."""
    for prefix, rows in (("entities[", entities), ("relations[", relations)):
        if field.startswith(prefix):
            index, _, rest = field[len(prefix) :].partition("]")
            key = rest.lstrip(".").split("[")[0]
            return f"line {rows[int(index)][0]}: field {key!r} "
    return f"{field}: "


_COMPACT = (",", ":")  # as JavaScript's JSON.stringify writes, so exports diff cleanly against the reference


def dumps_graph(graph: KnowledgeGraph, namespace: str) -> tuple[list[str], int, int]:
    data = graph.read_graph(namespace)
    lines = [
        json.dumps(
            {
                "type": "entity",
                "name": e.name,
                "entityType": e.entity_type,
                "observations": list(e.observations),
            },
            ensure_ascii=False,
            separators=_COMPACT,
        )
        for e in data.entities
    ]
    lines += [
        json.dumps(
            {"type": "relation", "from": r.from_entity, "to": r.to_entity, "relationType": r.relation_type},
            ensure_ascii=False,
            separators=_COMPACT,
        )
        for r in data.relations
    ]
    return lines, len(data.entities), len(data.relations)


def export_jsonl(
    graph: KnowledgeGraph, path: str | Path, namespace: str = DEFAULT_NAMESPACE
) -> ExportSummary:
    """Write the namespace's graph to ``path`` atomically (temp file, fsync, rename)."""
    path = Path(path)
    lines, n_entities, n_relations = dumps_graph(graph, namespace)
    if path.is_dir():
        raise JsonlError(f"{path} is a directory; give a file path such as {path / 'memory.jsonl'}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise JsonlError(f"{parent}: no such directory; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise JsonlError(f"{parent}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
        _fsync_dir(parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ExportSummary(str(path), namespace, n_entities, n_relations)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
