"""Training and caching the classifier head: multinomial logistic regression on the sentence
embedding plus hashed word uni- and bigrams.

The embedding carries the topic; the n-grams carry intent words that a topic vector blurs
("how do I kill *myself*" vs "how do I kill *the process*"). On Parley's set the embedding
alone reaches 0.88 `needs intervention` recall at 7% casual false blocks on dev; with the
n-grams 0.96 at 2% (README, "Moderation").

A head lives in `data_dir/moderation/<key>/` as `head.npz` (weights) next to `manifest.json`
(embedder, data hash, split, metrics). The key hashes everything the head depends on, so a
changed data file or embedder trains a new head instead of reusing a stale one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parley.moderation.data import DEFAULT_SEED, Example
from parley.moderation.labels import Label
from parley.moderation.normalize import NORMALIZER_VERSION, normalize
from parley.protocols import TextEmbedder

HEAD_VERSION = 5
"""Bumped when the head's format or training recipe changes (invalidates cached heads)."""
REGULARISATION_C = 16.0
"""Inverse L2 strength of the logistic regression (C, the n-gram weight and the intervention
weight were chosen together on the shipped dev part; C 4-32 and the intervention weight
1.0-1.5 were compared again on issue 17's dev part)."""
LEXICAL_WEIGHT = 2.0
"""Scale of the n-gram block against the unit-length embedding (1.5 before issue 17; 2.0
scored a little better on the new dev part on both recall and false blocks)."""
INTERVENTION_WEIGHT = 1.5
"""Extra class weight on `needs intervention` on top of the inverse-frequency weights: a
missed intervention shows harmful text, a false alarm only refuses one message (1.5 raised
dev recall from 0.94 to 0.96 at the same casual false-block rate)."""
HASH_FEATURES = 2**17
"""Buckets of the hashed n-gram features (stateless, so nothing but the size is saved)."""
NGRAM_RANGE = (1, 2)
"""Word n-gram lengths of the lexical features (also what `cues` counts, so its list names the
features the head sees)."""


def lexical_features(texts: Sequence[str]) -> Any:
    """Hashed, L2-normalised word 1-2-gram counts times LEXICAL_WEIGHT: a scipy sparse
    (n, HASH_FEATURES) matrix."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(
        ngram_range=NGRAM_RANGE, n_features=HASH_FEATURES, alternate_sign=False, norm="l2"
    )
    return vectorizer.transform(texts) * LEXICAL_WEIGHT


EmbedderLike = TextEmbedder
"""What training needs of an embedder (kept as a name for older imports)."""


@dataclass(frozen=True)
class Head:
    """Linear softmax head over [embedding, hashed n-grams], labels in order."""

    weights: np.ndarray
    """(labels, dimension) weights of the embedding."""
    lexical_weights: np.ndarray
    """(labels, HASH_FEATURES) weights of the n-gram features."""
    bias: np.ndarray
    labels: tuple[Label, ...]

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """(n, len(labels)) probabilities for (n, dimension) embeddings of `texts`."""
        lexical = lexical_features(texts)
        logits = vectors @ self.weights.T + np.asarray(lexical @ self.lexical_weights.T) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        np.savez(
            folder / "head.npz",
            weights=self.weights.astype(np.float32),
            lexical_weights=self.lexical_weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            labels=np.array([lb.value for lb in self.labels]),
        )

    @classmethod
    def load(cls, folder: Path) -> Head:
        with np.load(folder / "head.npz", allow_pickle=False) as data:
            labels = tuple(Label.parse(str(v)) for v in data["labels"])
            return cls(data["weights"], data["lexical_weights"], data["bias"], labels)


def data_sha256(examples: Sequence[Example]) -> str:
    """A hash of the examples' content (independent of file formatting and label spelling)."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(example.label.value.encode() + b"\t" + example.text.encode() + b"\n")
    return digest.hexdigest()


