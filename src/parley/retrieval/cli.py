"""`parley index ...` and `parley eval retrieval`, as Typer sub-apps mounted by parley.cli."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from parley.cli_common import command_group, console, err_console, fail, settings_from
from parley.retrieval.errors import RetrievalError
from parley.retrieval.settings import RetrievalSettings

index_app = command_group("Build, update, inspect and search knowledge indexes.")

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


NameOpt = Annotated[
    str | None, typer.Option("--kb", "--name", help="Knowledge base name (default: settings).")
]


def _context(
    ctx: typer.Context, index_dir: Path | None, name: str | None = None
) -> tuple[RetrievalSettings, Path, str]:
    """Settings, folder and name of the knowledge base a command works on."""
    from parley.retrieval.bases import KnowledgeBases
    from parley.retrieval.errors import RetrievalError

    settings = settings_from(ctx)
    retrieval = settings.retrieval
    if index_dir is not None:
        retrieval = retrieval.model_copy(update={"index_dir": index_dir.expanduser()})
    name = name or retrieval.index_name
    if index_dir is not None and name != retrieval.index_name:
        retrieval = retrieval.model_copy(update={"index_name": name})
    try:
        folder = KnowledgeBases(retrieval, settings.data_dir).folder(name)
    except RetrievalError as exc:
        fail(str(exc))
    return retrieval, folder, name


def _options(text_column: str | None, title_column: str) -> Any:
    from parley.retrieval.sources import SourceOptions

    return SourceOptions(text_column=text_column, title_column=title_column)


def _embedder(settings: RetrievalSettings) -> Any:
    from parley.retrieval.embedder import Embedder

    with err_console.status(f"loading embedder {settings.embedder}"):
        return Embedder(settings.embedder, batch_size=settings.embed_batch_size)


def _looks_like_a_path(arg: str) -> bool:
    from parley.retrieval.settings import INDEX_NAME

    return Path(arg).expanduser().exists() or not INDEX_NAME.match(arg)


def _is_base(ctx: typer.Context, name: str) -> bool:
    from parley.retrieval.bases import KnowledgeBases

    settings = settings_from(ctx)
    return KnowledgeBases(settings.retrieval, settings.data_dir).exists(name)


def _name_first(ctx: typer.Context, args: list[str], what: str) -> tuple[str, list[str]]:
    """Splits `NAME REST...`, refusing a file or folder where the name should be."""
    if not args:
        fail(f"name the knowledge base: parley index {what} NAME ...")
    if _looks_like_a_path(args[0]) and not _is_base(ctx, args[0]):
        fail(
            f"{args[0]!r} is a file or folder, not a knowledge base name: "
            f"parley index {what} NAME {' '.join(args)}"
        )
    return args[0], args[1:]


@index_app.command("build")
def build_command(
    ctx: typer.Context,
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME [SOURCES]...",
            help="The knowledge base's name, then files, folders (recursive) or embedded "
            "sources. No arguments: the default base from the settings' sources (the Wikipedia "
            "summaries). Types: .txt .md .html .pdf .jsonl .parquet .csv .tsv",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name the base here; then all arguments are sources."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Rebuild a base that exists, without asking.")
    ] = False,
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
        bool, typer.Option("--if-missing", help="Keep an existing base; build only if none.")
    ] = False,
) -> None:
    """Build a named knowledge base with a progress bar (an existing one only with --replace)."""
    from parley.retrieval.build import open_or_build

    args = list(args or [])
    if name is None and args:
        name, args = args[0], args[1:]
        if not args and _looks_like_a_path(name) and not _is_base(ctx, name):
            fail(
                f"{name!r} is a file or folder, not a knowledge base name; name the base first: "
                f"parley index build NAME {name}"
            )
    settings, folder, name = _context(ctx, index_dir, name)
    sources = args or None
    if sources is None and name != settings.index_name:
        fail(f"give the sources of {name!r}: parley index build {name} FILES_OR_FOLDERS...")
    updates: dict[str, Any] = {}
    if index_type is not None:
        updates["index_type"] = index_type
    if hybrid is not None:
        updates["hybrid"] = hybrid
    try:
        settings = RetrievalSettings.model_validate(settings.model_dump() | updates)
    except ValueError as exc:
        fail(str(exc))
    exists = (folder / "manifest.json").is_file()
    if exists and not if_missing and not replace:
        question = f"knowledge base {name!r} exists at {folder}; replace it?"
        if not (sys.stdin.isatty() and typer.confirm(question, default=False, err=True)):
            fail(
                f"knowledge base {name!r} exists; pass --replace to rebuild it, --if-missing "
                f"to keep it, or add documents with `parley index add {name} ...`"
            )
    try:
        result = open_or_build(
            folder,
            settings,
            _embedder(settings),
            sources=sources,
            options=_options(text_column, title_column),
            force=not if_missing,
            console=err_console,
        )
    except RetrievalError as exc:
        fail(str(exc))
    m = result.index.manifest
    recall = m.index.recall_at_10_vs_flat
    console.print(
        f"{'built' if result.built else 'kept'} {name!r}: {m.documents:,} documents, "
        f"{m.chunks:,} chunks, {m.index.type} index"
        + (f" (recall@10 vs flat {recall:.3f})" if m.index.type != "flat" else "")
        + f", {m.build.seconds:.1f}s ({m.build.docs_per_s or 0:.0f} docs/s)"
        + (f", {len(result.skipped)} file(s) skipped" if result.skipped else "")
    )


@index_app.command("list")
def list_command(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the knowledge bases of the data directory."""
    from parley.retrieval.bases import KnowledgeBases

    settings = settings_from(ctx)
    bases = KnowledgeBases(settings.retrieval, settings.data_dir)
    rows: list[dict[str, Any]] = []
    for name in bases.names():
        from parley.retrieval.manifest import Manifest

        try:
            m = Manifest.load(bases.folder(name))
        except RetrievalError as exc:
            rows.append({"name": name, "error": str(exc)})
            continue
        rows.append(
            {
                "name": name,
                "default": name == bases.default,
                "documents": m.documents,
                "chunks": m.chunks,
                "embedder": m.embedder.model,
                "updated_at": m.updated_at or m.build.built_at,
            }
        )
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print(
            f"no knowledge bases in {bases.root}; build one with `parley index build NAME FILES`"
        )
        return
    table = Table(title=f"knowledge bases in {bases.root}")
    for column in ("name", "documents", "chunks", "embedder", "updated"):
        table.add_column(column, justify="right" if column in ("documents", "chunks") else "left")
    for row in rows:
        if "error" in row:
            table.add_row(row["name"], "-", "-", row["error"], "")
            continue
        label = row["name"] + (" (default)" if row["default"] else "")
        table.add_row(
            label, f"{row['documents']:,}", f"{row['chunks']:,}", row["embedder"], row["updated_at"]
        )
    console.print(table)


