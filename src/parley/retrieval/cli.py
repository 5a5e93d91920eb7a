"""`parley index ...` and `parley eval retrieval`, as Typer sub-apps mounted by parley.cli."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from parley.cli_common import console, err_console, fail, settings_from
from parley.retrieval.errors import RetrievalError
from parley.retrieval.settings import RetrievalSettings

index_app = typer.Typer(
    help="Build, update, inspect and search knowledge indexes.", no_args_is_help=True
)

SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Files, folders (recursive) or embedded sources; default: the settings' sources "
        "(the Wikipedia summaries). Types: .txt .md .html .pdf .jsonl .parquet .csv .tsv"
    ),
]
IndexDirOpt = Annotated[
    Path | None, typer.Option("--index-dir", help="Index folder (default: settings).")
]
TextColumnOpt = Annotated[
    str | None, typer.Option(help="Text column of .csv/.parquet/.jsonl (default: guessed).")
]
TitleColumnOpt = Annotated[str, typer.Option(help="Title column of tables and JSON lines.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _context(ctx: typer.Context, index_dir: Path | None) -> tuple[RetrievalSettings, Path]:
    settings = settings_from(ctx)
    retrieval = settings.retrieval
    if index_dir is not None:
        retrieval = retrieval.model_copy(update={"index_dir": index_dir.expanduser()})
    return retrieval, retrieval.index_path(settings.data_dir)


def _options(text_column: str | None, title_column: str) -> Any:
    from parley.retrieval.sources import SourceOptions

    return SourceOptions(text_column=text_column, title_column=title_column)


def _embedder(settings: RetrievalSettings) -> Any:
    from parley.retrieval.embedder import Embedder

    with err_console.status(f"loading embedder {settings.embedder}"):
        return Embedder(settings.embedder, batch_size=settings.embed_batch_size)


@index_app.command("build")
def build_command(
    ctx: typer.Context,
    sources: SourcesArg = None,
    index_dir: IndexDirOpt = None,
    index_type: Annotated[
        str | None, typer.Option("--type", help="auto, flat, ivf or hnsw.")
    ] = None,
    text_column: TextColumnOpt = None,
    title_column: TitleColumnOpt = "title",
    hybrid: Annotated[
        bool | None, typer.Option("--hybrid/--no-hybrid", help="Build the BM25 index too.")
    ] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Keep an existing index; build only if none.")
    ] = False,
) -> None:
    """Build an index (replacing the one there) with a progress bar."""
    from parley.retrieval.build import open_or_build

    settings, folder = _context(ctx, index_dir)
    updates: dict[str, Any] = {}
    if index_type is not None:
        updates["index_type"] = index_type
    if hybrid is not None:
        updates["hybrid"] = hybrid
    try:
        settings = RetrievalSettings.model_validate(settings.model_dump() | updates)
    except ValueError as exc:
        fail(str(exc))
    try:
        result = open_or_build(
            folder,
            settings,
            _embedder(settings),
            sources=sources or None,
            options=_options(text_column, title_column),
            force=not if_missing,
            console=err_console,
        )
    except RetrievalError as exc:
        fail(str(exc))
    m = result.index.manifest
    recall = m.index.recall_at_10_vs_flat
    console.print(
        f"{'built' if result.built else 'opened'} {folder}: {m.documents:,} documents, "
        f"{m.chunks:,} chunks, {m.index.type} index"
        + (f" (recall@10 vs flat {recall:.3f})" if m.index.type != "flat" else "")
        + f", {m.build.seconds:.1f}s ({m.build.docs_per_s or 0:.0f} docs/s)"
    )


@index_app.command("add")
def add_command(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Files, folders or embedded sources.")],
    index_dir: IndexDirOpt = None,
    text_column: TextColumnOpt = None,
    title_column: TitleColumnOpt = "title",
) -> None:
    """Add documents to an existing index without rebuilding it (same doc replaces old)."""
    from parley.retrieval.build import add_to_index

    settings, folder = _context(ctx, index_dir)
    try:
        docs, chunks = add_to_index(
            folder,
            sources,
            settings,
            _embedder(settings),
            options=_options(text_column, title_column),
            console=err_console,
        )
    except RetrievalError as exc:
        fail(str(exc))
    console.print(f"added {docs:,} documents ({chunks:,} chunks) to {folder}")


@index_app.command("delete")
def delete_command(
    ctx: typer.Context,
    selectors: Annotated[
        list[str], typer.Argument(help="Document ids, URIs or source specs to delete.")
    ],
    index_dir: IndexDirOpt = None,
) -> None:
    """Delete documents from an index without rebuilding it."""
    from parley.retrieval.build import delete_from_index

    settings, folder = _context(ctx, index_dir)
    try:
        deleted = delete_from_index(folder, selectors, settings)
    except RetrievalError as exc:
        fail(str(exc))
    if not deleted:
        fail(f"nothing in {folder} matches {', '.join(selectors)}", code=1)
    console.print(f"deleted {len(deleted):,} documents from {folder}")


@index_app.command("info")
def info_command(
    ctx: typer.Context, index_dir: IndexDirOpt = None, as_json: JsonOpt = False
) -> None:
    """Show an index's manifest and counts."""
    from parley.retrieval.index import KnowledgeIndex

    settings, folder = _context(ctx, index_dir)
    try:
        index = KnowledgeIndex.open(folder, mmap=settings.mmap)
    except RetrievalError as exc:
        fail(str(exc))
    info = index.info()
    index.close()
    if as_json:
        console.print_json(json.dumps(info, default=str))
        return
    table = Table(title=f"index {folder}", show_header=False)
    live = info["live"]
    assert isinstance(live, dict)
    m = index.manifest
    rows = [
        ("embedder", f"{m.embedder.model} ({m.embedder.dimension} d)"),
        ("documents", f"{live['documents']:,}"),
        ("chunks", f"{live['chunks']:,}"),
        ("index", f"{live['index_type']} ({live['vectors']:,} vectors)"),
        ("recall@10 vs flat", f"{m.index.recall_at_10_vs_flat}"),
        ("hybrid (BM25)", str(m.hybrid)),
        ("chunking", f"{m.chunking.max_tokens} tokens, overlap {m.chunking.overlap_tokens}"),
        ("sources", ", ".join(m.sources)),
        ("built", f"{m.build.built_at} in {m.build.seconds:.1f}s"),
        ("updated", str(m.updated_at or "-")),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


@index_app.command("search")
def search_command(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=100, help="Passages.")] = 5,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", "-f", help="KEY=VALUE on metadata, source, title or uri."),
    ] = None,
    hybrid: Annotated[bool | None, typer.Option("--hybrid/--no-hybrid")] = None,
    index_dir: IndexDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search an index and show the passages with their scores and sources."""
    from parley.retrieval.build import open_index
    from parley.retrieval.retriever import IndexRetriever

    settings, folder = _context(ctx, index_dir)
    if hybrid is not None:
        settings = settings.model_copy(update={"hybrid": hybrid})
    parsed: dict[str, list[str]] = {}
    for item in filters or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--filter wants KEY=VALUE, got {item!r}")
        parsed.setdefault(key.strip(), []).append(value)
    embedder = _embedder(settings)
    try:
        index = open_index(folder, settings, embedder)
        retriever = IndexRetriever.from_index(index, embedder, settings)
        passages = retriever.search(query, k, parsed or None)
    except RetrievalError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(json.dumps([p.source_dict() | {"text": p.text} for p in passages]))
        return
    table = Table(title=f"{query!r}")
    for column in ("#", "score", "title", "snippet", "uri"):
        table.add_column(column, overflow="fold")
    for rank, p in enumerate(passages, start=1):
        table.add_row(str(rank), f"{p.rank_score:.4f}", p.title, p.snippet, p.uri)
    console.print(table)


@index_app.command("import")
def import_command(
    ctx: typer.Context,
    faiss_file: Annotated[Path, typer.Argument(help="An existing Faiss index file.")],
    table_file: Annotated[Path, typer.Argument(help="Its text table (.parquet/.csv/.jsonl).")],
    embedder: Annotated[
        str, typer.Option(help="The embedder that made its vectors (e.g. an HF id).")
    ],
    text_column: Annotated[str, typer.Option(help="Text column.")] = "text_snippet",
    title_column: Annotated[str | None, typer.Option(help="Title column.")] = None,
    index_dir: IndexDirOpt = None,
) -> None:
    """Use an existing Faiss index plus its text table (OpenChatKit's layout), read-only."""
    from parley.retrieval.importer import import_index

    _, folder = _context(ctx, index_dir)
    try:
        manifest = import_index(
            folder,
            faiss_file,
            table_file,
            embedder,
            text_column=text_column,
            title_column=title_column,
        )
    except RetrievalError as exc:
        fail(str(exc))
    console.print(
        f"imported {manifest.chunks:,} passages into {folder}; set retrieval.embedder = "
        f"{embedder!r} to search it"
    )


def eval_retrieval(
    ctx: typer.Context,
    qa_file: Annotated[
        Path | None,
        typer.Argument(
            help='QA lines {"question", "title"[, "previous"]}; default: the shipped dev set; '
            "`followups`: the shipped follow-up questions."
        ),
    ] = None,
    as_json: JsonOpt = False,
    hybrid: Annotated[bool | None, typer.Option("--hybrid/--no-hybrid")] = None,
    history: Annotated[
        bool,
        typer.Option(
            "--history/--no-history",
            help="Search follow-ups with the previous message, as the chat does.",
        ),
    ] = True,
    index_dir: IndexDirOpt = None,
    show_misses: Annotated[bool, typer.Option("--misses", help="List missed questions.")] = False,
) -> None:
    """Recall@1/5/10 and MRR of the index on a QA set (builds the default index if needed)."""
    from parley.retrieval.build import open_or_build
    from parley.retrieval.evaluation import dev_set_path, evaluate, followups_set_path, load_qa
    from parley.retrieval.retriever import IndexRetriever

    settings, folder = _context(ctx, index_dir)
    if hybrid is not None:
        settings = settings.model_copy(update={"hybrid": hybrid})
    try:
        if qa_file is not None and str(qa_file) == "followups" and not qa_file.exists():
            qa_file = followups_set_path()
        items = load_qa(qa_file or dev_set_path())
        embedder = _embedder(settings)
        result = open_or_build(folder, settings, embedder, console=err_console)
        retriever = IndexRetriever.from_index(result.index, embedder, settings)
        report = evaluate(retriever, items, history=history, rrf_k=settings.rrf_k)
    except RetrievalError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(report.metrics))
        return
    table = Table(
        title=f"retrieval on {qa_file or 'the dev set'} ({report.metrics['n']} questions)"
    )
    for key in ("recall@1", "recall@5", "recall@10", "mrr"):
        table.add_column(key, justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_row(
        *(f"{report.metrics[key]:.3f}" for key in ("recall@1", "recall@5", "recall@10", "mrr")),
        f"{report.latency_percentile(50):.1f}",
    )
    console.print(table)
    if show_misses:
        for question, title, found in report.misses:
            console.print(f"[red]miss[/] {question!r}: want {title!r}, got {found}")
