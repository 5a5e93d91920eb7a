"""Tuning the moderation encoder end to end, on the real MiniLM (a tiny set: seconds)."""

from __future__ import annotations

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


def test_tuned_encoder_is_saved_cached_and_used_by_the_head(tmp_path):
    train = examples()
    folder = load_or_tune(train, "all-minilm-l6-v2", root=tmp_path, progress=False)
    assert folder == tmp_path / tuned_key(train, "all-minilm-l6-v2", seed=0)
    assert {"config.json", "model.safetensors", "TUNED.txt"} <= {p.name for p in folder.iterdir()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftover temp
    written = (folder / "model.safetensors").stat().st_mtime_ns
    # Cached: the same inputs load the same folder without tuning again.
    assert load_or_tune(train, "all-minilm-l6-v2", root=tmp_path, progress=False) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == written
    # A second tuning that finishes later (another process) keeps the first copy in place.
    tune_encoder(train, "all-minilm-l6-v2", folder, progress=False)
    assert (folder / "model.safetensors").stat().st_mtime_ns == written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # Other data is another encoder.
    assert tuned_key(examples(" again"), "all-minilm-l6-v2", 0) != tuned_key(
        train, "all-minilm-l6-v2", 0
    )

    tuned = Embedder(str(folder))
    head, _ = load_or_train(train, [], tuned, tmp_path / "heads", progress=False)
    moderator = ClassifierModerator(tuned, head)
    assert [r.label for r in moderator.moderate_many(CASUAL + HARMFUL)] == [e.label for e in train]