@index_app.command("add")
def add_command(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(metavar="NAME SOURCES...", help="The base, then files or folders."),
    ],
    index_dir: IndexDirOpt = None,
    text_column: TextColumnOpt = None,
    title_column: TitleColumnOpt = "title",
) -> None:
    """Add documents to a knowledge base without rebuilding it (same doc replaces old)."""
    from parley.retrieval.build import add_to_index

    name, sources = _name_first(ctx, args, "add")
    if not sources:
        fail(f"give the files or folders to add: parley index add {name} FILES...")
    settings, folder, name = _context(ctx, index_dir, name)
    try:
        result = add_to_index(
            folder,
            sources,
            settings,
            _embedder(settings),
            options=_options(text_column, title_column),
            console=err_console,
        )
    except RetrievalError as exc:
        fail(str(exc))
    console.print(
        f"added {result.documents:,} documents ({result.chunks:,} chunks) to {name!r}"
        + (f"; {len(result.skipped)} file(s) skipped" if result.skipped else "")
    )


@index_app.command("delete")
def delete_command(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME SELECTORS...", help="The base, then document ids, URIs or sources."
        ),
    ],
    index_dir: IndexDirOpt = None,
) -> None:
    """Delete documents from a knowledge base without rebuilding it."""
    from parley.retrieval.build import delete_from_index

    name, selectors = _name_first(ctx, args, "delete")
    if not selectors:
        fail(f"name the documents to delete: parley index delete {name} DOC_ID...")
    settings, folder, name = _context(ctx, index_dir, name)
    try:
        deleted = delete_from_index(folder, selectors, settings)
    except RetrievalError as exc:
        fail(str(exc))
    if not deleted:
        fail(f"nothing in {name!r} matches {', '.join(selectors)}", code=1)
    console.print(f"deleted {len(deleted):,} documents from {name!r}")


