"""A real fine-tune of the embedded SmolLM2-135M: few steps on tiny data (well under a minute).

Loss falls on held-out chats, the merged folder chats through `parley chat --model DIR`, the
adapter reloads onto the base model and gives the merged model's logits, and bad data fails
fast with `file:line` errors before any model loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from parley.cli import app

pytestmark = pytest.mark.slow

TRAIN = [
    ("What colour is the Brindle Pro 7?", "The Brindle Pro 7 is Marigold."),
    ("Which colour does the Brindle Pro 7 come in?", "The Brindle Pro 7 is Marigold."),
    ("How heavy is the Brindle Pro 7?", "The Brindle Pro 7 weighs 19.4 kg."),
    ("What does the Brindle Pro 7 weigh?", "The Brindle Pro 7 weighs 19.4 kg."),
]
HELD_OUT = [
    ("Tell me the colour of the Brindle Pro 7.", "The Brindle Pro 7 is Marigold."),
    ("What is the weight of the Brindle Pro 7?", "The Brindle Pro 7 weighs 19.4 kg."),
]


def _write(path: Path, pairs: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for question, answer in pairs:
            messages = [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
            out.write(json.dumps({"messages": messages}) + "\n")
    return path


@pytest.fixture(scope="module")
def env(model_cache: Path) -> Iterator[dict[str, str]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("PARLEY_DATA_DIR", str(model_cache))
    mp.delenv("PARLEY_CONFIG", raising=False)
    yield {"PARLEY_DATA_DIR": str(model_cache)}
    mp.undo()


@pytest.fixture(scope="module")
def tuned(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("finetune")
    train = _write(folder / "train.jsonl", TRAIN)
    held_out = _write(folder / "held.jsonl", HELD_OUT)
    out = folder / "tuned"
    result = CliRunner().invoke(
        app,
        [
            "finetune", str(train), "--out", str(out), "--eval", str(held_out),
            "--max-steps", "6", "--lr", "2e-3", "--lora-r", "8", "--threads", "2",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "held-out loss" in result.output
    return out


def test_loss_falls_and_the_card_says_so(tuned: Path) -> None:
    manifest = json.loads((tuned / "parley-finetune.json").read_text())
    figures = manifest["eval"]
    assert figures["eval_loss_after"] < figures["eval_loss_before"] - 0.2, figures
    assert manifest["training"]["steps"] == 6
    losses = [loss for _, loss in manifest["training"]["loss_curve"]]
    assert len(losses) == 6 and min(losses[-2:]) < losses[0]
    assert manifest["base_model"] == "smollm2-135m-instruct"
    assert manifest["prompt_format"] == "chat-template"
    assert len(manifest["data"]["sha256"]) == 64 and manifest["data"]["conversations"] == 4
    card = (tuned / "README.md").read_text()
    for fragment in ("base_model: smollm2-135m-instruct", "eval_loss", "lora_r: 8", "sha256"):
        assert fragment in card
    assert not (tuned / "checkpoints").exists()


def test_merged_folder_chats_through_the_cli(tuned: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "chat", "--model", str(tuned), "-m", "What colour is the Brindle Pro 7?",
            "--no-retrieval", "--no-moderation", "--temperature", "0", "--max-tokens", "16",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip(), result.output


def test_adapter_reloads_onto_the_base_model(tuned: Path, model_cache: Path) -> None:
    from peft import PeftModel

    from parley.config import ModelSettings
    from parley.engines.loading import load_causal_lm

    base, tokenizer = load_causal_lm(ModelSettings(), cache_dir=model_cache / "models")
    adapted = PeftModel.from_pretrained(base, tuned / "adapter")
    merged, _ = load_causal_lm(ModelSettings(source=str(tuned)))
    ids = tokenizer("The Brindle Pro 7 is", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        expected = merged(ids).logits
        got = adapted(ids).logits
    assert torch.allclose(got, expected, atol=1e-3), (got - expected).abs().max()


def test_bad_data_fails_before_loading_a_model(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "hi", "response": "there"}\n{"messages": []}\nnope\n')
    result = CliRunner().invoke(app, ["finetune", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert f"{bad}:2: 'messages' must be a non-empty list" in result.output
    assert f"{bad}:3: not valid JSON" in result.output
    assert not (tmp_path / "o").exists()
