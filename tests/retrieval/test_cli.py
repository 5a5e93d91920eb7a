from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from parley.retrieval.cli import eval_retrieval, index_app

from .conftest import write_jsonl

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray parley.toml
    return {
        "PARLEY_DATA_DIR": str(tmp_path / "data"),
        "PARLEY_RETRIEVAL__CHUNK_TOKENS": "64",
        "PARLEY_RETRIEVAL__CHUNK_OVERLAP": "8",
    }


def _flat(text: str) -> str:
    """Rich wraps long error lines; compare with single spaces."""
    return " ".join(text.split())


def _run(args: list[str], env: dict[str, str]) -> str:
    result = runner.invoke(index_app, args, env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.stdout


def test_build_info_search_add_delete(kb_files: Path, tmp_path: Path, env: dict[str, str]) -> None:
    out = _run(["build", "default", str(kb_files)], env)
    assert "9 documents" in out and "flat index" in out
    folder = tmp_path / "data" / "indexes" / "default"
    assert (folder / "manifest.json").is_file()

    info = json.loads(_run(["info", "--json"], env))
    assert info["live"]["documents"] == 9 and info["embedder"]["model"] == "all-minilm-l6-v2"
    assert "chunking" in _run(["info"], env)

    hits = json.loads(_run(["search", "bird that swims in cold seas", "-k", "2", "--json"], env))
    assert hits[0]["title"] == "Penguin" and set(hits[0]) >= {"title", "uri", "snippet", "score"}
    filtered = json.loads(_run(["search", "bird", "-f", "topic=machines", "--json"], env))
    assert filtered and all(h["title"] not in ("Penguin", "Owl") for h in filtered)

    extra = write_jsonl(
        tmp_path / "extra.jsonl", [{"title": "Cactus", "text": "Cacti store water."}]
    )
    assert "added 1 documents" in _run(["add", "default", str(extra)], env)
    hits = json.loads(_run(["search", "desert plant storing water", "-k", "1", "--json"], env))
    assert hits[0]["title"] == "Cactus"
    assert "deleted 1 documents" in _run(["delete", "default", str(extra)], env)
    missing = runner.invoke(index_app, ["delete", "default", "no-such-doc"], env=env)
    assert missing.exit_code == 1 and "nothing in" in _flat(missing.output)


def test_clear_errors(tmp_path: Path, env: dict[str, str]) -> None:
    result = runner.invoke(index_app, ["info"], env=env)
    assert result.exit_code == 2 and "no index at" in _flat(result.output)
    bad = tmp_path / "t.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(index_app, ["build", str(bad)], env=env)
    assert result.exit_code == 2 and "not a knowledge base name" in _flat(result.output)
    result = runner.invoke(index_app, ["build", "t", str(bad)], env=env)
    assert result.exit_code == 2 and "no text column found" in _flat(result.output)
    result = runner.invoke(
        index_app, ["build", "t", str(bad), "--text-column", "b", "--type", "nope"], env=env
    )
    assert result.exit_code == 2 and "index_type" in _flat(result.output)


def test_eval_retrieval_json_and_table(kb_files: Path, tmp_path: Path, env: dict[str, str]) -> None:
    app = typer.Typer()
    app.command("retrieval")(eval_retrieval)
    app.command("noop")(lambda: None)  # two commands keep `retrieval` a sub-command
    _run(["build", "default", str(kb_files)], env)
    qa = write_jsonl(
        tmp_path / "qa.jsonl",
        [
            {"question": "Which animal runs fastest?", "title": "Cheetah"},
            {"question": "What makes honey?", "title": "Honey bee"},
            {"question": "What do I use to look at far away stars?", "title": "Telescope"},
            {"question": "Where is the XQ-7741 part number?", "title": "Gizmo XQ-7741"},
        ],
    )
    result = runner.invoke(app, ["retrieval", str(qa), "--json"], env=env)
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == {"recall@1", "recall@5", "recall@10", "mrr", "n"}
    assert metrics["n"] == 4 and metrics["recall@5"] == 1.0 and 0.5 < metrics["mrr"] <= 1.0
    table = runner.invoke(app, ["retrieval", str(qa)], env=env)
    assert (
        table.exit_code == 0 and "recall@5" in _flat(table.output) and "mrr" in _flat(table.output)
    )
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "no title"}\n')
    result = runner.invoke(app, ["retrieval", str(broken)], env=env)
    assert result.exit_code == 2 and "broken.jsonl:1" in _flat(result.output)
