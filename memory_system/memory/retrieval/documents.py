"""What gets embedded for a memory: its content, plus who said it, when, and what came just before.

A memory stays exactly what the agent wrote (``content``); only its vector sees more. A turn
like "Yes, it was great!" means little alone; with its speaker, its date and the previous
turn of the same session it can be found by what it is about. The same function builds the
text for the worker, backfill and re-embedding, so all vectors of a model agree.

Speaker: the first of ``SPEAKER_KEYS`` found in the memory's metadata. Neighbours: the
``CONTEXT_TURNS`` memories written just before it by the same agent in the same session
(memories without a session have no neighbours: unrelated notes should not blur each other).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SPEAKER_KEYS = ("speaker", "author", "role", "user")
CONTEXT_TURNS = 1
NEIGHBOUR_CHARS = 300


@dataclass(frozen=True)
class DocumentOptions:
    speaker: bool = True
    date: bool = True
    context_turns: int = CONTEXT_TURNS

    @classmethod
    def parse(cls, spec: object) -> DocumentOptions:
        """None/"" = the default (all); "plain" = content only; else a comma list of
        ``speaker``, ``date``, ``previous`` or ``previous=N``."""
        if spec is None or spec == "":
            return cls()
        if not isinstance(spec, str):
            raise ValueError("embedding_document must be a string like 'speaker,date,previous=1'")
        if spec.strip() == "plain":
            return cls(speaker=False, date=False, context_turns=0)
        parts = [p.strip() for p in spec.split(",") if p.strip()]
        turns = 0
        for part in parts:
            name, _, value = part.partition("=")
            if name not in ("speaker", "date", "previous"):
                raise ValueError(f"embedding_document: unknown part {name!r}; use speaker, date, previous=N")
            if name == "previous":
                turns = int(value or 1)
        return cls(speaker="speaker" in parts, date="date" in parts, context_turns=turns)


def speaker_of(metadata: Any) -> str | None:
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return None
    if not isinstance(metadata, dict):
        return None
    for key in SPEAKER_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _date(occurred_at: str | None) -> str | None:
    if not occurred_at:
        return None
    try:
        moment = datetime.fromisoformat(occurred_at)
    except ValueError:
        return None
    return f"{moment.day} {moment:%B %Y}"


def _line(content: str, metadata: Any, with_speaker: bool) -> str:
    speaker = speaker_of(metadata) if with_speaker else None
    return f"{speaker}: {content}" if speaker else content


def embedding_text(
    content: str,
    metadata: Any,
    occurred_at: str | None,
    previous: list[tuple[str, Any]],
    options: DocumentOptions,
) -> str:
    """``[date] speaker: content`` followed by the previous turn(s) as context."""
    text = _line(content, metadata, options.speaker)
    date = _date(occurred_at) if options.date else None
    if date:
        text = f"[{date}] {text}"
    if previous and options.context_turns > 0:
        before = " | ".join(
            _line(c, m, options.speaker)[:NEIGHBOUR_CHARS] for c, m in previous[-options.context_turns :]
        )
        text = f"{text} (after: {before})"
    return text
