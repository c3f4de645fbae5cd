"""Retrieval quality on LoCoMo (development split), through the public HTTP API, leave-one-out.

Usage: python benchmarks/locomo.py [--data PATH] [--ablations] [--no-write]

Starts the real service (uvicorn on 127.0.0.1, in this process, on a fresh database) and stores
every dialogue turn of every conversation as one memory through ``POST /v1/memories/batch``, once
per storage mode, one namespace per conversation and mode:

- *rich*: content = the turn; ``session_id``; ``occurred_at`` = the session's date; metadata
  holds the turn id, speaker and session number;
- *plain*: content = ``"Speaker: turn"``; no session, no metadata; ``occurred_at`` kept (a
  client that logs a chat sends its time).

A shared image's caption is part of the turn's text; never the dataset's observations or
summaries. After the background embeddings, every question of categories 1-4 is asked through
``POST /v1/memories/search`` three times: full text only and dense only (top 50 with scores),
and both fused by the service (top 20). Every candidate configuration (``CONFIGS``: one source,
or relative score fusion with a dense weight, or RRF) is then evaluated from those answers
alone: the fusions are offline re-fusions of the per-source lists with the service's formula
(``_locomo_folds``), checked against the service's own fused answers. Evidence recall@5/@10/@20
(share of a question's evidence turns in the top k, averaged over questions).

Leave-one-conversation-out: for each of the 5 conversations, the configuration with the best
R@10 on the other 4 is scored on it; the mean and the worst of the 5 folds are reported beside
the in-sample figure (configuration chosen on all 5). ``--ablations`` ingests two simpler
document variants too. Writes the "locomo" section of BENCHMARKS.md.
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

from _locomo_folds import Question, evaluate, figures, relative_fusion, rrf_fusion
from _locomo_tables import folds_table, head, loo_table, row
from _report import git_revision, machine, write_section

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "locomo" / "locomo_dev.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
CATEGORY_NAMES = list(CATEGORIES.values())
KS = (5, 10, 20)
MODES = ("rich", "plain")
PER_SOURCE_K = 50  # what each single-source request returns: the fusion depth of a k <= 25 search
FUSION_DEPTH = 50  # hybrid.py: depth = min(max(2 * k, 50), 200) per source
DENSE_WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # 0.5 = the service's equal weights
CONFIGS = (
    ["fulltext", "dense"] + [f"relative d={w:.1f}" for w in DENSE_WEIGHTS] + ["rrf"]
)  # order = tie-break order when choosing
SERVICE_CONFIG = "relative d=0.5"
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
    """Every turn, in order, as a rich-mode memory item (``benchmarks/peers/`` store these)."""
    return [item for _, item in memory_items(sample, "rich")]


def memory_items(sample: dict[str, Any], mode: str) -> list[tuple[str, dict[str, Any]]]:
    """Every turn, in order: (turn id, memory item for the batch API) as a client in ``mode``
    stores it."""
    conv = sample["conversation"]
    items = []
    sessions = sorted(int(m.group(1)) for key in conv if (m := re.fullmatch(r"session_(\d+)", key)))
    for n in sessions:
        occurred = parse_session_date(conv[f"session_{n}_date_time"])
        for turn in conv[f"session_{n}"]:
            text = turn["text"]
            if turn.get("blip_caption"):
                text = f"{text} [shares an image: {turn['blip_caption']}]"
            item: dict[str, Any] = {"kind": "event", "tier": "long_term", "occurred_at": occurred}
            if mode == "rich":
                item |= {
                    "content": text,
                    "session_id": f"{sample['sample_id']}:session_{n}",
                    "metadata": {"turn": turn["dia_id"], "speaker": turn["speaker"], "session": n},
                }
            else:
                item["content"] = f"{turn['speaker']}: {text}"
            items.append((turn["dia_id"], item))
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


def model_rate(server: Server, data: list[dict[str, Any]], extra: dict[str, Any]) -> float:
    """The model alone, same machine, same moment, on the documents the worker embedded."""
    embedder = server.runtime.embedder
    if embedder is None:
        return 0.0
    from memory_system.memory.retrieval.documents import DocumentOptions, embedding_text

    options = DocumentOptions.parse(extra.get("embedding_document"))
    items = turns_of(data[0])[:257]
    texts = [  # turn + speaker, date, previous turn of the session
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
    for start in range(0, len(texts), 64):
        embedder.encode(texts[start : start + 64])
    return len(texts) / (time.perf_counter() - t0)


def ask(client: Any, headers: dict[str, str], question: str, k: int, sources: list[str]) -> dict[str, Any]:
    resp = client.post(
        "/v1/memories/search", headers=headers, json={"query": question, "k": k, "sources": sources}
    )
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


def run_ingest(
    data: list[dict[str, Any]],
    workdir: Path,
    label: str,
    modes: tuple[str, ...],
    extra: dict[str, Any],
    patch: dict[str, Any],
) -> dict[str, Any]:
    """One service, every conversation stored once per mode, every question asked per mode;
    returns per mode the scored ``Question`` rows of every configuration and the checks."""
    import importlib

    import httpx

    def target(key: str) -> tuple[Any, str]:
        module, _, attr = key.rpartition(".")
        return importlib.import_module(module), attr

    saved = {key: getattr(*target(key)) for key in patch}
    for key, value in patch.items():
        setattr(*target(key), value)
    server = Server(workdir / (re.sub(r"\W+", "_", label).strip("_") + ".db"), extra=dict(extra))
    try:
        client = httpx.Client(base_url=server.url, timeout=120)
        turn_of: dict[str, dict[int, str]] = {}
        ack_s, total, started = 0.0, 0, time.perf_counter()
        for mode in modes:
            for sample in data:
                ns = f"locomo-{mode}-{sample['sample_id']}"
                items = memory_items(sample, mode)
                for start in range(0, len(items), 1000):
                    chunk = items[start : start + 1000]
                    t0 = time.perf_counter()
                    resp = client.post(
                        "/v1/memories/batch",
                        json={"items": [item for _, item in chunk]},
                        headers={"X-Agent-Id": "locomo", "X-Namespace": ns},
                    )
                    ack_s += time.perf_counter() - t0
                    resp.raise_for_status()
                    for (turn, _), written in zip(chunk, resp.json()["items"], strict=True):
                        turn_of.setdefault(ns, {})[written["id"]] = turn
                total += len(items)
        worker = server.runtime.retrieval.worker
        if worker is not None and not worker.wait_idle(timeout=3600):
            raise SystemExit("embedding did not finish within an hour")
        embed_s = time.perf_counter() - started
        model_per_s = model_rate(server, data, extra)
        print(
            f"  {label}: {total} memories acknowledged at {total / ack_s:.0f}/s, embedded at "
            f"{total / embed_s:.0f}/s; asking questions...",
            flush=True,
        )
        per_mode = {mode: ask_all(client, data, mode, turn_of) for mode in modes}
        client.close()
    finally:
        server.close()
        for key, value in saved.items():
            setattr(*target(key), value)
    return {
        "label": label,
        "modes": per_mode,
        "memories": total,
        "ack_per_s": total / ack_s,
        "embed_per_s": total / embed_s,
        "model_per_s": model_per_s,
    }


def ask_all(
    client: Any, data: list[dict[str, Any]], mode: str, turn_of: dict[str, dict[int, str]]
) -> dict[str, Any]:
    """Every question of ``mode``'s namespaces: per-source answers, the service's fused answer,
    every configuration scored from them."""
    questions: list[Question] = []
    service_fused: list[Question] = []
    answer_modes: dict[str, int] = defaultdict(int)
    agree = 0
    for sample in data:
        ns = f"locomo-{mode}-{sample['sample_id']}"
        headers = {"X-Agent-Id": "locomo", "X-Namespace": ns}
        turns = turn_of[ns]
        for category, question, evidence in scored_questions(sample, set(turns.values())):
            lists: dict[str, list[tuple[int, float]]] = {}
            for source in ("fulltext", "dense"):
                body = ask(client, headers, question, PER_SOURCE_K, [source])
                answer_modes[f"{source}:{body['mode']}"] += 1
                lists[source] = [
                    (h["memory"]["id"], h["scores"].get(source, h["score"])) for h in body["hits"]
                ]
            body = ask(client, headers, question, max(KS), ["fulltext", "dense"])
            answer_modes[f"fused:{body['mode']}"] += 1
            served = [h["memory"]["id"] for h in body["hits"]]
            ranked = configurations(lists)
            agree += ranked[SERVICE_CONFIG][: max(KS)] == served

            def recall(ids: list[int], ev: list[str] = evidence, at: dict[int, str] = turns) -> list[float]:
                return evidence_recall([at[i] for i in ids], ev)

            name = CATEGORIES[category]
            questions.append(Question(sample["sample_id"], name, {c: recall(r) for c, r in ranked.items()}))
            service_fused.append(Question(sample["sample_id"], name, {"fused": recall(served)}))
    return {
        "questions": questions,
        "service": service_fused,
        "agree": agree / len(questions),
        "answer_modes": dict(answer_modes),
    }


def configurations(lists: dict[str, list[tuple[int, float]]]) -> dict[str, list[int]]:
    """The ranking of every candidate configuration, from the two per-source answers."""
    out = {source: [i for i, _ in lists[source]] for source in ("fulltext", "dense")}
    for w in DENSE_WEIGHTS:
        weights = {"fulltext": 1 - w, "dense": w}
        out[f"relative d={w:.1f}"] = relative_fusion(lists, weights, FUSION_DEPTH)
    out["rrf"] = rrf_fusion(lists, {}, FUSION_DEPTH)
    assert list(out) == CONFIGS
    return out


def sources_table(modes: dict[str, Any]) -> list[str]:
    lines = [head("mode: source (service's answers, in-sample)", CATEGORY_NAMES)]
    for mode, result in modes.items():
        for config in ("fulltext", "dense"):
            f = figures(result["questions"], config, CATEGORY_NAMES)
            lines.append(row(f"{mode}: {config}", f, CATEGORY_NAMES))
        f = figures(result["service"], "fused", CATEGORY_NAMES)
        lines.append(row(f"{mode}: fused (service)", f, CATEGORY_NAMES))
    for name, values in BASELINE.items():
        lines.append(
            f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |" + " - |" * len(CATEGORIES)
        )
    return lines


def candidates_line(modes: dict[str, Any]) -> str:
    parts = []
    for mode, result in modes.items():
        values = [f"{c} {figures(result['questions'], c, CATEGORY_NAMES).overall[1]:.3f}" for c in CONFIGS]
        parts.append(f"{mode}: " + ", ".join(values))
    return (
        "In-sample R@10 of every candidate (for reference only; no choice is made on it): "
        + "; ".join(parts)
        + "."
    )


ABLATIONS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "turn alone",
        "the turn alone is embedded; full text indexes the turn only; RRF (k = 60)",
        {"embedding_document": "plain"},
        {"memory_system.store.search.CONTEXT_WEIGHT": 0.0},
    ),
    (
        "+ speaker, date",
        "embedded `[date] speaker: turn`; full text also indexes the speaker (metadata); RRF",
        {"embedding_document": "speaker,date"},
        {},
    ),
]


def ablation_table(runs: list[dict[str, Any]], shipped: dict[str, Any]) -> list[str]:
    """Rich mode, in-sample, as before: what each document change bought (RRF re-fused offline)."""

    def cells(result: dict[str, Any], fused: str) -> str:
        qs = result["service"] if fused == "fused" else result["questions"]
        out = [figures(result["questions"], c, CATEGORY_NAMES).overall for c in ("fulltext", "dense")]
        out.append(figures(qs, fused, CATEGORY_NAMES).overall)
        return " | ".join(" / ".join(f"{v:.3f}" for v in r) for r in out)

    lines = [
        "What each change bought (rich mode, in-sample, R@5 / R@10 / R@20; each row adds to the one above; "
        "RRF re-fused offline from the per-source answers, relative score fusion as the service answers):",
        "",
        "| variant | what changes | full text | dense | fused |",
        "|---|---|---|---|---|",
    ]
    for (label, what, _, _), run in zip(ABLATIONS, runs, strict=True):
        lines.append(f"| {label} | {what} | {cells(run['modes']['rich'], 'rrf')} |")
    rich = shipped["modes"]["rich"]
    lines.append(
        "| + previous turn | embedded text also holds the previous turn of the session; RRF | "
        f"{cells(rich, 'rrf')} |"
    )
    lines.append(f"| shipped | + relative score fusion instead of RRF | {cells(rich, 'fused')} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--ablations", action="store_true", help="also ingest the simpler document variants")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(
            f"LoCoMo data not found at {args.data}: it lives in ../shared/data/locomo/ "
            "next to the repository (see its README); pass --data PATH"
        )
    data = json.loads(args.data.read_text())
    ablations = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.ablations:
            for label, _, extra, patch in ABLATIONS:
                ablations.append(run_ingest(data, Path(tmp), label, ("rich",), extra, patch))
        shipped = run_ingest(data, Path(tmp), "shipped", MODES, {}, {})
    from memory_system.memory.retrieval.embeddings import QUERY_PRECISION

    modes = shipped["modes"]
    views = {mode: evaluate(r["questions"], CONFIGS, CATEGORY_NAMES) for mode, r in modes.items()}
    questions = len(modes["rich"]["questions"])
    checks = "; ".join(
        f"{mode} {100 * r['agree']:.1f}% (answers: "
        + ", ".join(f"{k} {v}" for k, v in sorted(r["answer_modes"].items()))
        + ")"
        for mode, r in modes.items()
    )
    command = f"python benchmarks/locomo.py{' --ablations' if args.ablations else ''}"
    body = [
        "## Retrieval quality: LoCoMo dev (benchmarks/locomo.py)",
        "",
        f"`{command}` at {git_revision()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; "
        f"1-minute load average {os.getloadavg()[0]:.1f} at the end (above ~2: other work shared the "
        "cores; recall does not depend on it, the rates do). Queries embedded with "
        f"{os.environ.get('MEMORY_SYSTEM_QUERY_PRECISION', QUERY_PRECISION)} weights "
        "(`MEMORY_SYSTEM_QUERY_PRECISION`; stored vectors are fp32).",
        f"{shipped['memories'] // len(MODES)} turns of {len(data)} conversations stored through "
        f"`POST /v1/memories/batch` once per storage mode, {questions} questions (categories 1-4) asked "
        "through `POST /v1/memories/search`. Evidence recall: share of a question's evidence turns in "
        "the top k, averaged over questions. Storage modes: **rich** = the turn as content, the speaker "
        "(and turn id, session number) in metadata, a `session_id` per LoCoMo session, `occurred_at` = "
        'the session\'s date; **plain** = `"Speaker: turn"` as content, no session, no metadata, '
        "`occurred_at` kept (a chat client sends its time).",
        "",
        "### Leave-one-conversation-out (the figure to judge changes by)",
        "",
        "Candidates, all choosable per query without re-ingesting: `sources` full text only, dense "
        f"only, and both fused; the fusions are **offline re-fusion, same formula**: the service's "
        f"relative score fusion over each source's top {FUSION_DEPTH}, with a dense weight d (full text "
        "1 - d; d = 0.5 is the service's equal weighting) in "
        f"{', '.join(f'{w:.1f}' for w in DENSE_WEIGHTS)}, "
        'and RRF (k = 60), re-fused from the per-source answers (`sources: ["fulltext"]` and '
        f'`["dense"]`, k = {PER_SOURCE_K}, with their scores). Each fold picks the candidate with the '
        "best R@10 on 4 conversations and scores it on the 5th; mean of the 5 folds, and the worst fold "
        "per column (per category: over folds with questions of it). The in-sample rows choose on all 5.",
        "",
        *loo_table(views, CATEGORY_NAMES),
        "",
        *folds_table(views),
        "",
        candidates_line(modes),
        f"Offline re-fusion at d = 0.5 gives the service's fused top 20 exactly on: {checks}. "
        + "; ".join(
            f"{m} R@10 offline {figures(r['questions'], SERVICE_CONFIG, CATEGORY_NAMES).overall[1]:.3f}, "
            f"service {figures(r['service'], 'fused', CATEGORY_NAMES).overall[1]:.3f}"
            for m, r in modes.items()
        )
        + ".",
        "",
        "### Per source, as the service answers (in-sample)",
        "",
        *sources_table(modes),
        "",
        f"Ingest (both modes): **{shipped['ack_per_s']:.0f} memories/s acknowledged** (batches of up to "
        f"1,000 over HTTP); embedding followed in the background at {shipped['embed_per_s']:.0f} memories/s "
        "(first write to last vector stored, all-MiniLM-L6-v2 on CPU, one torch thread); the model alone, "
        f"right after on the same machine, encoded the same documents at {shipped['model_per_s']:.0f}/s "
        "in batches of 64.",
        "",
        "What is embedded and indexed (the stored memory is always the content as sent): the vector sees "
        "`[date] speaker: turn (after: previous speaker: previous turn)` in rich mode and "
        "`[date] Speaker: turn` in plain mode (no session: no neighbours); full text indexes the content "
        "and, at half weight, the string values of its metadata (rich: the speaker and turn id).",
    ]
    if ablations:
        body += ["", *ablation_table(ablations, shipped)]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        write_section("locomo", text)


if __name__ == "__main__":
    main()
