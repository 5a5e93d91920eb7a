from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parley.retrieval.errors import SourceError
from parley.retrieval.sources import SourceOptions, load_source

from .conftest import make_pdf, write_jsonl


def test_text_and_markdown(tmp_path: Path) -> None:
    (tmp_path / "notes_on-bees.txt").write_text("Bees dance to share where flowers are.\n")
    (tmp_path / "guide.md").write_text("# Hive care\n\nOpen the hive on warm days.\n")
    txt = list(load_source(str(tmp_path / "notes_on-bees.txt")))
    md = list(load_source(str(tmp_path / "guide.md")))
    assert txt[0].title == "notes on bees" and "dance" in txt[0].text
    assert md[0].title == "Hive care" and "warm days" in md[0].text
    # Known by its path on this machine, shown by its name: never the path.
    assert txt[0].doc_id == str((tmp_path / "notes_on-bees.txt").resolve())
    assert txt[0].uri == "" and txt[0].metadata["file"] == "notes_on-bees.txt"


def test_html_keeps_main_text_not_markup(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Lighthouses</title><style>p{color:red}</style>"
        "<script>var tracking = 1;</script></head><body><nav>Home | About</nav>"
        "<main><h1>Lighthouses</h1><p>A lighthouse warns <b>ships</b> of rocks.</p></main>"
        "<footer>Copyright 2024</footer></body></html>"
    )
    [doc] = list(load_source(str(page)))
    assert doc.title == "Lighthouses"
    assert "A lighthouse warns" in doc.text and "ships" in doc.text
    for noise in ("<", "tracking", "color:red", "Home | About", "Copyright"):
        assert noise not in doc.text


def test_pdf(tmp_path: Path) -> None:
    make_pdf(tmp_path / "manual.pdf", "Turn the red knob to start the pump.")
    [doc] = list(load_source(str(tmp_path / "manual.pdf")))
    assert "red knob" in doc.text
    assert doc.title == "Handmade PDF" and doc.metadata["pages"] == 1


def test_broken_pdf_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf at all")
    with pytest.raises(SourceError, match=r"bad\.pdf: not a readable PDF"):
        list(load_source(str(tmp_path / "bad.pdf")))


def test_jsonl_fields_become_metadata(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "faq.jsonl",
        [
            {
                "text": "Returns are free for 30 days.",
                "title": "Returns",
                "url": "https://x/r",
                "lang": "en",
            },
            {"text": "   "},
            {"text": "Shipping takes two days.", "id": "ship"},
        ],
    )
    docs = list(load_source(str(path)))
    assert [d.title for d in docs] == ["Returns", "faq #ship"]
    assert docs[0].uri == "https://x/r"
    assert docs[0].metadata == {"lang": "en", "file": "faq.jsonl"}
    assert docs[1].uri == ""  # no web address: the server path is not one either
    assert docs[1].doc_id.endswith("faq.jsonl#ship")


def test_jsonl_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": oops}\n')
    with pytest.raises(SourceError, match=r"bad\.jsonl:2: not valid JSON"):
        list(load_source(str(path)))
    write_jsonl(path, [{"body_text": "no text field"}])
    with pytest.raises(SourceError, match="no text column found"):
        list(load_source(str(path)))


def test_csv_with_chosen_column(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "answer", "category"])
        writer.writerow(["Opening hours", "We open at nine.", "store"])
        writer.writerow(["Parking", "Parking is behind the shop.", "store"])
    docs = list(load_source(str(path), SourceOptions(text_column="answer", title_column="name")))
    assert [d.text for d in docs] == ["We open at nine.", "Parking is behind the shop."]
    assert docs[0].title == "Opening hours" and docs[0].metadata == {
        "category": "store",
        "file": "table.csv",
    }
    with pytest.raises(SourceError, match=r"text column 'missing' not found; columns are: name"):
        list(load_source(str(path), SourceOptions(text_column="missing")))


def test_parquet_openchatkit_layout(tmp_path: Path) -> None:
    path = tmp_path / "wiki.parquet"
    table = pa.table({"text_snippet": ["Paris is the capital of France.", "Rome is in Italy."]})
    pq.write_table(table, path)
    docs = list(load_source(str(path)))  # text_snippet is guessed
    assert [d.text for d in docs][1] == "Rome is in Italy."
    assert docs[0].doc_id.endswith("wiki.parquet#0")
    with pytest.raises(SourceError, match="columns are: text_snippet"):
        list(load_source(str(path), SourceOptions(text_column="text")))


