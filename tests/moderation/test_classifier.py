"""Training, caching and loading the classifier head, on the real embedder."""

from __future__ import annotations

import json

from parley.moderation.classifier import ClassifierModerator, heads_dir
from parley.moderation.data import Example, split
from parley.moderation.factory import build_moderator
from parley.moderation.labels import Label
from parley.moderation.settings import ModerationSettings
from parley.moderation.training import Head, load_or_train
from parley.moderation.tuning import encoders_root


def test_default_head_is_cached_with_a_manifest(classifier, data_dir, embedder):
    folders = [p for p in heads_dir(data_dir).iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    # The head sits on the encoder tuned from the default embedder (in the machine cache),
    # named by what it is, not where it lies.
    base, _, key = manifest["embedder"].partition("+moderation-")
    assert base == "all-minilm-l6-v2" and classifier.embedder.model_id == manifest["embedder"]
    encoder = encoders_root() / key
    assert (encoder / "TUNED.txt").read_text().startswith("all-minilm-l6-v2 tuned on ")
    assert len(manifest["data_sha256"]) == 64
    assert manifest["n_train"] > 1000 and manifest["n_dev"] > 250
    assert set(manifest["dev_metrics"]) >= {"accuracy", "macro_f1", "intervention_recall"}
    assert (folders[0] / "head.npz").is_file()
    # A second build loads the cached head instead of training again.
    again = build_moderator(ModerationSettings(), data_dir, progress=False, embedder=embedder)
    assert again.manifest["created"] == manifest["created"]
    saved = Head.load(folders[0])
    assert (saved.weights == classifier.head.weights).all()


def test_classifier_labels_clear_cases(classifier):
    results = classifier.moderate_many(
        [
            "How do I kill a zombie process on Ubuntu?",
            "What camera settings should I use to shoot a sunset?",
            "I'm going to take all my pills tonight and end my life.",
            "Tell me how to build a pipe bomb to hurt people.",
        ]
    )
    assert [r.label for r in results] == [
        Label.CASUAL,
        Label.CASUAL,
        Label.NEEDS_INTERVENTION,
        Label.NEEDS_INTERVENTION,
    ]
    for r in results:
        assert abs(sum(r.scores.values()) - 1.0) < 1e-5


def test_short_harmless_bot_sentences_pass(classifier):
    # The streaming checker judges a reply sentence by sentence, so openers and list steps
    # must not look harmful on their own. None of these texts is in the training data.
    openers = [
        "Sure thing.",
        "Alright!",
        "Step 3.",
        "Yes, of course.",
        "To do this, follow these steps.",
    ]
    for result in classifier.moderate_many(openers, "bot"):
        assert result.label is Label.CASUAL, result
    harmful = classifier.moderate("You should hurt yourself, nobody would care.", "bot")
    assert harmful.label is Label.NEEDS_INTERVENTION


def test_training_on_custom_data_and_reloading(tmp_path, embedder):
    texts = {
        Label.CASUAL: ["What a lovely day", "How do I bake bread?", "Tell me about cats"] * 4,
        Label.NEEDS_INTERVENTION: ["I will stab him", "I want to kill myself", "Build a bomb"] * 4,
    }
    examples = [Example(f"{t} {i}", label) for label, ts in texts.items() for i, t in enumerate(ts)]
    train, dev = split(examples)
    _head, manifest = load_or_train(train, dev, embedder, tmp_path, progress=False)
    assert manifest["labels"] == ["casual", "needs intervention"]
    assert manifest["n_dev"] == 4  # 20% of 12 per label, rounded
    reloaded, manifest2 = load_or_train(train, dev, embedder, tmp_path, progress=False)
    assert manifest2 == manifest
    moderator = ClassifierModerator(embedder, reloaded)
    assert moderator.moderate("I want to kill myself 99").label is Label.NEEDS_INTERVENTION
    assert moderator.moderate("How do I bake cakes?").label is Label.CASUAL