@index_app.command("info")
def info_command(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="The base (default: settings).")] = None,
    index_dir: IndexDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a knowledge base's manifest and counts."""
    from parley.retrieval.index import KnowledgeIndex

    settings, folder, name = _context(ctx, index_dir, name)
    try:
        index = KnowledgeIndex.open(folder, mmap=settings.mmap)
    except RetrievalError as exc:
        fail(str(exc))
    info = index.info()
    index.close()
    info["name"] = name
    if as_json:
        console.print_json(json.dumps(info, default=str))
        return
    table = Table(title=f"knowledge base {name!r} ({folder})", show_header=False)
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
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[NAME] QUERY", help="The base (default: settings), then the query."
        ),
    ],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=100, help="Passages.")] = 5,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", "-f", help="KEY=VALUE on metadata, source, title or uri."),
    ] = None,
    hybrid: Annotated[
        bool | None,
        typer.Option(
            "--hybrid/--no-hybrid",
            help="Fuse keyword (BM25) and vector search, or use vectors only "
            "(default: retrieval.hybrid; needs an index built with BM25).",
        ),
    ] = None,
    index_dir: IndexDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search a knowledge base and show the passages with their scores and sources."""
    from parley.retrieval.build import open_index
    from parley.retrieval.retriever import IndexRetriever

    if len(args) > 2:
        fail('quote the query: parley index search [NAME] "QUERY"')
    name, query = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    settings, folder, name = _context(ctx, index_dir, name)
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
    table = Table(title=f"{query!r} in {name!r}")
    for column in ("#", "score", "title", "where", "snippet"):
        table.add_column(column, overflow="fold")
    for rank, p in enumerate(passages, start=1):
        source = p.source_dict()
        where = source.get("uri") or source.get("document", "")
        if source.get("section"):
            where += f" § {source['section']}"
        elif source.get("page"):
            where += f" p. {source['page']}"
        table.add_row(str(rank), f"{p.rank_score:.4f}", p.title, where, p.snippet)
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

    _, folder, _ = _context(ctx, index_dir)
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
    hybrid: Annotated[
        bool | None,
        typer.Option(
            "--hybrid/--no-hybrid",
            help="Fuse keyword (BM25) and vector search, or use vectors only "
            "(default: retrieval.hybrid).",
        ),
    ] = None,
    history: Annotated[
        bool,
        typer.Option(
            "--history/--no-history",
            help="Search follow-ups with the previous message, as the chat does.",
        ),
    ] = True,
    index_dir: IndexDirOpt = None,
    name: NameOpt = None,
    show_misses: Annotated[bool, typer.Option("--misses", help="List missed questions.")] = False,
) -> None:
    """Recall@1/5/10 and MRR of the index on a QA set (builds the default index if needed)."""
    from parley.retrieval.build import open_or_build
    from parley.retrieval.evaluation import dev_set_path, evaluate, followups_set_path, load_qa
    from parley.retrieval.retriever import IndexRetriever

    settings, folder, _ = _context(ctx, index_dir, name)
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