def test_folder_is_recursive_and_skips_unknown_and_hidden(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("Alpha text.")
    (tmp_path / "sub" / "b.md").write_text("Beta text.")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.txt").write_text("Hidden.")
    docs = list(load_source(str(tmp_path)))
    assert sorted(d.text for d in docs) == ["Alpha text.", "Beta text."]
    assert all(d.source == str(tmp_path) for d in docs)


def test_unknown_source_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="neither an existing file or folder"):
        list(load_source(str(tmp_path / "nope")))
    with pytest.raises(SourceError, match="no files of a known type"):
        list(load_source(str(tmp_path)))


def test_embedded_wikipedia_summaries() -> None:
    docs = list(load_source("default"))
    assert len(docs) > 9000
    mona = next(d for d in docs if d.title == "Mona Lisa")
    assert "Leonardo" in mona.text
    assert mona.uri == "https://en.wikipedia.org/wiki/Mona_Lisa"
    assert mona.source == "wikipedia-vital-summaries" and "topic" in mona.metadata


def test_markdown_title_from_front_matter_or_top_heading_only(tmp_path: Path) -> None:
    (tmp_path / "front.md").write_text(
        "---\ntitle: 'Pump manual'\nauthor: x\n---\n# Install\n\nBolt it down.\n"
    )
    (tmp_path / "top.md").write_text(
        "\n# Zstandard\n\nFast compression.\n\n## Benchmarks\n\nFast.\n"
    )
    (tmp_path / "later.md").write_text("Intro text first.\n\n# Benchmarks\n\nNumbers.\n")
    (tmp_path / "setext.md").write_text("Bread baking\n============\n\nKnead well.\n")
    titles = {p.name: next(load_source(str(p))).title for p in sorted(tmp_path.glob("*.md"))}
    assert titles == {
        "front.md": "Pump manual",
        "later.md": "later",  # a heading further down names a section, not the document
        "setext.md": "Bread baking",
        "top.md": "Zstandard",
    }
    assert "author" not in next(load_source(str(tmp_path / "front.md"))).text


def test_passages_know_their_section_or_page_and_never_a_path(
    tmp_path: Path, embedder, settings
) -> None:
    from parley.retrieval.build import open_or_build
    from parley.retrieval.retriever import IndexRetriever

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(
        "# Garden guide\n\n## Roses\n\nPrune roses in late winter.\n\n"
        "```sh\n# not a heading: a shell comment\necho hi\n```\n\n"
        "## Tomatoes\n\nTomatoes need full sun and deep watering.\n"
    )
    (docs / "page.html").write_text(
        "<html><head><title>Kitchen notes</title></head><body><main><h1>Kitchen</h1>"
        "<p>Intro.</p><h2>Knives</h2><p>Sharpen knives on a whetstone weekly.</p></main>"
        "</body></html>"
    )
    make_pdf(docs / "manual.pdf", "Turn the red knob to start the pump.")
    index = open_or_build(
        tmp_path / "kb", settings, embedder, sources=[str(docs)], progress=False
    ).index
    retriever = IndexRetriever.from_index(index, embedder, settings)

    def top(query: str) -> dict:
        return retriever.search(query, 1)[0].source_dict()

    tomato = top("how much sun do tomatoes need")
    assert tomato["title"] == "Garden guide" and tomato["section"] == "Tomatoes"
    assert tomato["document"] == "guide.md" and tomato["uri"] == ""
    assert top("sharpening knives")["section"] == "Knives"
    pump = top("start the pump red knob")
    assert pump["title"] == "Handmade PDF" and pump["page"] == 1
    sections = {p.metadata.get("section") for p in retriever.search("garden", 10)}
    assert "not a heading: a shell comment" not in sections
    for passage in retriever.search("anything at all", 10):
        assert str(tmp_path) not in json.dumps(passage.source_dict())
    index.close()


def test_folder_lists_skipped_files_with_reasons(tmp_path: Path) -> None:
    from parley.retrieval.sources import SkippedFile

    (tmp_path / "good.txt").write_text("Readable text.\n")
    (tmp_path / "README").write_text("no extension\n")
    (tmp_path / "log.gz").write_bytes(b"\x1f\x8b\x08")
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf")
    (tmp_path / "empty.md").write_text("   \n")
    skipped: list[SkippedFile] = []
    docs = list(load_source(str(tmp_path), skipped=skipped))
    assert [d.title for d in docs] == ["good"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["README"] == "no file extension"
    assert reasons["log.gz"] == "unsupported type '.gz'"
    assert "not a readable PDF" in reasons["bad.pdf"] and reasons["empty.md"] == "no text"
