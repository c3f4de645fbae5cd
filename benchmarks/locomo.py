"""Retrieval quality on LoCoMo (development split), through the public HTTP API.

Usage: python benchmarks/locomo.py [--data PATH] [--ablations] [--no-write]

Starts the real service (uvicorn on 127.0.0.1, in this process, on a fresh database), stores
every dialogue turn of every conversation as one memory through ``POST /v1/memories/batch``
(one namespace per conversation; ``occurred_at`` = the session's date; metadata holds the
turn id, speaker and session; a shared image's caption is part of the turn's text; never the
dataset's observations or summaries), waits for the background embeddings, then asks every
question of categories 1-4 through ``POST /v1/memories/search`` with ``sources`` full text
only, dense only, and both fused. Reports evidence recall@5/@10/@20 (share of a question's
evidence turns found in the top k, averaged over questions) overall and per category, and
ingest throughput: memories acknowledged per second (batch POSTs of 1,000) and embedding
throughput (memories/s from the first write until every vector is stored).

``--ablations`` reruns the whole pipeline per variant of what is embedded and indexed, to
show what each change buys. Writes the "locomo" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import git_revision, machine, write_section

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "locomo" / "locomo_dev.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
KS = (5, 10, 20)
SOURCE_SETS = {"fulltext": ["fulltext"], "dense": ["dense"], "fused": ["fulltext", "dense"]}
BASELINE = {
    "BM25 (README)": (0.479, 0.549, 0.609),
    "dense (README)": (0.413, 0.516, 0.623),
    "RRF (README)": (0.502, 0.589, 0.667),
}


def parse_session_date(text: str) -> str:
    """'1:56 pm on 8 May, 2023' -> ISO 8601 UTC."""
    cleaned = re.sub(r"\s+", " ", text.strip())
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%d %B, %Y", "%d %B %Y"):
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=UTC).isoformat()
        except ValueError:
            continue
    raise ValueError(f"unrecognised session date {text!r}")


def turns_of(sample: dict[str, Any]) -> list[dict[str, Any]]:
    """Every turn, in order, as a memory item for the batch API."""
    conv = sample["conversation"]
    items = []
    sessions = sorted(int(m.group(1)) for key in conv if (m := re.fullmatch(r"session_(\d+)", key)))
    for n in sessions:
        occurred = parse_session_date(conv[f"session_{n}_date_time"])
        for turn in conv[f"session_{n}"]:
            text = turn["text"]
            if turn.get("blip_caption"):
                text = f"{text} [shares an image: {turn['blip_caption']}]"
            items.append(
                {
                    "content": text,
                    "kind": "event",
                    "tier": "long_term",
                    "session_id": f"{sample['sample_id']}:session_{n}",
                    "occurred_at": occurred,
                    "metadata": {"turn": turn["dia_id"], "speaker": turn["speaker"], "session": n},
                }
            )
    return items


def evidence_ids(raw: list[Any], known: set[str]) -> list[str]:
    """Normalise the dataset's evidence defects ('D8:6; D9:17', 'D', unknown ids)."""
    out: list[str] = []
    for entry in raw:
        for part in re.split(r"[;,\s]+", str(entry)):
            part = part.strip()
            m = re.fullmatch(r"D(\d+):(\d+)", part)
            if m:
                norm = f"D{int(m.group(1))}:{int(m.group(2))}"
                if norm in known and norm not in out:
                    out.append(norm)
    return out


def scored_questions(sample: dict[str, Any], known: set[str]) -> list[tuple[int, str, list[str]]]:
    """(category, question, evidence) for every question recall is scored on: categories 1-4
    with at least one evidence turn that resolves (benchmarks/peers/ asks the same ones)."""
    out = []
    for qa in sample["qa"]:
        category = qa.get("category")
        if category not in CATEGORIES:
            continue
        evidence = evidence_ids(qa.get("evidence", []), known)
        if evidence:
            out.append((category, qa["question"], evidence))
    return out


