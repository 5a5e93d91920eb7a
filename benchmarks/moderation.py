"""Per-message latency of each moderation stage on this machine, printed as JSON.

Usage: python benchmarks/moderation.py [--messages N] [--skip-llm]

First stage, the `classifier` moderator (the embedded default), timed in its parts: text
normalisation, the embedding by its tuned MiniLM, and the linear head; and whole, one message at
a time. The peer is sentence-transformers' encoding with the same encoder and head. The second
stage is the `llm` moderator (GPT-JT-Moderation prompt on the embedded SmolLM2-135M, 5 label
continuations in one batch) for the messages whose P(needs intervention) falls in the
uncertain band; the share of messages that would reach it is measured on the shipped dev,
test, over-refusal, obfuscated and output parts together.
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
from parley.moderation.data import load_shipped, role_text
from parley.moderation.factory import build_moderator
from parley.moderation.labels import Label
from parley.moderation.normalize import normalize
from parley.moderation.settings import ModerationSettings

UNCERTAIN_BAND = (0.2, 0.8)
"""P(needs intervention) range a second stage would re-judge."""


def timed(fn, items, warmup: int = 3) -> dict[str, float]:
    for item in items[:warmup]:
        fn(item)
    latencies = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        latencies.append((time.perf_counter() - start) * 1000)
    return {"messages": len(items), **latency_summary(latencies, key="{stat}_ms", mean=True)}


class SentenceTransformersPeer:
    """The same head on sentence-transformers' encoding of the same MiniLM: the peer that shows
    what Parley's own embedder path costs or saves per message."""

    def __init__(self, classifier) -> None:
        from sentence_transformers import SentenceTransformer

        # The moderator's own encoder (the tuned copy by default), loaded by sentence-transformers.
        self.model = SentenceTransformer(classifier.embedder.source, device="cpu")
        self.head = classifier.head

    def moderate(self, text: str) -> object:
        text = normalize(text)
        vectors = self.model.encode([text], normalize_embeddings=True)
        return self.head.probabilities(vectors, [text])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--llm-messages", type=int, default=20)
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    parts = {
        name: load_shipped(name) for name in ("dev", "test", "overrefusal", "obfuscated", "output")
    }
    examples = [e for part in parts.values() for e in part]
    # A fixed, mixed sample: every 7th example (all parts, both directions).
    sample = examples[:: max(1, len(examples) // args.messages)][: args.messages]
    texts = [e.text for e in sample]
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="parley-bench-"))
    out: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "target_first_stage_p50_ms": 15,
    }
    start = time.perf_counter()
    classifier = build_moderator(ModerationSettings(), data_dir, progress=False)
    out["classifier_build_s"] = round(time.perf_counter() - start, 2)
    embedder, head = classifier.embedder, classifier.head  # type: ignore[attr-defined]
    normalised = [normalize(role_text(t, "user")) for t in texts]
    vectors = embedder.embed(normalised)
    out["first_stage"] = {
        "normalise": timed(normalize, texts),
        "embed": timed(lambda t: embedder.embed([t]), normalised),
        "head": timed(
            lambda i: head.probabilities(vectors[i : i + 1], [normalised[i]]),
            list(range(len(texts))),
        ),
        "total": timed(classifier.moderate, texts),
    }
    out["peer_sentence_transformers_plus_head"] = timed(
        SentenceTransformersPeer(classifier).moderate, texts
    )
    # Share of messages a second stage would see: P(needs intervention) inside the band.
    low, high = UNCERTAIN_BAND
    uncertain = []
    for name, part in parts.items():
        for role in ("user", "bot"):
            chosen = [e.text for e in part if e.text.startswith("Bot: ") == (role == "bot")]
            for text, result in zip(chosen, classifier.moderate_many(chosen, role), strict=True):
                if low < result.probability(Label.NEEDS_INTERVENTION) < high:
                    uncertain.append((name, text))
    out["second_stage_band"] = {
        "p_needs_intervention": list(UNCERTAIN_BAND),
        "messages": len(examples),
        "share": round(len(uncertain) / len(examples), 4),
    }
    if not args.skip_llm:
        settings = ModerationSettings(moderator="llm", llm_model="smollm2-135m-instruct")
        start = time.perf_counter()
        llm = build_moderator(settings, data_dir, progress=False)
        out["llm_build_s"] = round(time.perf_counter() - start, 2)
        band_texts = [t for _, t in uncertain][: args.llm_messages] or texts[: args.llm_messages]
        out["second_stage_llm"] = timed(llm.moderate, band_texts, warmup=1) | {
            "model": "smollm2-135m-instruct"
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
