"""Packing: over random items and budgets the block never exceeds the budget, sections keep
their order, and what was packed is exactly what the block shows."""

from __future__ import annotations

import json
import random
import string

import pytest

from memory_system.memory.injection.block import BlockBuilder, Item
from memory_system.memory.injection.token_count import count_tokens

WORDS = [
    "deploy",
    "staging",
    "user",
    "prefers",
    "dark",
    "mode",
    "über",
    "漢字",
    "{x: 1}",
    "2024-05-01",
    "café",
    "`code`",
    "a",
    "--",
    "🙂",
    "pull-request",
    "x" * 40,
]


def text(rng: random.Random, max_words: int = 60) -> str:
    out = [
        rng.choice(WORDS) if rng.random() < 0.8 else "".join(rng.choice(string.printable) for _ in range(8))
        for _ in range(rng.randint(1, max_words))
    ]
    return " ".join(out)


def random_item(rng: random.Random, n: int) -> Item:
    section = rng.choice(["preferences", "memories", "memories", "code_patterns", "entities"])
    body = text(rng)
    if section == "preferences":
        return Item(section, f"- k{n}: {body}", body, {"key": f"k{n}"}, json_key=f"k{n}")
    group = rng.choice(["long_term", "short_term", "working", None]) if section == "memories" else None
    return Item(
        section,
        f"- {body}",
        {"id": n, "content": body},
        {"id": n},
        group=group,
        truncatable_text=body if section == "memories" else None,
    )


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_never_over_budget_over_random_inputs(fmt: str) -> None:
    rng = random.Random(1234 if fmt == "markdown" else 4321)
    for case in range(400):
        budget = rng.choice([1, 2, 5, 17, 50, 200, 1000, rng.randint(1, 3000)])
        builder = BlockBuilder(fmt, budget)
        items = [random_item(rng, n) for n in range(rng.randint(0, 60))]
        for item in items:
            if not builder.try_add(item) and item.truncatable_text and rng.random() < 0.5:
                builder.try_add_truncated(
                    item,
                    lambda t, it=item: Item(
                        it.section,
                        f"- {t}",
                        {"id": it.value["id"], "content": t},
                        dict(it.manifest),
                        group=it.group,
                        truncatable_text=t,
                    ),
                )
        block, packed, tokens = builder.render()
        assert tokens == count_tokens(block), case
        assert tokens <= budget, (case, budget, tokens)
        assert builder.used <= budget or not builder.added
        assert len(packed) == len(builder.added), "the accounting alone kept the block in budget"
        if fmt == "json" and block:
            json.loads(block)


def test_sections_render_in_fixed_order_whatever_the_add_order() -> None:
    builder = BlockBuilder("markdown", 1000)
    builder.try_add(Item("entities", "- **Alice** (person)", {}, {"name": "Alice"}))
    builder.try_add(Item("memories", "- working note", {}, {"id": 2}, group="working"))
    builder.try_add(Item("memories", "- old fact", {}, {"id": 1}, group="long_term"))
    builder.try_add(Item("preferences", "- tone: terse", "terse", {"key": "tone"}, json_key="tone"))
    block, _, _ = builder.render()
    headings = [line for line in block.splitlines() if line.startswith("#")]
    assert headings == [
        "## User preferences",
        "## Relevant memories",
        "### Long-term",
        "### Working (this session)",
        "## Related entities",
    ]


def test_flat_memories_have_no_tier_headings_and_json_is_a_list() -> None:
    builder = BlockBuilder("json", 1000)
    builder.try_add(Item("memories", "", {"id": 1, "content": "a"}, {"id": 1}))
    builder.try_add(Item("memories", "", {"id": 2, "content": "b"}, {"id": 2}))
    block, _, _ = builder.render()
    assert json.loads(block) == {"memories": [{"id": 1, "content": "a"}, {"id": 2, "content": "b"}]}


def test_a_long_memory_is_cut_to_the_room_left_not_dropped() -> None:
    long = "word " * 2000
    builder = BlockBuilder("markdown", 100)
    item = Item("memories", f"- {long}", {}, {"id": 1}, truncatable_text=long)
    assert not builder.try_add(item)
    assert builder.try_add_truncated(
        item, lambda t: Item("memories", f"- {t}", {}, {"id": 1}, truncatable_text=t)
    )
    block, packed, tokens = builder.render()
    assert 60 <= tokens <= 100
    assert packed[0].manifest["truncated"] is True
    assert block.endswith("…")


def test_bad_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        BlockBuilder("html", 10)