def evidence_recall(ranked: list[str], evidence: list[str]) -> list[float]:
    """For each k in KS, the share of the evidence turns among the first k ranked turns."""
    return [len(set(ranked[:k]) & set(evidence)) / len(evidence) for k in KS]


def mean_recall(rows: list[list[float]]) -> list[float]:
    return [sum(r[i] for r in rows) / len(rows) for i in range(len(KS))] if rows else [0.0] * len(KS)


class Server:
    """The real app under uvicorn on a free loopback port, with its runtime reachable here."""

    def __init__(self, db_path: Path, **settings: Any) -> None:
        import uvicorn

        from memory_system.api.app import create_app
        from memory_system.core.settings import Settings
        from memory_system.ops import schema
        from memory_system.runtime import Runtime

        schema.migrate(db_path)
        self.settings = Settings(db_path=db_path, dev=True, config_path=db_path.parent / "none.json")
        for key, value in settings.items():
            setattr(self.settings, key, value)
        self.runtime = Runtime(self.settings)
        self.runtime.retrieval  # noqa: B018 - load the model and start the worker before timing
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(self.runtime), host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"
        import httpx

        for _ in range(200):
            try:
                httpx.get(self.url + "/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.runtime.close()


def run_variant(
    data: list[dict[str, Any]],
    workdir: Path,
    label: str,
    extra: dict[str, Any],
    patch: dict[str, Any],
    fusions: tuple[str, ...] = ("relative",),
) -> dict[str, Any]:
    """One ingest; full text, dense and fused recall (fused once per fusion method in ``fusions``,
    switched in this process between passes: the first is the one reported as "fused")."""
    import importlib

    import httpx

    from memory_system.memory.retrieval import hybrid as retrieval_module

    def target(key: str) -> tuple[Any, str]:
        module, _, attr = key.rpartition(".")
        return importlib.import_module(module), attr

    saved = {key: getattr(*target(key)) for key in patch}
    for key, value in patch.items():
        setattr(*target(key), value)
    server = Server(workdir / (re.sub(r"\W+", "_", label).strip("_") + ".db"), extra=dict(extra))
    try:
        client = httpx.Client(base_url=server.url, timeout=120)
        turn_of: dict[str, dict[int, list[str]]] = {}
        ack_s = 0.0
        total = 0
        started = time.perf_counter()
        for sample in data:
            ns = f"locomo-{sample['sample_id']}"
            headers = {"X-Agent-Id": "locomo", "X-Namespace": ns}
            items = turns_of(sample)
            mapping: dict[int, list[str]] = defaultdict(list)
            for start in range(0, len(items), 1000):
                chunk = items[start : start + 1000]
                t0 = time.perf_counter()
                resp = client.post("/v1/memories/batch", json={"items": chunk}, headers=headers)
                ack_s += time.perf_counter() - t0
                resp.raise_for_status()
                for item, written in zip(chunk, resp.json()["items"], strict=True):
                    mapping[written["id"]].append(item["metadata"]["turn"])
            total += len(items)
            turn_of[ns] = mapping
        worker = server.runtime.retrieval.worker
        if worker is not None and not worker.wait_idle(timeout=1800):
            raise SystemExit("embedding did not finish within 30 minutes")
        embed_s = time.perf_counter() - started
        model_per_s = 0.0
        embedder = server.runtime.embedder
        if embedder is not None:  # the model alone, same machine, same moment: what the worker can approach
            from memory_system.memory.retrieval.documents import DocumentOptions, embedding_text

            options = DocumentOptions.parse(extra.get("embedding_document"))
            items = turns_of(data[0])[:257]
            sample_texts = [  # the same documents the worker embedded (turn + speaker, date, previous turn)
                embedding_text(
                    item["content"],
                    item["metadata"],
                    item["occurred_at"],
                    [(prev["content"], prev["metadata"])] if prev["session_id"] == item["session_id"] else [],
                    options,
                )
                for prev, item in pairwise(items)
            ]
            t0 = time.perf_counter()
            for start in range(0, len(sample_texts), 64):
                embedder.encode(sample_texts[start : start + 64])
            model_per_s = len(sample_texts) / (time.perf_counter() - t0)
        print(
            f"  {label}: {total} memories acknowledged at {total / ack_s:.0f}/s, embedded at "
            f"{total / embed_s:.0f}/s; asking questions...",
            flush=True,
        )

        passes = [(name, sources, fusions[0]) for name, sources in SOURCE_SETS.items()]
        passes += [(f"fused:{f}", SOURCE_SETS["fused"], f) for f in fusions[1:]]
        hits: dict[str, dict[int, list[list[float]]]] = {name: defaultdict(list) for name, _, _ in passes}
        modes: dict[str, int] = defaultdict(int)
        questions = 0
        for name, sources, fusion in passes:
            retrieval_module.FUSION = fusion
            questions = 0
            for sample in data:
                ns = f"locomo-{sample['sample_id']}"
                headers = {"X-Agent-Id": "locomo", "X-Namespace": ns}
                known = {t for ts in turn_of[ns].values() for t in ts}
                for category, question, evidence in scored_questions(sample, known):
                    questions += 1
                    resp = client.post(
                        "/v1/memories/search",
                        headers=headers,
                        json={"query": question, "k": max(KS), "sources": sources},
                    )
                    resp.raise_for_status()
                    body = resp.json()
                    modes[f"{name}:{body['mode']}"] += 1
                    ranked: list[str] = []
                    for hit in body["hits"]:
                        ranked.extend(turn_of[ns].get(hit["memory"]["id"], []))
                    hits[name][category].append(evidence_recall(ranked, evidence))
        client.close()
    finally:
        retrieval_module.FUSION = "relative"
        server.close()
        for key, value in saved.items():
            setattr(*target(key), value)

    results: dict[str, Any] = {}
    for name in hits:
        every = [r for rows in hits[name].values() for r in rows]
        results[name] = {
            "all": mean_recall(every),
            **{CATEGORIES[c]: mean_recall(hits[name][c]) for c in CATEGORIES},
            "n": {CATEGORIES[c]: len(hits[name][c]) for c in CATEGORIES},
        }
    return {
        "label": label,
        "results": results,
        "questions": questions,
        "memories": total,
        "ack_per_s": total / ack_s,
        "embed_per_s": total / embed_s,
        "model_per_s": model_per_s,
        "modes": dict(modes),
    }


VARIANTS: list[tuple[str, str, dict[str, Any], dict[str, Any], tuple[str, ...]]] = [
    (
        "plain",
        "the turn alone is embedded; full text indexes the turn only; RRF (k = 60)",
        {"embedding_document": "plain"},
        {"memory_system.store.search.CONTEXT_WEIGHT": 0.0},
        ("rrf",),
    ),
    (
        "+ speaker, date",
        "embedded `[date] speaker: turn`; full text also indexes the speaker (metadata); RRF",
        {"embedding_document": "speaker,date"},
        {},
        ("rrf",),
    ),
    ("+ previous turn", "embedded text also holds the previous turn of the session; RRF", {}, {}, ("rrf",)),
    ("shipped", "+ relative score fusion instead of RRF", {}, {}, ("relative",)),
]


def table(run: dict[str, Any]) -> str:
    lines = [
        "| source | R@5 | R@10 | R@20 | " + " | ".join(f"{c} R@10" for c in CATEGORIES.values()) + " |",
        "|---|---|---|---|" + "---|" * len(CATEGORIES),
    ]
    for name in SOURCE_SETS:
        r = run["results"][name]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{v:.3f}" for v in r["all"])
            + " | "
            + " | ".join(f"{r[c][1]:.3f}" for c in CATEGORIES.values())
            + " |"
        )
    for name, values in BASELINE.items():
        lines.append(
            f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |" + " - |" * len(CATEGORIES)
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--ablations", action="store_true", help="also run the simpler variants")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(
            f"LoCoMo data not found at {args.data}: it lives in ../shared/data/locomo/ "
            "next to the repository (see its README); pass --data PATH"
        )
    data = json.loads(args.data.read_text())
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.ablations:  # the last two variants share one ingest (they differ only in fusion)
            for label, _, extra, patch, fusions in VARIANTS[:2]:
                runs.append(run_variant(data, Path(tmp), label, extra, patch, fusions))
        run = run_variant(
            data, Path(tmp), "shipped", {}, {}, ("relative", "rrf") if args.ablations else ("relative",)
        )
        runs.append(run)
        for run in runs:
            label = run["label"]
            fused = run["results"]["fused"]["all"]
            print(
                f"{label}: fused R@5/10/20 {fused[0]:.3f}/{fused[1]:.3f}/{fused[2]:.3f}; full text "
                f"{run['results']['fulltext']['all'][1]:.3f}; dense {run['results']['dense']['all'][1]:.3f} "
                f"(R@10); ack {run['ack_per_s']:.0f}/s, embedded {run['embed_per_s']:.0f}/s; "
                f"modes {run['modes']}",
                flush=True,
            )
    from memory_system.memory.retrieval.embeddings import QUERY_PRECISION

    shipped = runs[-1]
    body = [
        "## Retrieval quality: LoCoMo dev (benchmarks/locomo.py)",
        "",
        f"`python benchmarks/locomo.py{' --ablations' if args.ablations else ''}` at {git_revision()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; 1-minute load average "
        f"{os.getloadavg()[0]:.1f} at the end (above ~2: other work shared the cores; recall does not "
        "depend on it, the rates do). Queries embedded with "
        f"{os.environ.get('MEMORY_SYSTEM_QUERY_PRECISION', QUERY_PRECISION)} weights "
        "(`MEMORY_SYSTEM_QUERY_PRECISION`; stored vectors are fp32).",
        f"{shipped['memories']} turns of {len(data)} conversations stored through `POST /v1/memories/batch`, "
        f"{shipped['questions']} questions (categories 1-4) asked through `POST /v1/memories/search`. "
        "Evidence recall: share of a question's evidence turns in the top k, averaged over questions.",
        "",
        table(shipped),
        "",
        f"Ingest: **{shipped['ack_per_s']:.0f} memories/s acknowledged** (batches of up to 1,000 over HTTP); "
        f"embedding followed in the background at {shipped['embed_per_s']:.0f} memories/s "
        "(first write to last vector stored, all-MiniLM-L6-v2 on CPU, one torch thread); the model alone, "
        f"right after on the same machine, encoded the same documents at {shipped['model_per_s']:.0f}/s "
        "in batches of 64.",
        "",
        "What is embedded and indexed (the stored memory is always the turn alone): the vector sees "
        "`[date] speaker: turn (after: previous speaker: previous turn)`; full text indexes the turn and, "
        "at half weight, the string values of its metadata (here the speaker and turn id).",
    ]
    if len(runs) > 1:
        rows = [
            (VARIANTS[0], runs[0]["results"], "fused"),
            (VARIANTS[1], runs[1]["results"], "fused"),
            (VARIANTS[2], shipped["results"], "fused:rrf"),
            (VARIANTS[3], shipped["results"], "fused"),
        ]
        body += [
            "",
            "What each change bought (R@5 / R@10 / R@20; each row adds to the one above):",
            "",
            "| variant | what changes | full text | dense | fused |",
            "|---|---|---|---|---|",
        ]
        for (label, what, *_), r, fused_key in rows:
            cells = [
                " / ".join(f"{v:.3f}" for v in r[key]["all"]) for key in ("fulltext", "dense", fused_key)
            ]
            body.append(f"| {label} | {what} | " + " | ".join(cells) + " |")
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        write_section("locomo", text)


if __name__ == "__main__":
    main()