def head_key(train: Sequence[Example], dev: Sequence[Example], embedder_id: str, seed: int) -> str:
    """The cache folder name of the head these inputs would train."""
    recipe = (
        f"v{HEAD_VERSION}|{embedder_id}|{seed}|C={REGULARISATION_C}|h={HASH_FEATURES}|"
        f"w={LEXICAL_WEIGHT}|i={INTERVENTION_WEIGHT}|n={NORMALIZER_VERSION}"
    )
    parts = (recipe, data_sha256(train), data_sha256(dev))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def fit_head(
    vectors: np.ndarray, texts: Sequence[str], labels: Sequence[Label], seed: int = DEFAULT_SEED
) -> Head:
    """Fit the head; classes are weighted by inverse frequency so rare, severe labels such as
    `needs intervention` are not drowned by the mostly-casual data."""
    import scipy.sparse as sparse
    from sklearn.linear_model import LogisticRegression

    present = sorted(set(labels))
    if len(present) < 2:
        raise ValueError("training needs examples of at least two labels")
    y = np.array([present.index(lb) for lb in labels])
    counts = np.bincount(y, minlength=len(present))
    class_weight = {i: len(y) / (len(present) * n) for i, n in enumerate(counts)}
    if Label.NEEDS_INTERVENTION in present:
        class_weight[present.index(Label.NEEDS_INTERVENTION)] *= INTERVENTION_WEIGHT
    model = LogisticRegression(
        C=REGULARISATION_C, class_weight=class_weight, max_iter=3000, random_state=seed
    )
    features = sparse.hstack([sparse.csr_matrix(vectors), lexical_features(texts)]).tocsr()
    model.fit(features, y)
    coef, intercept = model.coef_, model.intercept_
    if len(present) == 2:
        # Binary fits give one row w with P(second) = sigmoid(w.x + b), which is the softmax
        # of the two rows [0, w]; storing both keeps one inference path.
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    dim = vectors.shape[1]
    return Head(
        coef[:, :dim].astype(np.float32),
        coef[:, dim:].astype(np.float32),
        intercept.astype(np.float32),
        tuple(present),
    )


def train_and_save(
    train: Sequence[Example],
    dev: Sequence[Example],
    embedder: EmbedderLike,
    root: Path,
    *,
    seed: int = DEFAULT_SEED,
    source: str = "",
    progress: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """Embed, fit on `train`, evaluate on `dev` (may be empty) and save the head; returns
    (folder, manifest)."""
    from parley.moderation.metrics import evaluate_predictions

    texts = [normalize(e.text) for e in train] + [normalize(e.text) for e in dev]
    started = time.perf_counter()
    vectors = _embed_with_progress(embedder, texts, progress)
    head = fit_head(vectors[: len(train)], texts[: len(train)], [e.label for e in train], seed)
    metrics: dict[str, Any] = {}
    if dev:
        probs = head.probabilities(vectors[len(train) :], texts[len(train) :])
        predicted = [head.labels[i] for i in probs.argmax(axis=1)]
        report = evaluate_predictions([e.label for e in dev], predicted)
        metrics = report.as_dict()
    manifest = {
        "head_version": HEAD_VERSION,
        "embedder": embedder.model_id,
        "data_sha256": data_sha256(list(train) + list(dev)),
        "source": source,
        "labels": [lb.value for lb in head.labels],
        "n_train": len(train),
        "n_dev": len(dev),
        "seed": seed,
        "regularisation_c": REGULARISATION_C,
        "lexical_weight": LEXICAL_WEIGHT,
        "intervention_weight": INTERVENTION_WEIGHT,
        "train_seconds": round(time.perf_counter() - started, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dev_metrics": metrics,
    }
    folder = root / head_key(train, dev, embedder.model_id, seed)
    _write_atomically(folder, head, manifest)
    return folder, manifest


def load_or_train(
    train: Sequence[Example],
    dev: Sequence[Example],
    embedder: EmbedderLike,
    root: Path,
    *,
    seed: int = DEFAULT_SEED,
    source: str = "",
    progress: bool = True,
) -> tuple[Head, dict[str, Any]]:
    """The cached head for these inputs, trained (and cached) first if there is none."""
    folder = root / head_key(train, dev, embedder.model_id, seed)
    manifest_path = folder / "manifest.json"
    if not (manifest_path.is_file() and (folder / "head.npz").is_file()):
        folder, _ = train_and_save(
            train, dev, embedder, root, seed=seed, source=source, progress=progress
        )
    return Head.load(folder), json.loads(manifest_path.read_text(encoding="utf-8"))


def _embed_with_progress(embedder: EmbedderLike, texts: list[str], progress: bool) -> np.ndarray:
    with step_progress("training moderation head: embedding", len(texts), progress) as advance:
        return embedder.embed(texts, on_batch=advance)


@contextlib.contextmanager
def step_progress(description: str, total: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on stderr while it is a terminal (nothing otherwise); yields the
    function that advances it by n steps."""
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from parley.cli_common import err_console

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _write_atomically(folder: Path, head: Head, manifest: dict[str, Any]) -> None:
    # Written to a sibling temp folder and renamed, so a concurrent reader (another replica,
    # a killed training run) never sees a half-written head.
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        head.save(tmp)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
