"""In-memory BM25 per namespace: the full-text half of retrieval without FTS5's per-match cost.

Why: FTS5 computes ``bm25()`` row by row for every match, and the questions agents ask share a
word with thousands of memories (a median ~7,100 of 100k in benchmarks/injection.py), so
full text alone took 13 / 22 ms p50 / p95 at 100k memories. Posting lists held as numpy
arrays score the same matches in well under a millisecond (benchmarks/fulltext.py). FTS5
stays the durable index and answers whatever this one cannot: a namespace still loading,
or a caller whose scope is a small part of the namespace.

What it indexes mirrors ``memories_fts`` (migration 004): a memory's content at full weight
and the string values of its metadata (speaker, file, tags) at ``CONTEXT_WEIGHT``; words as
FTS5's ``porter unicode61`` tokenizer cuts them (letters and digits, case and Latin
diacritics folded, Porter-stemmed by PyStemmer). Scores are Okapi BM25 with FTS5's constants
(k1 = 1.2, b = 0.75, idf floored at 1e-6), counted within the namespace.

Kept current in-process: writes are queued by id (``MemoryEvents``) and read back before the
next search; deletes drop rows at once. That is every write: memories are written only by the
service, which holds the database alone (``store/lockfile.py``); ``memory-system maintain``
run beside it only deletes. Results are only candidates: the caller re-checks every id
against the database (visibility, expiry, deletion by another process).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from itertools import islice

import numpy as np
import Stemmer

from memory_system.memory.retrieval.index_budget import IndexBudget

# (memory id, namespace, content, metadata strings or None), as store.search reads them.
TextRow = tuple[int, str, str, str | None]
Loader = Callable[[str], Iterable[TextRow]]
Fetcher = Callable[[Sequence[int]], Iterable[TextRow]]

K1 = 1.2
B = 0.75
CONTEXT_WEIGHT = 0.5  # as store.search.CONTEXT_WEIGHT: metadata words count half
MIN_IDF = 1e-6
SMALL_NAMESPACE = 1000  # loaded inside the first search; larger ones load in the background

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STEMMER = Stemmer.Stemmer("porter")
_STEMMER_LOCK = threading.Lock()
_TERM_OVERHEAD = 200  # bytes per vocabulary entry beyond its arrays: the dict slot, str, _Postings
_ROW_OVERHEAD = 100  # bytes per memory beyond its arrays: the row_of entry and its ints


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    if not 3 <= len(word) <= 64:  # FTS5's porter passes these through unstemmed
        return word
    with _STEMMER_LOCK:  # a PyStemmer object is not safe to share between threads
        return str(_STEMMER.stemWord(word))


def _fold(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Index terms of ``text``: what FTS5's ``porter unicode61`` would store."""
    return [_stem(w) for w in _WORD.findall(_fold(text))]


class _Postings:
    """Rows holding one term and the term's weighted frequency there; grows by doubling."""

    __slots__ = ("n", "rows", "tf")

    def __init__(self) -> None:
        self.rows = np.empty(4, dtype=np.int32)
        self.tf = np.empty(4, dtype=np.float32)
        self.n = 0

    def append(self, row: int, tf: float) -> None:
        if self.n == len(self.rows):
            self.rows = np.concatenate([self.rows, np.empty(self.n, dtype=np.int32)])
            self.tf = np.concatenate([self.tf, np.empty(self.n, dtype=np.float32)])
        self.rows[self.n] = row
        self.tf[self.n] = tf
        self.n += 1


