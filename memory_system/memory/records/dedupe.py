"""When two memories are "near-identical": the same text up to case, spacing and end punctuation.

Agents restate what they learned ("User prefers tabs." / "user prefers tabs"); storing
each restatement would crowd the injected context with copies. Instead the second write
reinforces the first (see ``MemoryService``). Deliberately conservative: only differences
that never change meaning are folded, so two different facts are never merged.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")
# Bullets and quotes before, sentence punctuation and quotes after; never symbols that carry
# meaning at an end ("C++", "C#", "f(x)").
_EDGES = re.compile(
    "^[\\s\\-*\u2022>\"'`\u201c\u201d\u2018\u2019]+|[\\s.,;:!?\u2026\"'`\u201c\u201d\u2018\u2019]+$"
)


def normalise(content: str) -> str:
    """Compatibility-normalised, case-folded, whitespace collapsed, edge punctuation removed."""
    text = unicodedata.normalize("NFKC", content).casefold()
    text = _SPACE.sub(" ", text).strip()
    stripped = _EDGES.sub("", text)
    return stripped or text  # content made only of punctuation keeps its own identity


def content_hash(content: str) -> str:
    """The key of the unique index (namespace, agent_id, content_hash)."""
    return hashlib.sha256(normalise(content).encode("utf-8")).hexdigest()
