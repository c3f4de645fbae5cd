"""Without the server extra, the ``memory-system`` command says which extra to install."""

from __future__ import annotations

import importlib.util

import pytest

from memory_system import _entry


def test_missing_server_dependencies_are_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n: None if n == "fastapi" else real(n))
    with pytest.raises(SystemExit) as exit_:
        _entry.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "(missing: fastapi)" in err and "pip install 'memory-system[server]'" in err


def test_with_the_server_extra_nothing_is_missing() -> None:
    assert _entry.missing_server_modules() == []
