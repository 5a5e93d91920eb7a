"""Named knowledge bases: isolated from each other, never replaced by accident, reopened when
another process changes them, and left intact by a kill in the middle of a change."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parley.retrieval.bases import KnowledgeBaseNotFound, KnowledgeBases
from parley.retrieval.build import add_to_index, open_or_build
from parley.retrieval.cli import index_app
from parley.retrieval.settings import RetrievalSettings

from .conftest import ANIMALS, MACHINES, write_jsonl

runner = CliRunner()
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray parley.toml
    return {
        "PARLEY_DATA_DIR": str(tmp_path / "data"),
        "PARLEY_RETRIEVAL__CHUNK_TOKENS": "64",
        "PARLEY_RETRIEVAL__CHUNK_OVERLAP": "8",
    }


def _run(args: list[str], env: dict[str, str], code: int = 0) -> str:
    result = runner.invoke(index_app, args, env=env)
    assert result.exit_code == code, result.output + repr(result.exception)
    return " ".join(result.output.split())


def _json(args: list[str], env: dict[str, str]) -> Any:
    result = runner.invoke(index_app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.stdout)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    animals = write_jsonl(tmp_path / "animals.jsonl", [{"title": t, "text": x} for t, x in ANIMALS])
    machines = write_jsonl(
        tmp_path / "machines.jsonl", [{"title": t, "text": x} for t, x in MACHINES]
    )
    return animals, machines


def test_named_bases_are_isolated_and_never_replaced_by_accident(
    tmp_path: Path, env: dict[str, str]
) -> None:
    animals, machines = _files(tmp_path)
    assert "built 'zoo': 5 documents" in _run(["build", "zoo", str(animals)], env)
    assert "built 'shop': 4 documents" in _run(["build", "--name", "shop", str(machines)], env)

    listed = _json(["list"], env)
    assert {(b["name"], b["documents"]) for b in listed} == {("zoo", 5), ("shop", 4)}
    zoo = _json(["search", "zoo", "fastest runner", "-k", "9"], env)
    shop = _json(["search", "shop", "fastest runner", "-k", "9"], env)
    assert {h["title"] for h in zoo} == {t for t, _ in ANIMALS}
    assert {h["title"] for h in shop} == {t for t, _ in MACHINES}
    assert _json(["info", "shop"], env)["live"]["documents"] == 4

    # An existing base is rebuilt only when asked (non-interactive: an error, no change).
    out = _run(["build", "zoo", str(machines)], env, code=2)
    assert "knowledge base 'zoo' exists; pass --replace" in out
    assert "kept 'zoo'" in _run(["build", "zoo", str(machines), "--if-missing"], env)
    assert _json(["info", "zoo"], env)["live"]["documents"] == 5
    assert "built 'zoo': 4 documents" in _run(["build", "zoo", str(machines), "--replace"], env)

    # The README's old form no longer replaces the default base: it asks for a name.
    out = _run(["build", str(animals)], env, code=2)
    assert "not a knowledge base name" in out and "parley index build NAME" in out
    assert not (tmp_path / "data" / "indexes" / "default").exists()
    assert "is a file or folder" in _run(["add", str(animals)], env, code=2)
    out = _run(["add", "zoo", str(animals)], env)
    assert "added 5 documents" in out and "'zoo'" in out
    assert "give the sources" in _run(["build", "empty"], env, code=2)


def test_a_base_changed_elsewhere_is_reopened(
    tmp_path: Path, embedder, settings: RetrievalSettings
) -> None:
    animals, machines = _files(tmp_path)
    data = tmp_path / "data"
    reader = KnowledgeBases(settings, data, embedder)  # a server process
    writer = KnowledgeBases(settings, data, embedder)  # another process (CLI, replica)
    open_or_build(writer.folder("kb"), settings, embedder, sources=[str(animals)], progress=False)
    assert reader.names() == ["kb"]
    before = reader.retriever("kb")
    assert before.index.manifest.documents == 5
    assert reader.retriever("kb") is before  # unchanged: the same open index

    add_to_index(writer.folder("kb"), [str(machines)], settings, embedder, progress=False)
    after = reader.retriever("kb")
    assert after is not before and after.index.manifest.documents == 9
    assert after.search("valve regulator part number", 1)[0].title == "Gizmo XQ-7741"
    # The old index stays usable for a search that was already running.
    assert before.search("penguin", 1)[0].title == "Penguin"

    with pytest.raises(KnowledgeBaseNotFound):
        reader.retriever("missing")
    with pytest.raises(KnowledgeBaseNotFound, match="not a knowledge base name"):
        reader.retriever("../etc")


def test_kill_during_ingestion_leaves_the_base_intact(
    tmp_path: Path, env: dict[str, str], settings: RetrievalSettings, embedder
) -> None:
    animals, _ = _files(tmp_path)
    _run(["build", "kb", str(animals)], env)
    big = write_jsonl(
        tmp_path / "big.jsonl",
        [
            {"title": f"Report {i}", "text": f"Report {i} covers topic {i}. " * 40}
            for i in range(3000)
        ],
    )
    folder = tmp_path / "data" / "indexes" / "kb"
    manifest_before = (folder / "manifest.json").read_text()
    child_env = {**os.environ, **env, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "parley.cli", "index", "add", "kb", str(big)],
        env=child_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(folder.parent.glob(".kb.staging-*")):
            assert child.poll() is None, "the add finished before it could be killed"
            assert time.monotonic() < deadline, "the add never started changing the base"
            time.sleep(0.05)
        time.sleep(1.0)  # well into embedding 3000 documents
        assert child.poll() is None
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert (folder / "manifest.json").read_text() == manifest_before
    bases = KnowledgeBases(settings, tmp_path / "data", embedder)
    retriever = bases.retriever("kb")
    assert retriever.index.table.count_documents() == 5
    assert retriever.search("bird that swims", 1)[0].title == "Penguin"
    # The next change clears what the killed process left behind and works.
    extra = write_jsonl(tmp_path / "extra.jsonl", [{"title": "Cactus", "text": "Cacti."}])
    add_to_index(folder, [str(extra)], settings, embedder, progress=False)
    assert not list(folder.parent.glob(".kb.*-*"))
    assert bases.retriever("kb").index.table.count_documents() == 6


def test_chat_and_serve_refuse_an_unknown_base_clearly(tmp_path: Path, env: dict[str, str]) -> None:
    from parley.cli import app

    animals, _ = _files(tmp_path)
    _run(["build", "zoo", str(animals)], env)
    for command in (["chat", "--kb", "nope", "-m", "hi"], ["serve", "--kb", "nope"]):
        result = runner.invoke(app, command, env=env)
        out = " ".join(result.output.split())
        assert result.exit_code == 2, out
        assert "no knowledge base 'nope'" in out and "there are: zoo" in out
