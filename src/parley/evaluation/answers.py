"""Answer quality: what the user reads, question by question, through the whole pipeline.

Each question of a QA set goes through `ChatService` (the one the server runs: moderation,
retrieval, prompt, generation, citation check) and the reply is judged against gold answers
and gold source titles: does it contain a gold answer (normalised, word-aligned), its token
F1, was a gold source among the cited sources, did it refuse, does it carry citation marks
that match no shown source, does it loop, and how long did it take.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from parley.engines.citations import CITATION_MARK, cited_numbers
from parley.engines.params import GenerationParams
from parley.service import ChatReply, ChatRequest, ChatService

SHIPPED_SETS = {
    "wiki-dev": "wiki_dev.jsonl",
    "wiki-test": "wiki_test.jsonl",
    "docs-dev": "docs_dev.jsonl",
}
"""QA sets shipped with Parley: the default Wikipedia KB (dev, and a held-out test split that
nothing was tuned on) and the shipped technical documents (`docs/`)."""

DOCS_SETS = {"docs-dev"}
"""Shipped sets that are answered from the shipped documents rather than the default KB."""


class AnswerSetError(ValueError):
    """A QA file that cannot be read; the message says where."""


@dataclass(frozen=True)
class AnswerItem:
    question: str
    answers: tuple[str, ...]
    """Gold answers; the reply is right when it contains any of them."""
    titles: tuple[str, ...] = ()
    """Titles of the sources that state the answer."""


@dataclass
class AnswerResult:
    question: str
    reply: str
    correct: bool
    f1: float
    gold_cited: bool | None
    """None when the item names no gold source."""
    refused: bool
    invented_marks: int
    looped: bool
    seconds: float
    finish_reason: str
    sources: list[str] = field(default_factory=list)


@dataclass
class AnswerReport:
    results: list[AnswerResult]

    def summary(self) -> dict[str, float | int]:
        """The headline numbers."""
        n = len(self.results)
        if not n:
            return {"n": 0}
        with_titles = [r for r in self.results if r.gold_cited is not None]
        seconds = sorted(r.seconds for r in self.results)
        return {
            "n": n,
            "correct": round(sum(r.correct for r in self.results) / n, 4),
            "f1": round(statistics.fmean(r.f1 for r in self.results), 4),
            "gold_source_cited": round(
                sum(bool(r.gold_cited) for r in with_titles) / len(with_titles), 4
            )
            if with_titles
            else 0.0,
            "refusals": sum(r.refused for r in self.results),
            "invented_marks": sum(r.invented_marks for r in self.results),
            "replies_with_invented_marks": sum(r.invented_marks > 0 for r in self.results),
            "loops": sum(r.looped for r in self.results),
            "loop_rate": round(sum(r.looped for r in self.results) / n, 4),
            "cut_by_length": sum(r.finish_reason == "length" for r in self.results),
            "latency_p50_s": round(_percentile(seconds, 50), 3),
            "latency_p95_s": round(_percentile(seconds, 95), 3),
        }

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "results": [asdict(r) for r in self.results]}


def _percentile(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


# -- QA sets --------------------------------------------------------------------------------------


def shipped_path(name: str) -> Path:
    """The file of a shipped QA set (`wiki-dev`, `wiki-test`, `docs-dev`)."""
    return Path(str(resources.files("parley") / "data" / "answers" / SHIPPED_SETS[name]))


def shipped_docs_path() -> Path:
    """The folder of technical documents the `docs-dev` set is answered from."""
    return Path(str(resources.files("parley") / "data" / "answers" / "docs"))


def load_answer_set(path: Path) -> list[AnswerItem]:
    """QA lines `{"question": ..., "answers": [...], "titles": [...]}` (`"answer"` and
    `"title"` as single strings work too); errors name the file and line."""
    if not path.is_file():
        raise AnswerSetError(f"{path}: no such QA file")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnswerSetError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise AnswerSetError(f'{where}: need {{"question": ..., "answers": [...]}}')
        answers = _strings(row, "answers", "answer", where)
        if not answers:
            raise AnswerSetError(f"{where}: no gold answer ('answers' is empty or missing)")
        if not any(normalise(a) for a in answers):
            raise AnswerSetError(f"{where}: every gold answer is empty once normalised")
        items.append(
            AnswerItem(
                row["question"], tuple(answers), tuple(_strings(row, "titles", "title", where))
            )
        )
    if not items:
        raise AnswerSetError(f"{path}: no questions")
    return items


def _strings(row: dict[str, Any], plural: str, singular: str, where: str) -> list[str]:
    value = row.get(plural, row.get(singular))
    if value is None:
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise AnswerSetError(f"{where}: {plural!r} must be a string or a list of strings")
    return [v for v in values if v.strip()]


# -- judging --------------------------------------------------------------------------------------

_ARTICLES = {"a", "an", "the"}
_REFUSALS = re.compile(
    r"\b(i (do not|don't|cannot|can't|am unable to) (know|answer|find|provide|help)|"
    r"(is|are) not (mentioned|stated|provided|given)|no information|not enough information|"
    r"i'm sorry|i am sorry|unable to provide)\b",
    re.IGNORECASE,
)


def normalise(text: str) -> list[str]:
    """Words of `text` for matching: accents, case, punctuation and articles removed;
    digit groups joined ("9,200,000" = "9200000"), decimals kept ("5.6")."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=\d)\.(?=\d)", "zzdecimalzz", text)
    text = re.sub(r"[^\w\s]|_", " ", text).replace("zzdecimalzz", ".")
    return [word for word in text.split() if word not in _ARTICLES]


