"""The ``typedStores`` write policy: strict parsing, and who each policy lets write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory_system.core.config import ConfigError
from memory_system.core.settings_loader import load_settings
from memory_system.memory.typed.policy import TypedStorePolicy, WritePolicy, load_typed_store_policy


def test_without_a_section_every_store_is_open_to_any_agent(tmp_path: Path) -> None:
    assert load_typed_store_policy(None) == TypedStorePolicy()
    assert load_typed_store_policy(tmp_path / "absent.json") == TypedStorePolicy()
    policy = TypedStorePolicy()
    assert (policy.preferences.mode, policy.code_patterns.mode) == ("any", "any")
    assert policy.to_config() == {"codePatterns": {"writers": "any"}, "preferences": {"writers": "any"}}


def test_each_form_is_read(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "adminToken": "a-long-admin-token-0123",
                "typedStores": {
                    "preferences": {"writers": "creator"},
                    "codePatterns": {"writers": ["planner", "ci@build/1", "planner"]},
                },
            }
        )
    )
    policy = load_typed_store_policy(config)
    assert policy.preferences == WritePolicy("creator", setting="typedStores.preferences.writers")
    assert policy.code_patterns.mode == "listed"
    assert policy.code_patterns.agents == {"planner", "ci@build/1"}
    assert policy.to_config()["codePatterns"] == {"writers": ["ci@build/1", "planner"]}
    # the settings loader leaves the section to this module instead of refusing it as unknown
    assert load_settings({"config_path": str(config)}, env={}).admin_token == "a-long-admin-token-0123"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ([], r"typedStores must be a JSON object"),
        ({"memories": {}}, r"typedStores\.memories is not a typed store; known: codePatterns, preferences"),
        ({"preferences": "creator"}, r"typedStores\.preferences must be a JSON object"),
        (
            {"preferences": {"writer": "any"}},
            r"typedStores\.preferences\.writer is not a typed-store setting",
        ),
        ({"preferences": {"writers": "owner"}}, r"typedStores\.preferences\.writers must be .*got 'owner'"),
        ({"preferences": {"writers": 1}}, r"typedStores\.preferences\.writers must be .*got 1"),
        ({"preferences": {"writers": None}}, r"typedStores\.preferences\.writers must be .*got None"),
        ({"codePatterns": {"writers": []}}, r"typedStores\.codePatterns\.writers is an empty list"),
        ({"codePatterns": {"writers": ["ok", 7]}}, r"typedStores\.codePatterns\.writers\[1\]: must be 1-128"),
        ({"codePatterns": {"writers": ["has space"]}}, r"writers\[0\]: must be 1-128 .*got 'has space'"),
        ({"codePatterns": {"writers": ["-lead"]}}, r"writers\[0\]: must be 1-128 .*got '-lead'"),
        ({"codePatterns": {"writers": ["x" * 129]}}, r"writers\[0\]: must be 1-128"),
        ({"codePatterns": {"writers": ["a", "creator"]}}, r"writers\[1\] is 'creator', a policy name"),
    ],
)
def test_a_bad_section_is_a_config_error_naming_the_key(
    tmp_path: Path, section: object, message: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"typedStores": section}))
    with pytest.raises(ConfigError, match=message) as info:
        load_typed_store_policy(config)
    assert str(info.value).startswith(f"config file {config}: typedStores")


def test_a_file_that_is_not_json_is_named_once(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{not json")
    with pytest.raises(ConfigError, match=r"^config file .* is not valid JSON"):
        load_typed_store_policy(config)


SETTING = "typedStores.preferences.writers"


def test_any_lets_every_agent_write_every_key() -> None:
    policy = WritePolicy(setting=SETTING)
    assert policy.refusal("b", "k", exists=True, created_by="a") is None
    assert policy.refusal("b", "k", exists=True, created_by=None) is None


def test_creator_lets_anyone_create_and_only_the_creator_change() -> None:
    policy = WritePolicy("creator", setting=SETTING)
    assert policy.refusal("b", "k", exists=False, created_by=None) is None
    assert policy.refusal("a", "k", exists=True, created_by="a") is None
    refusal = policy.refusal("b", "preference 'k'", exists=True, created_by="a")
    assert refusal == (
        "preference 'k' was created by agent 'a'; typedStores.preferences.writers is \"creator\", so only "
        "that agent may change or delete it, not 'b'"
    )
    unknown = policy.refusal("a", "preference 'k'", exists=True, created_by=None)
    assert unknown is not None and "creator is unknown" in unknown and "no agent may change" in unknown


def test_a_list_lets_only_those_agents_write_at_all() -> None:
    policy = WritePolicy("listed", frozenset({"a", "c"}), SETTING)
    assert policy.refusal("c", "k", exists=True, created_by="a") is None
    assert policy.refusal("a", "k", exists=False, created_by=None) is None
    refusal = policy.refusal("b", "preference 'k'", exists=False, created_by=None)
    assert refusal is not None and refusal.startswith(f"only the agents listed in {SETTING} may write")
    assert "'a'" not in refusal and "'c'" not in refusal  # the refused agent is not told who may


def test_check_returns_the_refusal_to_raise_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    policy = WritePolicy("creator", setting=SETTING)
    assert policy.check("preference", "p", "a", "k", exists=True, created_by="a") is None
    with caplog.at_level("WARNING", logger="memory_system.memory.typed.policy"):
        refused = policy.check("preference", "p", "b", "k", exists=True, created_by="a")
    assert refused is not None
    assert (refused.store, refused.policy, refused.created_by) == ("preference", "creator", "a")
    assert [r.getMessage() for r in caplog.records] == ["typed_store_write_refused"]