class _Namespace:
    """One namespace's documents; a row whose id is -1 was deleted or replaced."""

    def __init__(self) -> None:
        self.terms: dict[str, _Postings] = {}
        self.ids = np.full(1024, -1, dtype=np.int64)
        self.lengths = np.zeros(1024, dtype=np.float64)
        self.size = 0
        self.row_of: dict[int, int] = {}
        self.total_length = 0.0

    def nbytes(self) -> int:
        """Resident bytes, counted at load (O(vocabulary)); writes since are not recounted."""
        arrays = sum(p.rows.nbytes + p.tf.nbytes for p in self.terms.values())
        return (
            arrays
            + self.ids.nbytes
            + self.lengths.nbytes
            + _TERM_OVERHEAD * len(self.terms)
            + _ROW_OVERHEAD * len(self.row_of)
        )

    def add(self, memory_id: int, content: str, context: str | None) -> None:
        self.remove(memory_id)
        row = self._new_row(memory_id, content, context)
        for word, tf in row.items():
            postings = self.terms.get(word)
            if postings is None:
                postings = self.terms[word] = _Postings()
            postings.append(self.size - 1, tf)

    def add_all(self, rows: Iterable[TextRow]) -> None:
        """A whole namespace at once into an empty index: (term, row, tf) triples gathered in
        compact arrays, sorted by term once, each term's postings a slice of one array."""
        vocabulary: dict[str, int] = {}
        term_ids, row_ids, tfs = array("i"), array("i"), array("f")
        for memory_id, _namespace, content, context in rows:
            weights = self._new_row(int(memory_id), content, context)
            row = self.size - 1
            for word, tf in weights.items():
                term_ids.append(vocabulary.setdefault(word, len(vocabulary)))
                row_ids.append(row)
                tfs.append(tf)
        if not vocabulary:
            return
        terms = np.frombuffer(term_ids, dtype=np.int32)
        order = np.argsort(terms, kind="stable")
        all_rows = np.frombuffer(row_ids, dtype=np.int32)[order]
        all_tf = np.frombuffer(tfs, dtype=np.float32)[order]
        bounds = np.searchsorted(terms[order], np.arange(len(vocabulary) + 1))
        for word, term in vocabulary.items():
            postings = self.terms[word] = _Postings()
            low, high = int(bounds[term]), int(bounds[term + 1])
            postings.rows, postings.tf, postings.n = all_rows[low:high], all_tf[low:high], high - low

    def _new_row(self, memory_id: int, content: str, context: str | None) -> dict[str, float]:
        """Give the memory a row; returns its terms' weighted frequencies."""
        weights: dict[str, float] = {}
        length = 1  # FTS5's document length counts the namespace's scope token too
        for text, weight in ((content, 1.0), (context, CONTEXT_WEIGHT)):
            if not text:
                continue
            words = tokens(text)
            length += len(words)
            for word in words:
                weights[word] = weights.get(word, 0.0) + weight
        if self.size == len(self.ids):
            self.ids = np.concatenate([self.ids, np.full(self.size, -1, dtype=np.int64)])
            self.lengths = np.concatenate([self.lengths, np.zeros(self.size, dtype=np.float64)])
        row = self.size
        self.size += 1
        self.ids[row] = memory_id
        self.lengths[row] = length
        self.row_of[memory_id] = row
        self.total_length += length
        return weights

    def remove(self, memory_id: int) -> bool:
        row = self.row_of.pop(memory_id, None)
        if row is None:
            return False
        self.ids[row] = -1
        self.total_length -= float(self.lengths[row])
        if self.size > 4096 and len(self.row_of) * 2 < self.size:
            self._compact()
        return True

    def _compact(self) -> None:
        """Drop dead rows once they are half the rows: they cost time in every posting list."""
        alive = self.ids[: self.size] >= 0
        new_row = np.cumsum(alive, dtype=np.int64) - 1
        for word in list(self.terms):
            postings = self.terms[word]
            keep = alive[postings.rows[: postings.n]]
            if not keep.any():
                del self.terms[word]
                continue
            rows = new_row[postings.rows[: postings.n][keep]].astype(np.int32)
            postings.rows, postings.tf, postings.n = rows, postings.tf[: postings.n][keep], len(rows)
        self.ids = self.ids[: self.size][alive].copy()
        self.lengths = self.lengths[: self.size][alive].copy()
        self.size = len(self.ids)
        self.row_of = {int(m): i for i, m in enumerate(self.ids)}

    def search(self, terms: Sequence[str], n: int) -> list[tuple[int, float]]:
        count = len(self.row_of)
        if count == 0 or n <= 0:
            return []
        alive = self.ids[: self.size] >= 0
        average = max(self.total_length / count, 1e-9)
        rows_parts: list[np.ndarray] = []
        score_parts: list[np.ndarray] = []
        for term in terms:
            postings = self.terms.get(term)
            if postings is None:
                continue
            rows, tf = postings.rows[: postings.n], postings.tf[: postings.n].astype(np.float64)
            hits = int(np.count_nonzero(alive[rows]))
            if hits == 0:
                continue
            idf = max(float(np.log((count - hits + 0.5) / (hits + 0.5))), MIN_IDF)
            rows_parts.append(rows)
            norm = K1 * (1 - B + B * self.lengths[rows] / average)
            score_parts.append(idf * tf * (K1 + 1) / (tf + norm))
        if not rows_parts:
            return []
        scores = np.bincount(
            np.concatenate(rows_parts), weights=np.concatenate(score_parts), minlength=self.size
        )
        scores[~alive] = 0.0
        matched = np.flatnonzero(scores)
        if len(matched) > n:
            matched = matched[np.argpartition(-scores[matched], n - 1)[:n]]
        best = matched[np.argsort(-scores[matched], kind="stable")]
        return [(int(self.ids[r]), float(scores[r])) for r in best]


