"""Packing ranked items into a context block that never exceeds its token budget.

Items arrive in priority order; each is added only if the block still fits. The cost of an
item is its own rendered text plus, for the first item of a section or tier group, that
heading. Because the token counter is sub-additive (``tokens.py``), the sum of those costs
bounds the count of the assembled block; ``render`` still counts the final block and drops
the last-added items should it ever be over, so the guarantee does not rest on the
accounting alone.

Sections always render in the same order (preferences, memories by tier, code patterns,
entities), whatever order items were added in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from memory_system.memory.injection.token_count import count_tokens, truncate_to_tokens
from memory_system.memory.records.models import Memory

__all__ = [
    "MIN_MEMORY_TOKENS",
    "MIN_TRUNCATED_TOKENS",
    "SECTIONS",
    "BlockBuilder",
    "Item",
    "add_memories",
    "entity_item",
    "manifest_of",
    "memory_item",
    "plain",
    "try_within",
]

SECTIONS = ("preferences", "memories", "code_patterns", "entities")
TIER_ORDER = ("long_term", "short_term", "working")
_TITLES = {
    "preferences": "User preferences",
    "memories": "Relevant memories",
    "code_patterns": "Code patterns",
    "entities": "Related entities",
    "long_term": "Long-term",
    "short_term": "Short-term",
    "working": "Working (this session)",
}
# A memory cut to fewer tokens than this says too little to be worth its place.
MIN_TRUNCATED_TOKENS = 16
MIN_MEMORY_TOKENS = 8  # "- [2024-05-01] x" already counts 8: below this nothing fits


@dataclass
class Item:
    """One entry of the block: its markdown line(s), its JSON value, its manifest entry.

    For preferences ``json_key`` is the preference key (the JSON section is an object);
    every other section is a list. ``group`` is the tier of a memory when tiers show.
    """

    section: str
    markdown: str
    value: Any
    manifest: dict[str, Any]
    group: str | None = None
    json_key: str | None = None
    truncatable_text: str | None = None

    def __post_init__(self) -> None:
        # Every line after the first is indented, whatever the value holds: a preference,
        # a pattern name or an observation with a line break must not start a heading or an
        # item of its own (the manifest would not list it).
        lines = self.markdown.splitlines() or [self.markdown]
        self.markdown = "\n".join([lines[0], *(ln if ln.startswith("  ") else "  " + ln for ln in lines[1:])])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class BlockBuilder:
    fmt: str
    budget: int
    added: list[Item] = field(default_factory=list)
    used: int = 0
    _headings: set[tuple[str, str | None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.fmt not in ("markdown", "json"):
            raise ValueError("format must be 'markdown' or 'json'")
        if self.fmt == "json":
            self.used = count_tokens("{}")

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def _heading_cost(self, item: Item) -> int:
        cost = 0
        if (item.section, None) not in self._headings:
            if self.fmt == "markdown":
                cost += count_tokens(f"\n## {_TITLES[item.section]}\n")
            else:
                opener = "{" if item.section == "preferences" or item.group else "["
                cost += count_tokens(f'"{item.section}":{opener}' + "],")
        if item.group is not None and (item.section, item.group) not in self._headings:
            if self.fmt == "markdown":
                cost += count_tokens(f"### {_TITLES[item.group]}\n")
            else:
                cost += count_tokens(f'"{item.group}":[' + "],")
        return cost

    def _item_cost(self, item: Item) -> int:
        if self.fmt == "markdown":
            return count_tokens(item.markdown + "\n")
        if item.json_key is not None:
            return count_tokens(f"{_json(item.json_key)}:{_json(item.value)},")
        return count_tokens(_json(item.value) + ",")

    def try_add(self, item: Item) -> bool:
        # Cheap refusal first: an item never counts fewer tokens than a quarter of its characters.
        if (len(item.markdown) + 3) // 4 > self.remaining and self.fmt == "markdown":
            return False
        cost = self._heading_cost(item) + self._item_cost(item)
        if cost > self.remaining:
            return False
        self._commit(item, cost)
        return True

    def try_add_truncated(self, item: Item, rebuild: Any) -> bool:
        """Add ``rebuild(shorter_text)`` with the text cut to what remains, if enough remains."""
        if item.truncatable_text is None:
            return False
        empty = rebuild("")
        room = self.remaining - self._heading_cost(empty) - self._item_cost(empty)
        if room < MIN_TRUNCATED_TOKENS:
            return False
        shorter = truncate_to_tokens(item.truncatable_text, room)
        while shorter:
            candidate = rebuild(shorter)
            candidate.manifest["truncated"] = True
            if self.try_add(candidate):
                return True
            room -= max(1, room // 8)
            if room < MIN_TRUNCATED_TOKENS:
                return False
            shorter = truncate_to_tokens(item.truncatable_text, room)
        return False

    def _commit(self, item: Item, cost: int) -> None:
        self._headings.add((item.section, None))
        if item.group is not None:
            self._headings.add((item.section, item.group))
        self.added.append(item)
        self.used += cost

    def render(self) -> tuple[str, list[Item], int]:
        """The block, the items in it, and its exact token count (never over budget)."""
        items = list(self.added)
        while True:
            text = render(items, self.fmt)
            tokens = count_tokens(text)
            if tokens <= self.budget or not items:
                if tokens > self.budget:  # even an empty JSON frame is over a budget of 1
                    return "", [], 0
                return text, items, tokens
            items.pop()


def _ordered(items: Sequence[Item], section: str) -> list[Item]:
    return [i for i in items if i.section == section]


def render(items: Sequence[Item], fmt: str) -> str:
    return _render_markdown(items) if fmt == "markdown" else _render_json(items)


def _groups(memories: list[Item]) -> list[tuple[str | None, list[Item]]]:
    if all(m.group is None for m in memories):
        return [(None, memories)]
    return [
        (g, [m for m in memories if m.group == g]) for g in TIER_ORDER if any(m.group == g for m in memories)
    ]


def _render_markdown(items: Sequence[Item]) -> str:
    lines: list[str] = []
    for section in SECTIONS:
        chosen = _ordered(items, section)
        if not chosen:
            continue
        if lines:
            lines.append("")
        lines.append(f"## {_TITLES[section]}")
        if section == "memories":
            for group, members in _groups(chosen):
                if group is not None:
                    lines.append(f"### {_TITLES[group]}")
                lines.extend(m.markdown for m in members)
        else:
            lines.extend(i.markdown for i in chosen)
    return "\n".join(lines)


def _render_json(items: Sequence[Item]) -> str:
    out: dict[str, Any] = {}
    for section in SECTIONS:
        chosen = _ordered(items, section)
        if not chosen:
            continue
        if section == "preferences":
            out[section] = {i.json_key: i.value for i in chosen}
        elif section == "memories":
            groups = _groups(chosen)
            if groups[0][0] is None:
                out[section] = [m.value for m in chosen]
            else:
                out[section] = {g: [m.value for m in members] for g, members in groups}
        else:
            out[section] = [i.value for i in chosen]
    return _json(out) if out else ""


# --- the items injection packs --------------------------------------------------------


def entity_item(entity: Any) -> Item:
    observations = "; ".join(entity.observations[:5])
    text = f"- **{entity.name}** ({entity.entity_type})" + (f": {observations}" if observations else "")
    value = {"name": entity.name, "type": entity.entity_type, "observations": list(entity.observations[:5])}
    return Item("entities", text, value, {"name": entity.name})


def plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def memory_item(
    memory: Memory,
    total: float,
    relevance: float,
    scores: dict[str, float],
    tiers: bool,
    content: str | None = None,
) -> Item:
    text = memory.content if content is None else content
    date = memory.occurred_at[:10]
    body = "\n  ".join(text.splitlines()) or text
    value = {"id": memory.id, "date": date, "content": text}
    manifest = {
        "id": memory.id,
        "tier": memory.tier,
        "score": round(total, 6),
        "relevance": round(relevance, 6),
        "scores": scores,
    }
    item = Item("memories", f"- [{date}] {body}", value, manifest, group=memory.tier if tiers else None)
    item.truncatable_text = memory.content
    item.manifest["_expires_at"] = memory.expires_at
    item.manifest["_agent_id"] = memory.agent_id
    return item


def add_memories(
    builder: BlockBuilder, ranked: list[tuple[Memory, float, float, dict[str, float]]], tiers: bool
) -> None:
    truncated_once = False
    for memory, total, relevance, scores in ranked:
        if builder.remaining < MIN_MEMORY_TOKENS:
            break
        item = memory_item(memory, total, relevance, scores, tiers)
        if builder.try_add(item) or truncated_once:
            continue
        truncated_once = builder.try_add_truncated(
            item, lambda text, m=memory, t=total, r=relevance, s=scores: memory_item(m, t, r, s, tiers, text)
        )


def try_within(builder: BlockBuilder, item: Item, cap: int) -> bool:
    saved = builder.budget
    builder.budget = min(saved, cap)
    try:
        return builder.try_add(item)
    finally:
        builder.budget = saved


def manifest_of(items: list[Item]) -> dict[str, Any]:
    out: dict[str, Any] = {"preferences": [], "memories": [], "code_patterns": [], "entities": []}
    for item in items:
        out[item.section].append({k: v for k, v in item.manifest.items() if not k.startswith("_")})
    return out
