"""The memory tools beside the graph ones: remember, recall, get_context, forget, share, ...

Each tool calls the runtime's service exactly as its HTTP route does (``api/memories``,
``api/search``, ``api/inject``, ``api/sharing``, ``api/session_state``, ``api/typed_stores``),
for one caller (agent id and namespace: the CLI options over stdio, the token over HTTP).
Flags are read per call with the HTTP layer's key (``flags.keys.flag_key``: the call's
``session_id``, else ``agent:<agent id>``), so share with sharing off is refused as over HTTP.
A service's refusal is a tool result with ``isError``, its message and the field at fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from jsonschema import Draft7Validator

from memory_system.core.errors import ServiceError, StoreError
from memory_system.flags import keys
from memory_system.flags.names import USE_CROSS_AGENT_SHARING, USE_ENHANCED_INJECTION, USE_HIERARCHICAL_TIERS
from memory_system.mcp.tools import annotated_tool
from memory_system.memory.injection.injector import FORMATS, MAX_TOKEN_BUDGET, InjectionFlags
from memory_system.memory.records.models import DEFAULT_IMPORTANCE, NewMemory
from memory_system.memory.retrieval.filters import SearchFilters
from memory_system.memory.retrieval.hybrid import DEFAULT_SEARCH_BUDGET_MS, MAX_K, MAX_QUERY_CHARS
from memory_system.memory.sharing.grants import sharing_off_message
from memory_system.ops.schema import rolled_back_message
from memory_system.runtime import Runtime

__all__ = ["Caller", "MemoryTools", "memory_tool_definitions"]

TIERS = ["working", "short_term", "long_term"]


@dataclass(frozen=True)
class Caller:
    """Who the tools act as: fixed per process over stdio, per agent token over HTTP."""

    agent_id: str
    namespace: str


def _s(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


_SESSION = _s("A session id from start_session; flags and working memories follow it. Optional.")
_MEMORY_ID = {"type": "integer", "minimum": 1, "description": "The memory's id (from remember or recall)."}
_GRANTEES = {"type": "array", "items": {"type": "string"}, "description": "Agent ids to grant to."}
_USER = _s("Whose preference: the user's id.")

# name: (title, description, properties, required, read-only, destructive, idempotent)
_SPECS: dict[str, tuple[str, str, dict[str, Any], list[str], bool, bool, bool]] = {
    "remember": (
        "Remember",
        "Store one memory (a fact, preference, decision, event, ...) for later recall. Near-identical "
        "content you stored before is reinforced instead of duplicated. Use for things worth knowing in "
        "a later step or conversation; use create_entities for people, projects and their relations.",
        {
            "content": _s("What to remember, in plain words.", minLength=1),
            "kind": _s("fact, preference, decision, event, code_pattern, note (default) ..."),
            "tier": _s(
                "working (needs session_id), short_term or long_term; default working inside a "
                "session, else short_term.",
                enum=TIERS,
            ),
            "importance": {"type": "number", "minimum": 0, "maximum": 1, "description": "0 to 1."},
            "metadata": {"type": "object", "description": "Any JSON object, returned as given."},
            "session_id": _SESSION,
        },
        ["content"],
        False,
        False,
        False,
    ),
    "recall": (
        "Recall",
        "Search your memories (and those shared with you) by meaning and keywords; best first, each "
        "with its id, content and score. Use before answering from what you were told earlier.",
        {
            "query": _s("What to look for, in plain words.", minLength=1, maxLength=MAX_QUERY_CHARS),
            "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "description": "How many (default 10)."},
            "filters": {
                "type": "object",
                "description": "Optional: kind, tier, session_id, user_id, and ISO 8601 bounds "
                "occurred_after/occurred_before/created_after/created_before.",
            },
            "session_id": _SESSION,
        },
        ["query"],
        True,
        False,
        True,
    ),
    "get_context": (
        "Get Context",
        "A ready-to-paste context block for your next step: the user's preferences, the memories, code "
        "patterns and entities relevant to query, packed within token_budget, with the manifest of what "
        "was used. Call at the start of a task.",
        {
            "query": _s("The current task or message.", minLength=1, maxLength=MAX_QUERY_CHARS),
            "token_budget": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_TOKEN_BUDGET,
                "description": "Most tokens the block may take (default 1000).",
            },
            "format": _s("markdown (default) or json.", enum=list(FORMATS)),
            "user_id": _s("Whose preferences go first."),
            "session_id": _SESSION,
        },
        ["query"],
        True,
        False,
        True,
    ),
    "forget": (
        "Forget",
        "Delete one of your memories for good (only its owner may).",
        {"memory_id": _MEMORY_ID, "session_id": _SESSION},
        ["memory_id"],
        False,
        True,
        True,
    ),
    "share": (
        "Share Memory",
        "Let other agents (agent_ids) or the whole namespace read one of your memories, optionally "
        "until expires_at. Refused while cross-agent sharing is off.",
        {
            "memory_id": _MEMORY_ID,
            "agent_ids": _GRANTEES,
            "namespace": {"type": "boolean", "description": "Share with every agent of the namespace."},
            "expires_at": _s("ISO 8601 with a timezone; omit for never."),
            "session_id": _SESSION,
        },
        ["memory_id"],
        False,
        False,
        True,
    ),
    "revoke": (
        "Revoke Share",
        "Take back grants of one of your memories: from agent_ids and/or the namespace.",
        {
            "memory_id": _MEMORY_ID,
            "agent_ids": _GRANTEES,
            "namespace": {"type": "boolean", "description": "Revoke the namespace-wide grant."},
            "session_id": _SESSION,
        },
        ["memory_id"],
        False,
        True,
        True,
    ),
    "start_session": (
        "Start Session",
        "Start a session: its id scopes working memories and the session state document.",
        {},
        [],
        False,
        False,
        False,
    ),
    "get_session_state": (
        "Get Session State",
        "Read the session's state document and its version (pass the version to set_session_state).",
        {"session_id": _s("The session's id.")},
        ["session_id"],
        True,
        False,
        True,
    ),
    "set_session_state": (
        "Set Session State",
        "Replace the session's state document. version must be the one you read (0 for none yet); a "
        "stale version is refused with the current one.",
        {
            "session_id": _s("The session's id."),
            "state": {"type": "object", "description": "The whole new document (a JSON object)."},
            "version": {"type": "integer", "minimum": 0, "description": "The version you read."},
        },
        ["session_id", "state", "version"],
        False,
        True,
        False,
    ),
    "get_preferences": (
        "Get Preferences",
        "A user's preferences in this namespace: one key, or all of them when key is omitted.",
        {"user_id": _USER, "key": _s("One preference's key.")},
        ["user_id"],
        True,
        False,
        True,
    ),
    "set_preference": (
        "Set Preference",
        "Set a user's preference (any JSON value), replacing the old value of the key.",
        {"user_id": _USER, "key": _s("The preference's key."), "value": {"description": "Any JSON value."}},
        ["user_id", "key", "value"],
        False,
        True,
        True,
    ),
    "add_code_pattern": (
        "Add Code Pattern",
        "Store a reusable code pattern of the namespace; the same language and name updates it.",
        {
            "language": _s("python, typescript, ..."),
            "name": _s("Identifies the pattern within its language."),
            "description": _s("When and why to use it."),
            "example": _s("The code."),
        },
        ["language", "name"],
        False,
        False,
        True,
    ),
    "search_code_patterns": (
        "Search Code Patterns",
        "Full-text search over the namespace's code patterns; best first.",
        {
            "query": _s("Words to look for.", minLength=1),
            "language": _s("Only this language."),
            "limit": {"type": "integer", "minimum": 1, "description": "How many (default 10)."},
        },
        ["query"],
        True,
        False,
        True,
    ),
}


# Every memory tool but start_session (sessions are migration 002) reads a table of 004.
_PHASE_2_TOOLS = frozenset(
    {
        "remember",
        "recall",
        "get_context",
        "forget",
        "share",
        "revoke",
        "get_session_state",
        "set_session_state",
        "get_preferences",
        "set_preference",
        "add_code_pattern",
        "search_code_patterns",
    }
)


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def memory_tool_definitions() -> list[types.Tool]:
    return [
        annotated_tool(
            name,
            title,
            description,
            _schema(props, required),
            read_only=read_only,
            destructive=destructive,
            idempotent=idempotent,
        )
        for name, (title, description, props, required, read_only, destructive, idempotent) in _SPECS.items()
    ]


_VALIDATORS = {name: Draft7Validator(_schema(spec[2], spec[3])) for name, spec in _SPECS.items()}


class FeatureDisabled(ServiceError):
    """A tool whose feature flag is off for this call; nothing was changed."""

    field = USE_CROSS_AGENT_SHARING


def _result(data: dict[str, Any]) -> types.CallToolResult:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=data)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


class MemoryTools:
    """The memory tools of one runtime; each call names its caller."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._handlers: dict[str, Callable[[Caller, dict[str, Any]], dict[str, Any]]] = {
            "remember": self._remember,
            "recall": self._recall,
            "get_context": self._get_context,
            "forget": self._forget,
            "share": self._share,
            "revoke": self._revoke,
            "start_session": self._start_session,
            "get_session_state": self._get_state,
            "set_session_state": self._set_state,
            "get_preferences": self._get_preferences,
            "set_preference": self._set_preference,
            "add_code_pattern": self._add_code_pattern,
            "search_code_patterns": self._search_code_patterns,
        }

    def __contains__(self, name: str) -> bool:
        return name in self._handlers

    def call(self, caller: Caller, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        arguments = arguments or {}
        errors = sorted(_VALIDATORS[name].iter_errors(arguments), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.absolute_path)
            return _error(f"invalid arguments for {name}: {where or 'arguments'}: {first.message}")
        if name in _PHASE_2_TOOLS and self.runtime.phase_2_rolled_back():
            message = rolled_back_message(self.runtime.settings.db_path)
            return _error(f"{name} refused: {message}")
        session_id = arguments.get("session_id")
        try:
            self.runtime.sessions.check_usable(session_id, caller.agent_id, caller.namespace)
            return _result(self._handlers[name](caller, arguments))
        except (ServiceError, StoreError) as exc:
            field = getattr(exc, "field", None)
            return _error(f"{name} refused: {exc}" + (f" (field: {field})" if field else ""))

    def _enabled(self, caller: Caller, args: dict[str, Any], flag: str) -> bool:
        return self.runtime.flags.enabled(flag, keys.flag_key(args.get("session_id"), caller.agent_id))

    def _remember(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        item = NewMemory(
            content=args["content"],
            kind=args.get("kind", "note"),
            tier=args.get("tier"),
            importance=args.get("importance", DEFAULT_IMPORTANCE),
            metadata=args.get("metadata"),
            session_id=args.get("session_id"),
        )
        result = self.runtime.memories.create(namespace=caller.namespace, agent_id=caller.agent_id, item=item)
        return result.to_dict()

    def _recall(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        filters = SearchFilters.from_dict(args.get("filters"))
        self.runtime.sessions.check_usable(filters.session_id, caller.agent_id, caller.namespace)
        return self.runtime.retrieval.search(
            agent_id=caller.agent_id,
            namespace=caller.namespace,
            query=args["query"],
            k=args.get("k", 10),
            filters=filters,
            sharing_enabled=self._enabled(caller, args, USE_CROSS_AGENT_SHARING),
            tiers_enabled=self._enabled(caller, args, USE_HIERARCHICAL_TIERS),
            time_budget_ms=DEFAULT_SEARCH_BUDGET_MS,
        ).to_dict()

    def _get_context(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        flags = InjectionFlags(
            enhanced=self._enabled(caller, args, USE_ENHANCED_INJECTION),
            tiers=self._enabled(caller, args, USE_HIERARCHICAL_TIERS),
            sharing=self._enabled(caller, args, USE_CROSS_AGENT_SHARING),
        )
        result = self.runtime.injector.inject(
            agent_id=caller.agent_id,
            namespace=caller.namespace,
            query=args["query"],
            flags=flags,
            session_id=args.get("session_id"),
            token_budget=args.get("token_budget", 1000),
            format=args.get("format", "markdown"),
            user_id=args.get("user_id"),
        )
        return result.to_dict()

    def _forget(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        self.runtime.memories.delete(
            args["memory_id"],
            namespace=caller.namespace,
            agent_id=caller.agent_id,
            sharing_enabled=self._enabled(caller, args, USE_CROSS_AGENT_SHARING),
        )
        return {"deleted": args["memory_id"]}

    def _require_sharing(self, caller: Caller, args: dict[str, Any], action: str) -> None:
        if not self._enabled(caller, args, USE_CROSS_AGENT_SHARING):
            raise FeatureDisabled(sharing_off_message(USE_CROSS_AGENT_SHARING, action))

    def _share(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        self._require_sharing(caller, args, "sharing a memory")
        grants = self.runtime.sharing.share(
            args["memory_id"],
            agent_id=caller.agent_id,
            namespace=caller.namespace,
            grantees=args.get("agent_ids", []),
            whole_namespace=args.get("namespace", False),
            expires_at=args.get("expires_at"),
        )
        return {"memory_id": args["memory_id"], "shares": [g.to_dict() for g in grants]}

    def _revoke(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        self._require_sharing(caller, args, "revoking a share")
        grants = self.runtime.sharing.revoke(
            args["memory_id"],
            agent_id=caller.agent_id,
            namespace=caller.namespace,
            grantees=args.get("agent_ids", []),
            whole_namespace=args.get("namespace", False),
        )
        return {"memory_id": args["memory_id"], "shares": [g.to_dict() for g in grants]}

    def _start_session(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        return {"session_id": self.runtime.sessions.start(caller.agent_id, caller.namespace).id}

    def _get_state(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        return self.runtime.session_state.get(
            args["session_id"], agent_id=caller.agent_id, namespace=caller.namespace
        ).to_dict()

    def _set_state(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        return self.runtime.session_state.put(
            args["session_id"],
            agent_id=caller.agent_id,
            namespace=caller.namespace,
            state=args["state"],
            version=args["version"],
        ).to_dict()

    def _get_preferences(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        prefs = self.runtime.preferences
        if "key" in args:
            return prefs.get(caller.namespace, args["user_id"], args["key"]).to_dict()
        found = prefs.list(caller.namespace, args["user_id"])
        return {"user_id": args["user_id"], "preferences": [p.to_dict() for p in found]}

    def _set_preference(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        pref, created = self.runtime.preferences.put(
            caller.namespace, args["user_id"], args["key"], args["value"], agent_id=caller.agent_id
        )
        return {**pref.to_dict(), "created": created}

    def _add_code_pattern(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        data = {k: args.get(k, "") for k in ("language", "name", "description", "example")}
        pattern, created = self.runtime.code_patterns.put(caller.namespace, caller.agent_id, data)
        return {**pattern.to_dict(), "created": created}

    def _search_code_patterns(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        found = self.runtime.code_patterns.search(
            caller.namespace, args["query"], limit=args.get("limit", 10), language=args.get("language")
        )
        return {"query": args["query"], "code_patterns": [p.to_dict() for p in found]}
