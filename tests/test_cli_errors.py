"""What `parley` says when given something wrong: one clear line, no traceback or dump."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from parley.cli import app

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    return subprocess.run(
        [sys.executable, "-m", "parley.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | {"PYTHONPATH": str(ROOT / "src"), "COLUMNS": "80"} | (env or {}),
    )


def refused(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert "pydantic.dev" not in done.stderr  # no raw pydantic dump with its URL
    return done.stderr


def test_unknown_moderator_names_the_flag_and_the_choices() -> None:
    refused(
        run("moderate", "hi", "--moderator", "gpt"),
        "--moderator",
        "'classifier', 'llm' or 'none'",
        "got 'gpt'",
    )


def test_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    document = tmp_path / "existing.docx"
    document.write_bytes(b"PK\x03\x04 not a model")
    message = refused(
        run("chat", "--model", str(document), "-m", "hi"), "is not a supported model file"
    )
    assert "does not exist" not in message


def test_a_gguf_name_on_another_file_is_caught_before_llama_cpp(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("<html>404 Not Found</html>")
    refused(run("chat", "--model", str(fake), "-m", "hi"), "is not a GGUF file", "b'<htm'")


def test_a_misspelt_environment_section_is_refused_like_a_misspelt_key() -> None:
    refused(
        run("config", "show", env={"PARLEY_MODLE__SOURCE": "x"}),
        "PARLEY_MODLE__SOURCE: unknown section",
        "model",
    )
    refused(run("config", "show", env={"PARLEY_MODEL__SORCE": "x"}), "model.sorce")
    # Variables that are not settings sections are left alone.
    done = run("config", "show", env={"PARLEY_CHROMIUM": "/usr/bin/chromium"})
    assert done.returncode == 0, done.stderr


def test_error_text_is_not_read_as_markup(tmp_path: Path) -> None:
    broken = tmp_path / "bad [draft].jsonl"
    broken.write_text('{"title": "A", "text": "fine"}\n{"title": "B", "text": "cut\n')
    done = run("index", "build", "drafts", str(broken), env={"PARLEY_DATA_DIR": str(tmp_path)})
    assert done.returncode != 0
    assert f"{broken}:2: not valid JSON (Invalid control character at column" in done.stderr
    assert "Traceback" not in done.stderr


def commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of `parley`, groups included."""
    found = [path]
    for name, command in getattr(group, "commands", {}).items():
        found += commands(command, (*path, name))
    return found


PATHS = commands(typer.main.get_command(app))


def test_every_command_is_checked() -> None:
    assert ("index", "search") in PATHS and ("config", "show") in PATHS


@pytest.mark.parametrize("path", PATHS)
def test_help_shows_flags_as_they_are_typed(path: tuple[str, ...]) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    if path == ("index", "search"):
        assert "--hybrid / --no-hybrid" in result.output
        assert "Fuse keyword (BM25) and vector search" in result.output
