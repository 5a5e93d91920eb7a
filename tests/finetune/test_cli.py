"""`parley finetune` and `parley sessions export` on the command line, no model loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parley.cli import app
from parley.sessions import Feedback, StoredTurn
from parley.sessions.sqlite_store import SQLiteSessionStore


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PARLEY_CONFIG", raising=False)
    return tmp_path


def said(result: object) -> str:
    """The command's output with Rich's line wrapping undone."""
    return " ".join(result.output.split())  # type: ignore[attr-defined]


def _good_data(folder: Path) -> Path:
    path = folder / "chats.jsonl"
    path.write_text(json.dumps({"prompt": "Hi", "response": "Hello"}) + "\n")
    return path


def test_help_lists_both_recipes_and_the_options() -> None:
    out = CliRunner().invoke(app, ["finetune", "--help"])
    assert out.exit_code == 0
    assert "chat" in out.output and "moderation" in out.output
    chat = CliRunner().invoke(app, ["finetune", "chat", "--help"])
    for option in ("--method", "--epochs", "--max-steps", "--lr", "--lora-r", "--lora-alpha",
                   "--lora-targets", "--max-length", "--eval", "--eval-split", "--seed",
                   "--resume", "--gguf"):  # fmt: skip
        assert option in chat.output, option


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--method", "dpo"], "--method must be one of lora, qlora, full"),
        (["--lora-r", "0"], "--lora-r must be at least 1"),
        (["--max-steps", "0"], "--max-steps must be at least 1"),
        (["--lr", "3"], "--lr must be between 0 and 1"),
        (["--gguf", "q4_k"], "--gguf must be one of q8_0"),
        (["--eval-split", "0.2", "--eval", "x.jsonl"], "not both"),
    ],
)
def test_bad_options_are_refused(env: Path, flags: list[str], message: str) -> None:
    data = _good_data(env)
    flags = [str(data) if f == "x.jsonl" else f for f in flags]
    out = CliRunner().invoke(app, ["finetune", str(data), "--out", str(env / "o"), *flags])
    assert out.exit_code == 2, out.output
    assert message in said(out)


def test_both_recipes_share_the_options_with_their_own_defaults(env: Path) -> None:
    import inspect
    from dataclasses import fields

    from parley.finetune.cli import SharedOptions, finetune_chat, finetune_moderation
    from parley.finetune.options import FinetuneOptions

    chat = inspect.signature(finetune_chat).parameters
    moderation = inspect.signature(finetune_moderation).parameters
    for field in fields(SharedOptions):
        assert field.name in chat and field.name in moderation, field.name
    assert chat["epochs"].default == FinetuneOptions().epochs
    assert moderation["epochs"].default == 1.0 and moderation["batch_size"].default == 8
    # The shared checks guard the moderation recipe too, before any model or data loads.
    out = CliRunner().invoke(
        app, ["finetune", "moderation", "train", "--out", str(env / "o"), "--lora-r", "0"]
    )
    assert out.exit_code == 2 and "--lora-r must be at least 1" in said(out)


def test_out_folder_with_other_files_is_refused(env: Path) -> None:
    taken = env / "mine"
    taken.mkdir()
    (taken / "thesis.txt").write_text("precious")
    out = CliRunner().invoke(app, ["finetune", str(_good_data(env)), "--out", str(taken)])
    assert out.exit_code == 2 and "holds other files" in said(out)
    assert (taken / "thesis.txt").read_text() == "precious"
    finished = env / "finished"
    finished.mkdir()
    (finished / "parley-finetune.json").write_text("{}")
    resume = CliRunner().invoke(
        app, ["finetune", str(_good_data(env)), "--out", str(finished), "--resume"]
    )
    assert resume.exit_code == 2 and "no checkpoints to continue from" in said(resume)


def test_sessions_export_rated_good(env: Path) -> None:
    with SQLiteSessionStore(env / "data" / "sessions.db") as store:
        rated = store.create("alice", title="Bike")
        store.append(
            rated.id,
            [
                StoredTurn(role="user", text="Weight?"),
                StoredTurn(role="assistant", text="19.4 kg."),
                StoredTurn(role="user", text="Colour?"),
                StoredTurn(role="assistant", text="Blue?"),
            ],
        )
        store.set_feedback(rated.id, 1, Feedback(rating="good", comment="right"))
        store.set_feedback(rated.id, 3, Feedback(rating="bad"))
        unrated = store.create("bob")
        store.append(
            unrated.id,
            [StoredTurn(role="user", text="Hi"), StoredTurn(role="assistant", text="Hello")],
        )
    target = env / "good.jsonl"
    out = CliRunner().invoke(
        app, ["sessions", "export", "--format", "openai", "--rated", "good", "--out", str(target)]
    )
    assert out.exit_code == 0, out.output
    assert "exported 1 sessions; 1 had none rated good" in said(out)
    (record,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert [m["content"] for m in record["messages"]] == ["Weight?", "19.4 kg."]
    assert record["messages"][1]["feedback"]["comment"] == "right"
    everything = CliRunner().invoke(app, ["sessions", "export"])
    lines = [json.loads(x) for x in everything.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 2
    bike = next(r for r in lines if r["parley"]["session_id"] == rated.id)
    assert [m.get("weight", 1) for m in bike["messages"]] == [1, 1, 1, 1]
    # What export writes, finetune reads.
    from parley.finetune.data import read_dataset

    assert len(read_dataset(target).conversations) == 1
    bad = CliRunner().invoke(app, ["sessions", "export", "--rated", "meh"])
    assert bad.exit_code == 2 and "--rated must be good or bad" in said(bad)
