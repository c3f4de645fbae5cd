"""The OpenFeature provider gives, session for session, the answer of the service's own FlagService:
same sources, precedence and buckets, on a real database file, changed by the service's admin paths."""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode, ProviderNotReadyError
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus

from memory_system.flags.keys import flag_key
from memory_system.flags.names import FLAG_NAMES
from memory_system.integrations.openfeature import MemorySystemFlagProvider
from memory_system.ops import schema
from memory_system.runtime import Runtime, open_runtime

INJ, SHARE, TIERS = "USE_ENHANCED_INJECTION", "USE_CROSS_AGENT_SHARING", "USE_HIERARCHICAL_TIERS"
ADMIN = "openfeature-admin-token-0123456789"
N = 10_000


def _session_ids(n: int, seed: int = 13) -> list[str]:
    """uuid4-shaped like the service's own session ids, but the same on every run."""
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


SESSIONS = _session_ids(N)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "config.json"


@pytest.fixture
def service(migrated_db: Path, config: Path) -> Iterator[Callable[..., Runtime]]:
    """``service(env=..., config=...)``: the runtime ``serve`` builds, on the same file; its
    ``flags`` is the FlagService every request of the service evaluates with."""
    opened: list[Runtime] = []

    def start(env: dict[str, str] | None = None, featureFlags: dict[str, object] | None = None) -> Runtime:
        if featureFlags is not None:
            config.write_text(json.dumps({"featureFlags": featureFlags}))
        with pytest.MonkeyPatch.context() as mp:
            for name in FLAG_NAMES:
                mp.delenv(name, raising=False)
            for name, value in (env or {}).items():
                mp.setenv(name, value)
            runtime = open_runtime(migrated_db, config_path=config)
            runtime.flags  # noqa: B018 - built now, so it reads this environment as serve does at start
        opened.append(runtime)
        return runtime

    yield start
    for runtime in opened:
        runtime.close()


@pytest.fixture
def client() -> Iterator[Callable[..., OpenFeatureClient]]:
    """``client(provider)``: the provider set (and initialized) as the API's default; cleared after."""

    def use(provider: MemorySystemFlagProvider) -> OpenFeatureClient:
        api.set_provider_and_wait(provider)
        return api.get_client()

    yield use
    api.shutdown()


def _provider(db: Path, config: Path, env: dict[str, str] | None = None) -> MemorySystemFlagProvider:
    return MemorySystemFlagProvider(db, config_path=config, env=env or {})


