"""Benchmark: how well the guidance knowledge base answers the labelled visitor questions.

Asks every question of bench/qa_questions.yaml against the catalog, once each after a warm-up
(jieba's dictionary load and the index build are not timed), and reports per category:
- top1: in-scope questions whose answer came from the expected catalog entry;
- abstain_correct: out-of-scope questions for which the robot abstained and called a helper;
- asks_accuracy: questions whose detected aspect (materials/fee/days/window/online/general) is right;
- p50_ms / p95_ms: wall-clock per answer.
Misses go to stderr; the LAST stdout line is one JSON object. Exit status 1 when a target is missed
(top1 >= 0.90, abstain_correct >= 0.80, p95 < 100 ms).

    /work/main/.venv/bin/python bench/qa.py [--catalog FILE] [--questions FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hallfleet.knowledge import KnowledgeBase  # noqa: E402

TARGETS = {"top1": 0.90, "abstain_correct": 0.80, "p95_ms": 100.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", type=Path, default=ROOT / "maps" / "demo_hall" / "service_items.yaml")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench" / "qa_questions.yaml")
    args = parser.parse_args()

    build_start = time.perf_counter()
    kb = KnowledgeBase.load(args.catalog)
    kb.answer("营业执照怎么办")  # warm-up: jieba and the index are ready before timing
    kb.answer("where is the toilet")
    build_ms = (time.perf_counter() - build_start) * 1000.0
    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))

    per_category: dict[str, list[bool]] = defaultdict(list)
    in_scope: list[bool] = []
    out_of_scope: list[bool] = []
    asks_ok: list[bool] = []
    latencies_ms: list[float] = []
    for entry in questions:
        start = time.perf_counter()
        answer = kb.answer(entry["q"], "auto")
        latencies_ms.append((time.perf_counter() - start) * 1000.0)
        expected = entry["item"]
        ok = answer.item_id == expected and (expected is not None or answer.needs_helper)
        (in_scope if expected is not None else out_of_scope).append(ok)
        per_category[entry.get("category", "other")].append(ok)
        asks_ok.append(answer.asks == entry["asks"])
        if not ok or answer.asks != entry["asks"]:
            print(
                f"MISS {entry['q']!r}: expected {expected} / {entry['asks']}, got {answer.item_id} / "
                f"{answer.asks} (confidence {answer.confidence})",
                file=sys.stderr,
            )

    for category, oks in sorted(per_category.items()):
        print(f"{category:10s} {sum(oks):3d}/{len(oks):3d}  {sum(oks) / len(oks):.2f}")
    result = {
        "questions": len(questions),
        "in_scope": len(in_scope),
        "out_of_scope": len(out_of_scope),
        "top1": round(sum(in_scope) / len(in_scope), 3),
        "abstain_correct": round(sum(out_of_scope) / len(out_of_scope), 3),
        "asks_accuracy": round(sum(asks_ok) / len(asks_ok), 3),
        "p50_ms": round(float(np.percentile(latencies_ms, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies_ms, 95)), 2),
        "build_ms": round(build_ms, 1),
        "catalog_items": len(kb.items),
    }
    print(json.dumps(result))
    missed = (
        result["top1"] < TARGETS["top1"]
        or result["abstain_correct"] < TARGETS["abstain_correct"]
        or result["p95_ms"] >= TARGETS["p95_ms"]
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