class TextIndex:
    """BM25 over each namespace's memories, loaded on first use by a background thread.

    ``search`` returns None while a namespace is not loaded (the caller asks FTS5 instead);
    writes queued meanwhile are applied once it is, so nothing written during a load is lost.
    """

    def __init__(self, loader: Loader, fetcher: Fetcher, budget: IndexBudget | None = None) -> None:
        self._loader = loader
        self._fetcher = fetcher
        self._spaces: dict[str, _Namespace] = {}
        self._loading: set[str] = set()
        self._pending: dict[int, None] = {}
        self._deleted_while_loading: set[int] = set()
        self._lock = threading.RLock()
        self.last_error: str | None = None
        self._budget = budget
        self.evictions = 0
        if budget is not None:
            budget.register("text", self.evict)

    def evict(self, namespace: str) -> None:
        """Drop the namespace from memory (the budget's callback); FTS5 answers it meanwhile."""
        with self._lock:
            if self._spaces.pop(namespace, None) is not None:
                self.evictions += 1

    def loaded(self, namespace: str) -> bool:
        return namespace in self._spaces

    def namespaces(self) -> list[str]:
        return list(self._spaces)

    def loading(self) -> int:
        return len(self._loading)

    def size(self, namespace: str) -> int:
        space = self._spaces.get(namespace)
        return 0 if space is None else len(space.row_of)

    def written(self, ids: Sequence[int]) -> None:
        """Memories created or changed: read back at the next search (cheap here, on the write path)."""
        with self._lock:
            for memory_id in ids:
                self._pending[int(memory_id)] = None

    def deleted(self, ids: Sequence[int]) -> None:
        with self._lock:
            for memory_id in ids:
                self._pending.pop(int(memory_id), None)
                if self._loading:
                    self._deleted_while_loading.add(int(memory_id))
                for space in self._spaces.values():
                    space.remove(int(memory_id))

    def load(self, namespace: str) -> None:
        """Build the namespace now, on this thread (tests, warm-up); normally ``search`` starts it."""
        with self._lock:
            if namespace in self._spaces or namespace in self._loading:
                return
            self._loading.add(namespace)
        self._build(namespace)

    def search(self, namespace: str, terms: Sequence[str], n: int) -> list[tuple[int, float]] | None:
        """The ``n`` best (memory id, BM25 score) for query ``terms`` (from ``query_terms``),
        best first; None while the namespace is not loaded yet (a load is then under way)."""
        space = self._spaces.get(namespace)
        if space is None:
            if self._budget is not None and not self._budget.fits(namespace):
                return None  # larger than the whole budget: FTS5 answers
            space = self._load_small(namespace)
        if space is None:
            self._start_load(namespace)
            return None
        if self._budget is not None:
            self._budget.touch(namespace)
        stems = list(dict.fromkeys(t for term in terms for t in tokens(term)))
        with self._lock:
            self._apply_pending()
            return space.search(stems, n)

    def _load_small(self, namespace: str) -> _Namespace | None:
        """A namespace of at most ``SMALL_NAMESPACE`` memories (a new agent's, a test's) loads
        within the first search (building 500 LoCoMo turns took 16 ms, 1,000 took 26 ms, stem
        cache cold), so even that search is ranked here."""
        with self._lock:
            if namespace in self._loading:
                return None
            self._loading.add(namespace)
        rows = list(islice(self._loader(namespace), SMALL_NAMESPACE + 1))
        if len(rows) > SMALL_NAMESPACE:
            with self._lock:
                self._loading.discard(namespace)
            return None
        self._build(namespace, rows)
        return self._spaces.get(namespace)

    def _start_load(self, namespace: str) -> None:
        with self._lock:
            if namespace in self._spaces or namespace in self._loading:
                return
            self._loading.add(namespace)
        threading.Thread(target=self._build, args=(namespace,), name="text-index-load", daemon=True).start()

    def _build(self, namespace: str, rows: Iterable[TextRow] | None = None) -> None:
        try:
            space = _Namespace()
            space.add_all(self._loader(namespace) if rows is None else rows)
            with self._lock:
                # The loader may have read rows deleted since; ids queued before or during
                # the load stay queued and are read again at the next search.
                for memory_id in self._deleted_while_loading:
                    space.remove(memory_id)
                self._spaces[namespace] = space
                self.last_error = None
            if self._budget is not None:
                self._budget.charge("text", namespace, space.nbytes(), len(space.row_of))
        except Exception as exc:  # noqa: BLE001 - FTS5 keeps answering; the next search tries again
            self.last_error = f"loading {namespace!r}: {type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                self._loading.discard(namespace)
                if not self._loading:
                    self._deleted_while_loading.clear()

    def _apply_pending(self) -> None:
        """Read back queued writes (caller holds the lock). Ids no longer in the database were
        deleted meanwhile and drop out; others replace their old row."""
        if not self._pending:
            return
        ids = list(self._pending)
        found = {int(r[0]): r for r in self._fetcher(ids)}
        self._pending.clear()
        for memory_id in ids:
            row = found.get(memory_id)
            if row is not None and row[1] in self._loading:
                self._pending[memory_id] = None  # its namespace's loader may have missed it
                continue
            for name, space in self._spaces.items():
                if row is None or row[1] != name:
                    space.remove(memory_id)
            if row is not None and row[1] in self._spaces:
                self._spaces[row[1]].add(memory_id, row[2], row[3])