def _until(check: Callable[[], bool], timeout: float) -> float | None:
    """When the first passing check was *sent* (monotonic), or None when none passed in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = time.monotonic()
        if check():
            return sent
        time.sleep(0.01)
    return None


def _binomial_ok(hits: int, n: int, p: float) -> bool:
    """Within 5 standard deviations of n*p: false alarms about 1 in 1.7 million."""
    return abs(hits - n * p) <= 5 * math.sqrt(n * p * (1 - p))


# -- agreement -----------------------------------------------------------------------------------


def test_every_flag_agrees_with_the_service_for_10000_sessions_and_rolls_out_near_its_percent(
    service: Callable[..., Runtime], client: Callable[..., OpenFeatureClient], migrated_db: Path, config: Path
) -> None:
    env = {TIERS: "0.5"}
    runtime = service(env=env, featureFlags={SHARE: 0.2})
    runtime.flags.set(INJ, 0.3, actor="rollout", source="cli")
    of = client(_provider(migrated_db, config, env))
    expected_fraction = {TIERS: 0.5, SHARE: 0.2, INJ: 0.3}
    source = {TIERS: "env", SHARE: "config_file", INJ: "database"}
    for flag in FLAG_NAMES:
        details = [of.get_boolean_details(flag, False, EvaluationContext(sid)) for sid in SESSIONS]
        assert {(d.reason, d.error_code) for d in details} == {(Reason.SPLIT, None)}
        assert {d.flag_metadata["sources"] for d in details} == {source[flag]}
        assert {d.flag_metadata["effective"] for d in details} == {expected_fraction[flag]}
        ours = [d.value for d in details]
        theirs = [runtime.flags.enabled(flag, sid) for sid in SESSIONS]
        disagree = [sid for sid, a, b in zip(SESSIONS, ours, theirs, strict=True) if a != b]
        assert disagree == [], f"{flag}: {len(disagree)} of {N} sessions disagree"
        assert {d.variant for d in details} == {"on", "off"}
        assert all(d.variant == ("on" if d.value else "off") for d in details)
        assert _binomial_ok(sum(ours), N, expected_fraction[flag]), (flag, sum(ours))


def test_a_call_without_a_session_is_evaluated_for_its_agent_as_the_service_does(
    service: Callable[..., Runtime], client: Callable[..., OpenFeatureClient], migrated_db: Path, config: Path
) -> None:
    runtime = service()
    runtime.flags.set(INJ, 0.5, actor="rollout", source="cli")
    of = client(_provider(migrated_db, config))
    agents = [f"agent-{i}" for i in range(2_000)]
    ours = [of.get_boolean_value(INJ, False, EvaluationContext(attributes={"agent_id": a})) for a in agents]
    assert ours == [runtime.flags.enabled(INJ, flag_key(None, a)) for a in agents]
    assert 0 < sum(ours) < len(agents)
    # A session, when there is one, wins over the agent, as flags/keys.py says.
    sid = SESSIONS[0]
    both = EvaluationContext(sid, {"agent_id": "agent-0"})
    assert of.get_boolean_value(INJ, False, both) == runtime.flags.enabled(INJ, sid)


@pytest.mark.parametrize(
    ("env", "file", "database", "effective", "decided_by"),
    [
        ({SHARE: "false"}, None, True, 0.0, "env"),  # env 0 beats db 1
        ({SHARE: "true"}, None, False, 0.0, "database"),  # db 0 beats env 1
        ({SHARE: "0.5"}, 0.2, True, 0.2, "config_file"),  # the most restrictive wins
        ({}, 0.0, 0.7, 0.0, "config_file"),
        ({SHARE: "0.4"}, 0.4, 0.4, 0.4, "env,config_file,database"),
        ({}, None, None, 1.0, ""),  # no source: on
    ],
)
def test_precedence_is_the_services(
    service: Callable[..., Runtime],
    client: Callable[..., OpenFeatureClient],
    migrated_db: Path,
    config: Path,
    env: dict[str, str],
    file: float | None,
    database: bool | float | None,
    effective: float,
    decided_by: str,
) -> None:
    runtime = service(env=env, featureFlags={} if file is None else {SHARE: file})
    if database is not None:
        runtime.flags.set(SHARE, database, actor="t", source="cli")
    of = client(_provider(migrated_db, config, env))
    assert runtime.flags.value(SHARE) == effective
    details = [of.get_boolean_details(SHARE, True, EvaluationContext(sid)) for sid in SESSIONS[:1000]]
    assert [d.value for d in details] == [runtime.flags.enabled(SHARE, sid) for sid in SESSIONS[:1000]]
    meta = details[0].flag_metadata
    assert (meta["effective"], meta["decided_by"]) == (effective, decided_by)
    set_here = {name: v for name, v in runtime.flags.sources(SHARE).items() if v is not None}
    assert {k: meta[k] for k in set_here} == set_here
    assert meta["sources"] == ",".join(set_here)
    static = effective in (0.0, 1.0)
    assert {d.reason for d in details} == {Reason.STATIC if static else Reason.SPLIT}


def test_a_fraction_that_rounds_to_no_session_is_static_off(
    service: Callable[..., Runtime], client: Callable[..., OpenFeatureClient], migrated_db: Path, config: Path
) -> None:
    service().flags.set(INJ, 0.004, actor="t", source="cli")  # rounds to 0% of sessions
    of = client(_provider(migrated_db, config))
    details = [of.get_boolean_details(INJ, True, EvaluationContext(sid)) for sid in SESSIONS[:500]]
    assert {(d.value, d.reason) for d in details} == {(False, Reason.STATIC)}
    assert details[0].flag_metadata["percent"] == 0


# -- changes through the service's admin paths ------------------------------------------------------


def test_a_flag_service_change_is_seen_within_the_cache_age(
    service: Callable[..., Runtime], client: Callable[..., OpenFeatureClient], migrated_db: Path, config: Path
) -> None:
    runtime = service()
    of = client(_provider(migrated_db, config))
    ctx = EvaluationContext(SESSIONS[0])
    assert of.get_boolean_details(INJ, False, ctx).flag_metadata["effective"] == 1.0
    runtime.flags.set(INJ, False, actor="oncall", source="api")
    changed = time.monotonic()
    seen = _until(lambda: of.get_boolean_details(INJ, True, ctx).flag_metadata["effective"] == 0.0, 5)
    assert seen is not None and seen - changed <= 0.5 + 0.5, (
        "not seen within the 0.5 s cache age (+0.5 s for a loaded machine)"
    )
    assert of.get_boolean_value(INJ, True, ctx) is False


def test_a_cli_flags_set_is_seen_within_one_second(
    service: Callable[..., Runtime],
    client: Callable[..., OpenFeatureClient],
    cli: Any,
    migrated_db: Path,
    config: Path,
) -> None:
    runtime = service()
    of = client(_provider(migrated_db, config))
    assert (
        of.get_boolean_details(TIERS, False, EvaluationContext(SESSIONS[0])).flag_metadata["effective"] == 1.0
    )
    done = cli(
        "flags", "set", TIERS, "0.25", "--db", str(migrated_db), "--config", str(config), "--actor", "ann"
    )
    assert done.returncode == 0, done.stderr
    changed = time.monotonic()

    def effective() -> object:
        return of.get_boolean_details(TIERS, False, EvaluationContext(SESSIONS[0])).flag_metadata["effective"]

    seen = _until(lambda: effective() == 0.25, 5)
    assert seen is not None and seen - changed <= 1.0, "the CLI change did not reach the provider within 1 s"
    assert _until(lambda: runtime.flags.value(TIERS) == 0.25, 5) is not None
    ours = [of.get_boolean_value(TIERS, False, EvaluationContext(sid)) for sid in SESSIONS[:2000]]
    assert ours == [runtime.flags.enabled(TIERS, sid) for sid in SESSIONS[:2000]]


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("default", [True, False])
def test_an_unknown_flag_gives_the_default_with_flag_not_found(
    client: Callable[..., OpenFeatureClient], migrated_db: Path, config: Path, default: bool
) -> None:
    of = client(_provider(migrated_db, config))
    details = of.get_boolean_details("USE_TELEPATHY", default, EvaluationContext(SESSIONS[0]))
    assert (details.value, details.reason, details.error_code) == (
        default,
        Reason.ERROR,
        ErrorCode.FLAG_NOT_FOUND,
    )
    assert details.error_message is not None and INJ in details.error_message  # names the known flags
    assert (
        of.get_integer_details("USE_TELEPATHY", 7, EvaluationContext("s")).error_code
        == ErrorCode.FLAG_NOT_FOUND
    )


def test_a_non_boolean_evaluation_is_a_type_mismatch(
    client: Callable[..., OpenFeatureClient], migrated_db: Path, config: Path
) -> None:
    of = client(_provider(migrated_db, config))
    ctx = EvaluationContext(SESSIONS[0])
    for details in (
        of.get_string_details(INJ, "x", ctx),
        of.get_integer_details(INJ, 3, ctx),
        of.get_float_details(INJ, 0.5, ctx),
        of.get_object_details(INJ, {"a": 1}, ctx),
    ):
        assert (details.reason, details.error_code) == (Reason.ERROR, ErrorCode.TYPE_MISMATCH)
    assert of.get_string_value(INJ, "x", ctx) == "x"


def test_no_session_and_no_agent_is_a_missing_targeting_key(
    client: Callable[..., OpenFeatureClient], migrated_db: Path, config: Path
) -> None:
    of = client(_provider(migrated_db, config))
    for ctx in (None, EvaluationContext(), EvaluationContext(attributes={"agent_id": 42})):
        details = of.get_boolean_details(INJ, False, ctx)
        assert (details.value, details.error_code) == (False, ErrorCode.TARGETING_KEY_MISSING)


def test_a_missing_database_is_a_clear_error_and_the_provider_recovers_once_it_exists(
    client: Callable[..., OpenFeatureClient], tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "later" / "memory.db"
    db.parent.mkdir()
    provider = MemorySystemFlagProvider(db, config_path=config, env={}, cache_s=0.1)
    with pytest.raises(ProviderNotReadyError) as refused:
        api.set_provider_and_wait(provider)
    assert refused.value.error_message is not None
    assert (
        f"database file {db} does not exist; run 'memory-system db migrate' first"
        in refused.value.error_message
    )
    of = api.get_client()
    details = of.get_boolean_details(INJ, True, EvaluationContext(SESSIONS[0]))
    assert (details.value, details.reason, details.error_code) == (
        True,
        Reason.ERROR,
        ErrorCode.PROVIDER_NOT_READY,
    )
    assert details.error_message == refused.value.error_message
    assert list(db.parent.iterdir()) == []  # read-only: nothing was created

    schema.migrate(db)
    assert _until(lambda: of.get_boolean_details(INJ, False, EvaluationContext("s")).error_code is None, 5)
    assert of.get_provider_status() == ProviderStatus.READY
    assert of.get_boolean_value(INJ, False, EvaluationContext(SESSIONS[0])) is True


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("a text file, not a database" * 10), "file is not a database"),
        (lambda p: schema.migrate(p, to=2), "no such table: feature_flag_state"),
    ],
    ids=["not-sqlite", "not-migrated"],
)
def test_a_file_that_holds_no_flags_is_a_clear_error(
    tmp_path: Path, config: Path, make: Callable[[Path], object], message: str
) -> None:
    db = tmp_path / "memory.db"
    make(db)
    provider = MemorySystemFlagProvider(db, config_path=config, env={})
    try:
        with pytest.raises(ProviderNotReadyError, match=message):
            api.set_provider_and_wait(provider)
    finally:
        api.shutdown()


def test_a_broken_flag_variable_or_config_file_is_refused_not_ignored(
    client: Callable[..., OpenFeatureClient], migrated_db: Path, config: Path
) -> None:
    """Ignoring it could leave a flag on here that the service, refusing to start, never ran with."""
    with pytest.raises(ProviderNotReadyError, match=r"USE_ENHANCED_INJECTION='yes' is not a flag value"):
        client(_provider(migrated_db, config, {INJ: "yes"}))
    config.write_text('{"featureFlags": {"USE_ENHANCED_INJECTION": 0.5')
    with pytest.raises(ProviderNotReadyError, match="not valid JSON"):
        client(_provider(migrated_db, config))


# -- against a running service ------------------------------------------------------------------------


def test_the_provider_agrees_with_a_running_service_on_its_sessions(serve_process: Any) -> None:
    env = {TIERS: "0.5"}
    served = serve_process(
        dev=True, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN, **env}, config={"featureFlags": {SHARE: 0.2}}
    )
    admin = {"Authorization": f"Bearer {ADMIN}", "X-Actor": "rollout"}
    http = httpx.Client(base_url=served.url, timeout=30)
    provider = MemorySystemFlagProvider(served.db, config_path=served.config, env=env)
    try:
        assert http.post("/admin/feature-flags", json={INJ: 0.3}, headers=admin).status_code == 200
        sessions = [http.post("/v1/sessions").json() for _ in range(150)]
        api.set_provider_and_wait(provider)
        of = api.get_client()

        def ours(sid: str) -> dict[str, bool]:
            return {flag: of.get_boolean_value(flag, False, EvaluationContext(sid)) for flag in FLAG_NAMES}

        assert [ours(s["session_id"]) for s in sessions] == [s["flags"] for s in sessions]
        for flag in FLAG_NAMES:  # the sample holds sessions on both sides of each rollout
            assert {s["flags"][flag] for s in sessions} == {True, False}

        assert http.post("/admin/feature-flags", json={INJ: 0.6}, headers=admin).status_code == 200
        changed = time.monotonic()
        ctx = EvaluationContext(sessions[0]["session_id"])
        seen = _until(lambda: of.get_boolean_details(INJ, False, ctx).flag_metadata["effective"] == 0.6, 5)
        assert seen is not None and seen - changed <= 1.0
        now = [http.get(f"/v1/sessions/{s['session_id']}").json() for s in sessions]
        assert [ours(s["session_id"]) for s in now] == [s["flags"] for s in now]
        gained = [a["flags"][INJ] < b["flags"][INJ] for a, b in zip(sessions, now, strict=True)]
        lost = [a["flags"][INJ] > b["flags"][INJ] for a, b in zip(sessions, now, strict=True)]
        assert any(gained) and not any(lost)  # 30% -> 60%: sticky, no session in the rollout drops out
    finally:
        api.shutdown()
        http.close()
    assert served.stop() == 0
