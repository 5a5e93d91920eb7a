"""`parley eval answers`: answer quality through the whole chat pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from parley.cli_common import console, err_console, fail
from parley.config import ConfigError, load_settings


def eval_answers(
    ctx: typer.Context,
    qa: Annotated[
        str,
        typer.Argument(
            help="QA JSONL file ({question, answers, titles} per line) or a shipped set: "
            "wiki-dev, wiki-test (held out), docs-dev (the shipped technical documents)."
        ),
    ] = "wiki-dev",
    kb: Annotated[
        str | None, typer.Option("--kb", help="Knowledge base (index name) to answer from.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Chat model source.")] = None,
    retrieval: Annotated[
        bool, typer.Option("--retrieval/--no-retrieval", help="Answer with or without the KB.")
    ] = True,
    temperature: Annotated[
        float, typer.Option(help="Sampling temperature (0: greedy, reproducible).")
    ] = 0.0,
    max_tokens: Annotated[
        int | None, typer.Option(help="Most tokens per reply (default: the configured one).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Only the first N questions (quick iterations).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, one result each.")] = False,
    show: Annotated[bool, typer.Option("--show/--no-show", help="Print each wrong reply.")] = False,
) -> None:
    """Answer correctness (gold answer contained; token F1), gold source cited, refusals,
    invented citation marks, loops and latency, through the server's pipeline (on the engine
    `parley serve` would run)."""
    from parley.evaluation.answers import (
        DOCS_SETS,
        SHIPPED_SETS,
        AnswerSetError,
        evaluate_answers,
        load_answer_set,
        shipped_docs_path,
        shipped_path,
    )

    path = shipped_path(qa) if qa in SHIPPED_SETS else Path(qa)
    try:
        items = load_answer_set(path)
    except AnswerSetError as exc:
        fail(str(exc))
    items = items[:limit] if limit else items
    retrieval_overrides: dict[str, Any] = {"index_name": kb}
    if qa in DOCS_SETS and kb is None:
        # The shipped documents get their own index, built on first use.
        retrieval_overrides = {"index_name": "eval-docs", "sources": [str(shipped_docs_path())]}
    overrides = {
        "model": {"source": model},
        "retrieval": retrieval_overrides,
        "generation": {"temperature": temperature, "max_new_tokens": max_tokens},
    }
    try:
        settings = load_settings(_config_file(ctx), overrides)
    except ConfigError as exc:
        fail(str(exc))
    from parley.wiring import build_service

    err_console.print(f"[dim]loading {settings.model.source} ...[/]")
    try:
        # The engine `parley serve` runs (llama-server for a GGUF where set-up built it), so
        # the figures are those of the served answers: the in-process engine's differ in the
        # last bits of its arithmetic, and a 135M model's greedy answers flip with them.
        service = build_service(settings, sessions=False)
    except (OSError, ValueError, RuntimeError) as exc:
        fail(f"could not build the chat pipeline: {exc}")
    from rich.progress import Progress

    try:
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("answering", total=len(items))
            report = evaluate_answers(
                service,
                items,
                settings.generation,
                retrieval=retrieval,
                on_result=lambda _: progress.advance(task),
            )
    finally:
        service.close()
    summary = report.summary()
    if as_json:
        typer.echo(json.dumps({"set": str(path), "retrieval": retrieval, **report.as_dict()}))
        return
    if show:
        for result in report.results:
            if not result.correct:
                console.print(f"[bold]{result.question}[/] -> {result.reply!r} {result.sources}")
    from rich.table import Table

    table = Table(title=f"answers: {path.name} ({'with' if retrieval else 'no'} retrieval)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        table.add_row(name, str(value))
    console.print(table)


def _config_file(ctx: typer.Context) -> Any:
    root = ctx.find_root().obj
    return root.get("config_file") if isinstance(root, dict) else None
