"""Per-message latency of each moderator on this machine, printed as JSON.

Usage: python benchmarks/moderation.py [--messages N] [--skip-llm]
The classifier is the embedded default (MiniLM + trained head); the llm moderator runs the
GPT-JT-Moderation prompt on the embedded SmolLM2-135M (5 label continuations, one batch).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from _stats import latency_summary
from parley.moderation.data import load_examples, shipped_dev_path
from parley.moderation.factory import build_moderator
from parley.moderation.settings import ModerationSettings


def measure(moderator, texts: list[str], warmup: int = 3) -> dict[str, float]:
    for text in texts[:warmup]:
        moderator.moderate(text)
    latencies = []
    for text in texts:
        start = time.perf_counter()
        moderator.moderate(text)
        latencies.append((time.perf_counter() - start) * 1000)
    return {
        "messages": len(texts),
        **latency_summary(latencies, key="{stat}_ms", mean=True, ndigits=2),
    }


class SentenceTransformersPeer:
    """The same head on sentence-transformers' encoding of the same MiniLM: the peer that shows
    what Parley's own embedder path costs or saves per message."""

    def __init__(self, classifier) -> None:
        from sentence_transformers import SentenceTransformer

        from parley.embedded import embedded_path

        self.model = SentenceTransformer(str(embedded_path("all-minilm-l6-v2")), device="cpu")
        self.head = classifier.head

    def moderate(self, text: str) -> object:
        vectors = self.model.encode([text], normalize_embeddings=True)
        return self.head.probabilities(vectors, [text])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--llm-messages", type=int, default=30)
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    texts = [e.text for e in load_examples(shipped_dev_path())]
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="parley-bench-"))
    out: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "target_classifier_p50_ms": 15,
    }
    start = time.perf_counter()
    classifier = build_moderator(ModerationSettings(), data_dir, progress=False)
    out["classifier_build_s"] = round(time.perf_counter() - start, 2)
    out["classifier"] = measure(classifier, texts[: args.messages])
    out["peer_sentence_transformers_plus_head"] = measure(
        SentenceTransformersPeer(classifier), texts[: args.messages]
    )
    if not args.skip_llm:
        settings = ModerationSettings(moderator="llm", llm_model="smollm2-135m-instruct")
        start = time.perf_counter()
        llm = build_moderator(settings, data_dir, progress=False)
        out["llm_build_s"] = round(time.perf_counter() - start, 2)
        out["llm"] = measure(llm, texts[: args.llm_messages], warmup=1) | {
            "model": "smollm2-135m-instruct"
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
