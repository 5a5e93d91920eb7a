"""Retrieval evaluation: recall@k and MRR of expected article titles over a QA set."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from parley.jsonl import read_jsonl
from parley.retrieval.errors import SourceError
from parley.retrieval.retriever import Retriever, search_in_conversation

KS = (1, 5, 10)


@dataclass(frozen=True)
class QAItem:
    question: str
    title: str
    previous: str | None = None
    """The user's earlier message, for follow-up questions ("How tall is it?")."""


@dataclass
class EvalReport:
    metrics: dict[str, float | int]
    """recall@1, recall@5, recall@10, mrr, n."""
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)
    """(question, expected title, titles found) for questions missed at the largest k."""

    def latency_percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def dev_set_path() -> Path:
    """The dev set shipped with Parley (questions over the default knowledge base)."""
    return Path(str(resources.files("parley") / "data" / "retrieval_dev.jsonl"))


def followups_set_path() -> Path:
    """Follow-up questions over the default knowledge base, each after an earlier question
    (28 name their topic only in it, 8 change the subject)."""
    return Path(str(resources.files("parley") / "data" / "retrieval_followups.jsonl"))


def load_qa(path: Path) -> list[QAItem]:
    """QA lines `{"question": ..., "title": ...}` (optionally `"previous"`: the earlier user
    message); clear errors for bad lines."""
    if not path.is_file():
        raise SourceError(f"{path}: no such QA file")
    items = []
    for where, row in read_jsonl(path, error=SourceError):
        if not row.get("question") or not row.get("title"):
            raise SourceError(f'{where}: need {{"question": ..., "title": ...}}')
        previous = row.get("previous")
        if previous is not None and not isinstance(previous, str):
            raise SourceError(f"{where}: 'previous' must be a string")
        items.append(QAItem(str(row["question"]), str(row["title"]), previous))
    if not items:
        raise SourceError(f"{path}: no questions")
    return items


def evaluate(
    retriever: Retriever,
    items: list[QAItem],
    ks: tuple[int, ...] = KS,
    *,
    history: bool = True,
    rrf_k: int = 10,
) -> EvalReport:
    """Rank of the first passage from the expected article, per question, summarised.

    With `history`, a question with a previous message is searched as the chat searches it
    (`search_in_conversation`); without, alone."""
    depth = max(ks)
    hits = dict.fromkeys(ks, 0)
    reciprocal = 0.0
    report = EvalReport(metrics={})
    for item in items:
        started = time.perf_counter()
        # Several chunks may come from one article: ask for more, rank distinct titles.
        previous = item.previous if history else None
        passages = search_in_conversation(retriever, item.question, previous, depth * 2, rrf_k)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        titles: list[str] = []
        for passage in passages:
            if passage.title not in titles:
                titles.append(passage.title)
        titles = titles[:depth]
        wanted = item.title.casefold()
        rank = next((i + 1 for i, t in enumerate(titles) if t.casefold() == wanted), None)
        if rank is None:
            report.misses.append((item.question, item.title, titles[:5]))
            continue
        reciprocal += 1.0 / rank
        for k in ks:
            hits[k] += rank <= k
    n = len(items)
    report.metrics = {f"recall@{k}": round(hits[k] / n, 4) for k in ks}
    report.metrics["mrr"] = round(reciprocal / n, 4)
    report.metrics["n"] = n
    return report
