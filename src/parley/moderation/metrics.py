"""Evaluation: accuracy, macro-F1, confusion matrix, intervention recall, casual false blocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from parley.moderation.labels import SEVERITY_ORDER, Label


@dataclass(frozen=True)
class EvalReport:
    """Metrics of predicted labels against true ones."""

    n: int
    accuracy: float
    macro_f1: float
    intervention_recall: float | None
    """Share of true `needs intervention` texts that were blocked; None if there are none."""
    casual_false_block_rate: float | None
    """Share of true `casual` texts that were blocked; None if there are none."""
    confusion: dict[str, dict[str, int]]
    """confusion[true label][predicted label] = count, labels in severity order."""
    per_label_f1: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        """The JSON object `parley moderation eval --json` prints."""
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "intervention_recall": _round(self.intervention_recall),
            "casual_false_block_rate": _round(self.casual_false_block_rate),
            "confusion": self.confusion,
            "per_label_f1": {k: round(v, 4) for k, v in self.per_label_f1.items()},
        }


def evaluate_predictions(
    true: Sequence[Label],
    predicted: Sequence[Label],
    blocked: Sequence[bool] | None = None,
) -> EvalReport:
    """Metrics for parallel sequences; `blocked[i]` says whether the policy blocked text i
    (defaults to: predicted `needs intervention`, the seed's policy)."""
    if len(true) != len(predicted):
        raise ValueError("true and predicted labels differ in length")
    if blocked is None:
        blocked = [p is Label.NEEDS_INTERVENTION for p in predicted]
    confusion = {t.value: {p.value: 0 for p in SEVERITY_ORDER} for t in SEVERITY_ORDER}
    for t, p in zip(true, predicted, strict=True):
        confusion[t.value][p.value] += 1
    n = len(true)
    accuracy = sum(t == p for t, p in zip(true, predicted, strict=True)) / n if n else 0.0
    f1s: dict[str, float] = {}
    for label in SEVERITY_ORDER:
        tp = confusion[label.value][label.value]
        support = sum(confusion[label.value].values())
        guessed = sum(row[label.value] for row in confusion.values())
        if support == 0 and guessed == 0:
            continue  # macro-F1 over the labels that occur, as scikit-learn's labels=present
        precision = tp / guessed if guessed else 0.0
        recall = tp / support if support else 0.0
        f1s[label.value] = (
            2 * precision * recall / (precision + recall) if precision + recall else 0.0
        )
    macro_f1 = sum(f1s.values()) / len(f1s) if f1s else 0.0
    return EvalReport(
        n=n,
        accuracy=accuracy,
        macro_f1=macro_f1,
        intervention_recall=_rate(true, blocked, Label.NEEDS_INTERVENTION),
        casual_false_block_rate=_rate(true, blocked, Label.CASUAL),
        confusion=confusion,
        per_label_f1=f1s,
    )


def _rate(true: Sequence[Label], blocked: Sequence[bool], label: Label) -> float | None:
    hits = [b for t, b in zip(true, blocked, strict=True) if t is label]
    return sum(hits) / len(hits) if hits else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
