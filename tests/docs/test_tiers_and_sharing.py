"""docs/tiers-and-sharing.md: the tier thresholds it lists are the ones TierPolicy reads, with
the defaults it starts from; the trust model's typed-store policy is the one the code reads."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from memory_system.core.settings_loader import camel
from memory_system.memory.tiers.rules import TierPolicy
from memory_system.memory.typed.policy import TypedStorePolicy

DOC = (Path(__file__).resolve().parents[2] / "docs" / "tiers-and-sharing.md").read_text()


def _documented() -> dict[str, object]:
    section = DOC.split("## Tiers", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```json\n(.+?)\n```", section, re.DOTALL)
    assert block is not None, "no JSON defaults in the Tiers section"
    tiers: dict[str, object] = json.loads(block.group(1))["tiers"]
    return tiers


def test_every_threshold_is_listed() -> None:
    assert set(_documented()) == {camel(f.name) for f in dataclasses.fields(TierPolicy)}


def test_the_listed_values_are_the_defaults() -> None:
    assert TierPolicy.from_mapping(_documented()) == TierPolicy()


def test_every_threshold_named_in_the_rules_exists() -> None:
    section = DOC.split("## Tiers", 1)[1].split("```json", 1)[0]
    named = set(re.findall(r"`([a-z]+(?:[A-Z][a-z]+)+)`", section))
    assert named and named <= set(_documented())


def test_the_trust_model_shows_every_typed_store_with_its_default_policy() -> None:
    section = DOC.split("## Trust model", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```json\n(.+?)\n```", section, re.DOTALL)
    assert block is not None, "no JSON defaults in the Trust model section"
    documented = json.loads(block.group(1))["typedStores"]
    assert documented == TypedStorePolicy().to_config()
    assert TypedStorePolicy.from_mapping(documented) == TypedStorePolicy()
    assert all(f"`typedStores.{store}.writers`" in section for store in documented)
