"""Settings from options, environment and the config file: precedence and strict parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory_system.core.config import ConfigError
from memory_system.core.settings_loader import load_settings, reloadable_changes


def _config(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_option_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    cfg = _config(
        tmp_path,
        {
            "port": 9001,
            "host": "127.0.0.2",
            "maxBodyBytes": 500,
            "adminToken": "from-the-file-0123456789",
            "featureFlags": {"X": 1},
        },
    )
    env = {
        "MEMORY_SYSTEM_PORT": "9002",
        "MEMORY_SYSTEM_DB": str(tmp_path / "env.db"),
        "MEMORY_SYSTEM_ADMIN_TOKEN": "from-the-env-0123456789",
    }
    s = load_settings({"config_path": cfg, "port": 9003}, env)
    assert s.port == 9003 and s.host == "127.0.0.2" and s.max_body_bytes == 500
    assert s.admin_token == "from-the-env-0123456789" and s.db_path == tmp_path / "env.db"
    assert load_settings({"config_path": cfg}, env).port == 9002
    assert load_settings({"config_path": cfg}, {}).port == 9001


@pytest.mark.parametrize(
    "data, named",
    [
        ({"adminTokn": "0123456789abcdefgh"}, "adminTokn"),
        ({"port": "eighty"}, "port"),
        ({"port": True}, "port"),
        ({"maxBodyBytes": -1}, "maxBodyBytes"),
        ({"adminToken": "short"}, "adminToken"),
        (
            {"drainTimeoutS": float("nan")},
            "drainTimeoutS",
        ),  # NaN < 0 is false: a range check alone lets it by
        ({"shutdownDelayS": float("inf")}, "shutdownDelayS"),
        ({"ragTimeoutMs": -1}, "ragTimeoutMs"),
        ({"ragTimeoutMs": 0}, "ragTimeoutMs"),
        ("{not json", "not valid JSON"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_files_are_refused_with_the_key_named(tmp_path: Path, data: object, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings({"config_path": _config(tmp_path, data)}, {})


def test_a_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\xff\xfe{\x00}\x00")  # UTF-16, as some editors save
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_settings({"config_path": path}, {})


def test_bad_env_values_name_the_variable(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {})
    with pytest.raises(ConfigError, match="MEMORY_SYSTEM_DRAIN_TIMEOUT_S"):
        load_settings({"config_path": cfg}, {"MEMORY_SYSTEM_DRAIN_TIMEOUT_S": "soon"})
    with pytest.raises(ConfigError, match="MEMORY_SYSTEM_DRAIN_TIMEOUT_S='nan': must be a finite number"):
        load_settings({"config_path": cfg}, {"MEMORY_SYSTEM_DRAIN_TIMEOUT_S": "nan"})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"config_path": tmp_path / "absent.json"}, {})
    assert load_settings({}, {"MEMORY_SYSTEM_CONFIG": str(cfg)}).config_path == cfg


def test_only_live_fields_change_on_reload(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"adminToken": "first-token-0123456789", "port": 9000})
    before = load_settings({"config_path": cfg}, {})
    _config(tmp_path, {"adminToken": "second-token-0123456789", "port": 9999})
    after = load_settings({"config_path": cfg}, {})
    assert reloadable_changes(before, after) == {"admin_token": "second-token-0123456789"}
