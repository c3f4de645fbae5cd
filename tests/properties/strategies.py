"""What the property tests draw from: text the service must hold, ids it accepts, their settings.

``tests/api/test_bad_input.py`` draws values the service must *refuse*; these are the values
it must *keep*: any Unicode text UTF-8 can encode (NUL, line and paragraph separators,
combining marks, emoji, right-to-left text), with the neighbours that broke things before
mixed in so that they come up in every run, not only when the generator happens on them.

Every property runs derandomized with no example database, as test_bad_input does: the same
examples on every run (CI is not a lottery; a failure found once is found again), and the
bugs these properties found stay as ``@example`` cases. Sizes are chosen so that
tests/properties runs in well under a minute on two cores (about 25 s, measured 2026-12-03).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = ["AWKWARD", "agent_ids", "fuzz", "json_values", "line_text", "texts"]

# Characters that split, join, escape or normalise differently across Python, JSON, SQLite
# and FTS5: NUL, CR, NEL, the line/paragraph separators, BOM, a combining mark, a wide
# emoji with a zero-width joiner, a right-to-left letter, a 4-byte CJK character.
AWKWARD = ["\x00", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\ufeff", "e\u0301", "👩\u200d💻", "ש", "𠀀"]

_characters = st.characters(codec="utf-8")  # everything but lone surrogates, which UTF-8 cannot hold
_visible = st.characters(codec="utf-8", exclude_categories=("Z", "Cc", "Cs"))  # never str.isspace()


def texts(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any UTF-8-encodable text of ``min_size`` to ``max_size`` characters, awkward ones mixed in."""
    pieces = st.one_of(st.sampled_from(AWKWARD), st.text(_characters, min_size=1, max_size=8))
    mixed = st.lists(pieces, max_size=max(1, max_size // 3)).map(lambda p: "".join(p)[:max_size])
    return st.one_of(mixed, st.text(_characters, max_size=max_size)).map(
        lambda s: s if len(s) >= min_size else s + "x" * (min_size - len(s))
    )


def line_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Text with something visible in it (what a name, type or content requires), drawn
    without filtering: a visible character put somewhere among the rest."""
    return st.tuples(texts(0, max_size - 1), _visible, st.integers(0, max_size - 1)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
    )


# A small pool, so that draws collide: the same agent owns, is granted, and reads.
agent_ids = st.sampled_from(["a1", "a2", "coder", "planner.v2", "ops@team/x"])

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts(max_size=6), inner, max_size=3),
    max_leaves=10,
)


def fuzz(max_examples: int) -> settings:
    """The settings of every property here: ``max_examples`` sized to the package's time box."""
    return settings(
        max_examples=max_examples,
        deadline=None,  # a shared 2-core machine: one slow example is not a failure
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
