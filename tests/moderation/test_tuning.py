"""Tuning the moderation encoder end to end, on the real MiniLM (a tiny set: seconds)."""

from __future__ import annotations

import subprocess
import sys

from parley.moderation.classifier import ClassifierModerator
from parley.moderation.data import Example
from parley.moderation.labels import Label
from parley.moderation.training import load_or_train
from parley.moderation.tuning import load_or_tune, tune_encoder, tuned_key
from parley.retrieval.embedder import Embedder

CASUAL = ["What a lovely day", "How do I bake bread?", "Tell me about cats", "Nice shoes!"]
HARMFUL = ["I will stab him", "Build a bomb to hurt people", "Poison my neighbour", "Burn it"]


def examples(suffix: str = "") -> list[Example]:
    return [Example(t + suffix, Label.CASUAL) for t in CASUAL] + [
        Example(t + suffix, Label.NEEDS_INTERVENTION) for t in HARMFUL
    ]


def test_processes_tuning_at_once_tune_once(tmp_path):
    # Two processes ask for the same encoder at the same time: one tunes, the other waits for
    # it and loads its copy.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from parley.moderation.data import Example\n"
        "from parley.moderation.labels import Label\n"
        "from parley.moderation import tuning\n"
        "real = tuning.tune_encoder\n"
        "def counted(*args, **kwargs):\n"
        "    print('tuned', flush=True)\n"
        "    real(*args, **kwargs)\n"
        "tuning.tune_encoder = counted\n"
        f"train = [Example(t, Label.CASUAL) for t in {CASUAL!r}]\n"
        f"train += [Example(t, Label.NEEDS_INTERVENTION) for t in {HARMFUL!r}]\n"
        "root = Path(sys.argv[1])\n"
        "folder = tuning.load_or_tune(train, 'all-minilm-l6-v2', root=root, progress=False)\n"
        "print((folder / 'model.safetensors').stat().st_mtime_ns)\n"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0].split() for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert sum(out.count("tuned") for out in outputs) == 1
    assert len({out[-1] for out in outputs}) == 1  # both loaded the one copy


def test_tuned_encoder_is_saved_cached_and_used_by_the_head(tmp_path):
    train = examples()
    folder = load_or_tune(train, "all-minilm-l6-v2", root=tmp_path, progress=False)
    assert folder == tmp_path / tuned_key(train, "all-minilm-l6-v2", seed=0)
    assert {"config.json", "model.safetensors", "TUNED.txt"} <= {p.name for p in folder.iterdir()}
    assert not [p for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith(".")]
    written = (folder / "model.safetensors").stat().st_mtime_ns
    # Cached: the same inputs load the same folder without tuning again.
    assert load_or_tune(train, "all-minilm-l6-v2", root=tmp_path, progress=False) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == written
    # A second tuning that finishes later (another process) keeps the first copy in place.
    tune_encoder(train, "all-minilm-l6-v2", folder, progress=False)
    assert (folder / "model.safetensors").stat().st_mtime_ns == written
    assert not [p for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith(".")]
    # Other data is another encoder.
    assert tuned_key(examples(" again"), "all-minilm-l6-v2", 0) != tuned_key(
        train, "all-minilm-l6-v2", 0
    )

    tuned = Embedder(str(folder))
    head, _ = load_or_train(train, [], tuned, tmp_path / "heads", progress=False)
    moderator = ClassifierModerator(tuned, head)
    assert [r.label for r in moderator.moderate_many(CASUAL + HARMFUL)] == [e.label for e in train]