def contains_answer(reply: str, answers: Iterable[str]) -> bool:
    """Whether the reply's words contain a gold answer's words, in order and adjacent."""
    words = normalise(reply)
    for answer in answers:
        gold = normalise(answer)
        if gold and any(words[i : i + len(gold)] == gold for i in range(len(words))):
            return True
    return False


def token_f1(reply: str, answers: Iterable[str]) -> float:
    """SQuAD-style token F1 of the reply against its best gold answer."""
    words = normalise(reply)
    best = 0.0
    for answer in answers:
        gold = normalise(answer)
        common = sum((Counter(words) & Counter(gold)).values())
        if not common:
            continue
        precision, recall = common / len(words), common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return round(best, 4)


def invented_marks(reply: str, source_count: int) -> int:
    """Citation marks like `[4]` that point at no source shown with the reply."""
    count = 0
    for match in CITATION_MARK.finditer(reply):
        numbers = cited_numbers(match.group(1))
        count += any(not 1 <= n <= source_count for n in numbers)
    return count


def looped(reply: str) -> bool:
    """Whether the reply repeats itself: a sentence (4+ words) said twice, or any run of four
    words said three times."""
    sentences = [" ".join(normalise(s)) for s in re.split(r"(?<=[.!?])\s+|\n+", reply) if s.strip()]
    long_enough = [s for s in sentences if len(s.split()) >= 4]
    if len(long_enough) != len(set(long_enough)):
        return True
    words = normalise(reply)
    grams = Counter(tuple(words[i : i + 4]) for i in range(len(words) - 3))
    return any(count >= 3 for count in grams.values())


def refused(reply: ChatReply) -> bool:
    """A refusal: moderation or the domain guard answered, or the model declined."""
    if reply.finish_reason in ("moderation", "off_topic"):
        return True
    return bool(_REFUSALS.search(reply.text))


def gold_cited(sources: Sequence[dict[str, Any]], titles: Sequence[str]) -> bool | None:
    """Whether a source shown with the reply is one of the gold titles (a source titled
    `Title › Section` counts for `Title`)."""
    if not titles:
        return None
    wanted = {t.casefold() for t in titles}
    for source in sources:
        title = str(source.get("title", "")).casefold()
        if title in wanted or any(title.startswith(w + " ") for w in wanted):
            return True
    return False


# -- running --------------------------------------------------------------------------------------


def evaluate_answers(
    service: ChatService,
    items: Sequence[AnswerItem],
    params: GenerationParams,
    *,
    retrieval: bool = True,
    on_result: Callable[[AnswerResult], None] | None = None,
) -> AnswerReport:
    """Ask every question, one at a time, without history, and judge the replies."""
    results = []
    for item in items:
        request = ChatRequest(message=item.question, params=params, history=[], retrieval=retrieval)
        began = time.perf_counter()
        reply = service.complete(request)
        seconds = time.perf_counter() - began
        result = AnswerResult(
            question=item.question,
            reply=reply.text,
            correct=contains_answer(reply.text, item.answers),
            f1=token_f1(reply.text, item.answers),
            gold_cited=gold_cited(reply.sources, item.titles),
            refused=refused(reply),
            invented_marks=invented_marks(reply.text, len(reply.sources)),
            looped=looped(reply.text),
            seconds=round(seconds, 3),
            finish_reason=reply.finish_reason,
            sources=[str(s.get("title", "")) for s in reply.sources],
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return AnswerReport(results)
