"""docs/retrieval.md: the injection config it documents is the one the injector reads, key for
key and default for default."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from memory_system.core.config import ConfigError
from memory_system.core.settings import Settings
from memory_system.memory.injection.injector import load_injection_config
from memory_system.memory.injection.ranking import RankingConfig
from memory_system.runtime import Runtime

DOC = (Path(__file__).resolve().parents[2] / "docs" / "retrieval.md").read_text()


def _section() -> str:
    return DOC.split("## Injection", 1)[1].split("\n## ", 1)[0]


def _documented_defaults() -> dict[str, object]:
    block = re.search(r"```json\n(.+?)\n```", _section(), re.DOTALL)
    assert block is not None, "no JSON example in the Injection section"
    config: dict[str, object] = json.loads(block.group(1))["injection"]
    return config


def _known_keys(tmp_path: Path) -> set[str]:
    """The keys the injector accepts, as its refusal of an unknown one lists them."""
    settings = Settings(db_path=tmp_path / "m.db", config_path=tmp_path / "none.json")
    settings.extra["injection"] = {"not_a_key": 1}
    with pytest.raises(ConfigError, match="known keys: ") as refused:
        load_injection_config(settings)
    return set(str(refused.value).split("known keys: ", 1)[1].split(", "))


def test_the_table_and_the_example_name_every_key(tmp_path: Path) -> None:
    table = set(re.findall(r"^\| `(\w+)` \|", _section(), re.MULTILINE))
    known = _known_keys(tmp_path)
    assert known and table == known
    assert set(_documented_defaults()) == known


def test_the_example_holds_the_defaults(migrated_db: Path, tmp_path: Path) -> None:
    documented = _documented_defaults()
    ranking = dataclasses.asdict(RankingConfig())
    assert {k: documented[k] for k in ranking} == ranking
    runtime = Runtime(Settings(db_path=migrated_db, embedder="none", config_path=tmp_path / "none.json"))
    try:
        cache = runtime.injector.cache
        assert (documented["cache_max_entries"], documented["cache_ttl_s"]) == (
            cache.max_entries,
            cache.ttl_s,
        )
    finally:
        runtime.close()
