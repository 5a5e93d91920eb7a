"""Fine-tuning the moderation encoder end to end (setup -> fit -> save), cached per machine.

A linear head on a frozen MiniLM learns which words and topics go with harm, not how they
combine; tuning the encoder itself on the labelled set moved held-out test recall from 0.90 to
0.94 at 6.7% false blocks instead of 11.5%, and over-refusal false blocks from 8.3% to 1.7%
(README, "Moderation"). The tuned copy is used by the moderator only: retrieval keeps the
original embedder, whose vectors its indexes hold.

A tuned encoder depends only on the training data, the base encoder, the recipe and the seed,
so it lives in the machine's cache (`$XDG_CACHE_HOME/parley/moderation-encoders/<key>`), shared
by every data folder, test run and replica on the machine, like a downloaded model.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from parley.embedded import machine_cache_dir
from parley.moderation.data import DEFAULT_SEED, Example
from parley.moderation.labels import Label
from parley.moderation.normalize import NORMALIZER_VERSION, normalize
from parley.moderation.training import INTERVENTION_WEIGHT, data_sha256, step_progress

if TYPE_CHECKING:
    import torch

TUNING_VERSION = 1
"""Bumped when the recipe changes (invalidates cached encoders)."""
EPOCHS = 5
LEARNING_RATE = 5e-5
"""Of the encoder; the classification layer learns at HEAD_LEARNING_RATE."""
HEAD_LEARNING_RATE = 1e-3
BATCH_SIZE = 32
MAX_LENGTH = 128
WARMUP_SHARE = 0.1
LOGIT_SCALE = 20.0
"""The classification layer sees unit vectors (as the head trained afterwards does); the scale
lets its softmax become confident."""


TUNING_MESSAGE = "tuning the moderation encoder (once per machine, minutes)"

PACKED_ENCODERS = "moderation-encoders"
"""Folder of a data folder where a deployment packs its tuned encoders."""


def encoders_root() -> Path:
    """Where tuned encoders are cached on this machine."""
    return machine_cache_dir() / "moderation-encoders"


def tuned_key(train: Sequence[Example], base_model: str, seed: int) -> str:
    """The cache folder name of the encoder these inputs would tune."""
    recipe = (
        f"v{TUNING_VERSION}|{base_model}|{seed}|e={EPOCHS}|lr={LEARNING_RATE}|"
        f"hlr={HEAD_LEARNING_RATE}|b={BATCH_SIZE}|len={MAX_LENGTH}|s={LOGIT_SCALE}|"
        f"i={INTERVENTION_WEIGHT}|n={NORMALIZER_VERSION}"
    )
    return hashlib.sha256(f"{recipe}|{data_sha256(train)}".encode()).hexdigest()[:16]


def load_or_tune(
    train: Sequence[Example],
    base_model: str,
    *,
    root: Path | None = None,
    packed: Path | None = None,
    seed: int = DEFAULT_SEED,
    progress: bool = True,
) -> Path:
    """The folder of the tuned encoder for these inputs: in `packed` (a deployment's copy) or
    `root` (default: the machine's cache), tuned into `root` first if neither has it."""
    from filelock import FileLock

    key = tuned_key(train, base_model, seed)
    folder = (root or encoders_root()) / key
    for candidate in ([packed / key] if packed else []) + [folder]:
        if (candidate / "config.json").is_file():
            return candidate
    folder.parent.mkdir(parents=True, exist_ok=True)
    # One process tunes; others starting at the same time (replicas, test workers) wait for
    # it instead of spending the same minutes. The OS drops the lock if the tuner dies.
    with FileLock(str(folder.parent / f".{key}.lock")):
        if not (folder / "config.json").is_file():
            tune_encoder(train, base_model, folder, seed=seed, progress=progress)
    return folder


def tune_encoder(
    train: Sequence[Example],
    base_model: str,
    folder: Path,
    *,
    seed: int = DEFAULT_SEED,
    progress: bool = True,
) -> None:
    """Tune `base_model` (an embedder name, folder or id) on `train` and save it to `folder`
    (written aside and renamed, so a reader never sees half an encoder)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from parley.retrieval.embedder import fast_bfloat16_cpu, resolve_embedder_path

    # setup
    random_state = random.Random(seed)
    torch.manual_seed(seed)
    path = resolve_embedder_path(base_model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path)
    labels = sorted({e.label for e in train})
    if len(labels) < 2:
        raise ValueError("tuning needs examples of at least two labels")
    texts = [normalize(e.text) for e in train]
    targets = torch.tensor([labels.index(e.label) for e in train])
    counts = torch.bincount(targets, minlength=len(labels)).float()
    class_weight = len(targets) / (len(labels) * counts)
    if Label.NEEDS_INTERVENTION in labels:
        class_weight[labels.index(Label.NEEDS_INTERVENTION)] *= INTERVENTION_WEIGHT
    classifier = torch.nn.Linear(encoder.config.hidden_size, len(labels))
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": LEARNING_RATE},
            {"params": classifier.parameters(), "lr": HEAD_LEARNING_RATE},
        ],
        weight_decay=0.01,
    )
    steps_per_epoch = -(-len(texts) // BATCH_SIZE)
    total = EPOCHS * steps_per_epoch
    warmup = max(1, int(WARMUP_SHARE * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / warmup if s < warmup else max(0.0, (total - s) / (total - warmup))
    )
    loss_of = torch.nn.CrossEntropyLoss(weight=class_weight)
    # Matrix products in bfloat16 where the CPU has it (about twice as fast); the loss, the
    # optimiser state and the saved weights stay float32.
    bf16 = fast_bfloat16_cpu()

    # fit
    encoder.train()
    if progress:
        from parley.cli_common import err_console

        if not err_console.is_terminal:  # no bar there, but a log should say what takes minutes
            err_console.print(TUNING_MESSAGE)
    with step_progress(TUNING_MESSAGE, total, progress) as advance:
        for _ in range(EPOCHS):
            for batch in _length_bucketed_batches(texts, random_state):
                encoded = tokenizer(
                    [texts[i] for i in batch],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                )
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    pooled = _mean_pooled(encoder(**encoded).last_hidden_state, encoded)
                logits = classifier(pooled.float()) * LOGIT_SCALE
                loss = loss_of(logits, targets[batch])
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                advance(1)

    # save
    encoder.eval()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "TUNED.txt").write_text(
            f"{base_model} tuned on {len(train)} moderation examples "
            f"(recipe v{TUNING_VERSION}, seed {seed}) on "
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n",
            encoding="utf-8",
        )
        try:
            os.replace(tmp, folder)
        except OSError:
            # Another process tuned the same encoder first: its copy is as good, and replacing
            # it could pull it from under a reader.
            if not (folder / "config.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _mean_pooled(hidden: torch.Tensor, encoded: Mapping[str, torch.Tensor]) -> torch.Tensor:
    # The pooling `Embedder` applies at inference, so the head trained later sees the same
    # vectors the moderator will compute.
    import torch

    mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled.float(), p=2, dim=1)


def _length_bucketed_batches(texts: Sequence[str], random_state: random.Random) -> list[list[int]]:
    # Shuffled, then sorted by length within chunks of 20 batches: little padding, still mixed.
    order = list(range(len(texts)))
    random_state.shuffle(order)
    chunk = BATCH_SIZE * 20
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(texts[i]))
        batches += [part[i : i + BATCH_SIZE] for i in range(0, len(part), BATCH_SIZE)]
    random_state.shuffle(batches)
    return batches
