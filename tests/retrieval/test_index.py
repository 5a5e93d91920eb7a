from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from parley.retrieval.build import add_to_index, delete_from_index, open_index, open_or_build
from parley.retrieval.documents import Passage
from parley.retrieval.embedder import Embedder
from parley.retrieval.errors import IndexMismatchError, IndexNotFoundError
from parley.retrieval.index import KnowledgeIndex
from parley.retrieval.retriever import IndexRetriever, fuse_passages, reciprocal_rank_fusion
from parley.retrieval.settings import RetrievalSettings

from .conftest import write_jsonl


def _titles(retriever: IndexRetriever, query: str, k: int = 3, **kw: object) -> list[str]:
    return [p.title for p in retriever.search(query, k, **kw)]  # type: ignore[arg-type]


def test_build_save_load_search(
    tmp_path: Path, kb_files: Path, settings: RetrievalSettings, embedder: Embedder
) -> None:
    folder = tmp_path / "index"
    result = open_or_build(folder, settings, embedder, sources=[str(kb_files)], progress=False)
    assert result.built
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["embedder"] == {
        "model": "all-minilm-l6-v2",
        "dimension": 384,
        "max_length": 256,
    }
    assert manifest["documents"] == 9 and manifest["chunks"] == 9
    assert manifest["chunking"] == {
        "max_tokens": 64,
        "overlap_tokens": 8,
        "heading": "title (description)",
    }
    assert manifest["index"]["type"] == "flat" and manifest["build"]["seconds"] > 0
    result.index.close()

    again = open_or_build(folder, settings, embedder, sources=[str(kb_files)], progress=False)
    assert not again.built  # opened, not rebuilt
    retriever = IndexRetriever.from_index(again.index, embedder, settings)
    passages = retriever.search("Which animal runs fastest?", 3)
    assert passages[0].title == "Cheetah"
    assert passages[0].metadata["topic"] == "animals"
    assert passages[0].doc_id.endswith("animals.jsonl#Cheetah") and passages[0].uri == ""
    assert passages[0].source_dict()["document"] == "animals.jsonl"
    assert passages[0].snippet.startswith("The cheetah")


def test_mmap_read_only_open_and_refusals(
    tmp_path: Path, kb_files: Path, settings: RetrievalSettings, embedder: Embedder
) -> None:
    folder = tmp_path / "index"
    open_or_build(folder, settings, embedder, sources=[str(kb_files)], progress=False)
    index = KnowledgeIndex.open(folder, mmap=True)
    assert index.faiss.ntotal == 9
    with pytest.raises(ValueError, match="read-only"):
        index.delete_documents(["anything"])
    with pytest.raises(IndexNotFoundError, match="parley index build"):
        KnowledgeIndex.open(tmp_path / "missing")


def test_manifest_mismatch_is_refused(
    tmp_path: Path, kb_files: Path, settings: RetrievalSettings, embedder: Embedder
) -> None:
    folder = tmp_path / "index"
    open_or_build(folder, settings, embedder, sources=[str(kb_files)], progress=False)
    other = settings.model_copy(update={"embedder": "facebook/contriever-msmarco"})
    with pytest.raises(IndexMismatchError, match="built with embedder 'all-minilm-l6-v2'"):
        open_index(folder, other, None)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["embedder"]["dimension"] = 768
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=r"768 dimensions.*rebuild"):
        open_index(folder, settings, embedder)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_add_and_delete_without_rebuild(
    tmp_path: Path, kb_files: Path, settings: RetrievalSettings, embedder: Embedder, kind: str
) -> None:
    folder = tmp_path / "index"
    settings = settings.model_copy(update={"index_type": kind, "ivf_nlist": 2, "ivf_nprobe": 2})
    built = open_or_build(folder, settings, embedder, sources=[str(kb_files)], progress=False)
    assert built.index.manifest.index.type == kind
    assert built.index.manifest.index.recall_at_10_vs_flat is not None
    build_id = built.index.manifest.build.build_id
    cheetah_id = built.index.table.ids_matching({"title": "Cheetah"})[0]
    built.index.close()

    extra = write_jsonl(
        tmp_path / "extra.jsonl",
        [{"title": "Volcano", "text": "A volcano erupts lava and ash from a magma chamber."}],
    )
    added = add_to_index(folder, [str(extra)], settings, embedder, progress=False)
    assert (added.documents, added.chunks) == (1, 1)
    index = open_index(folder, settings, embedder)
    assert index.manifest.build.build_id == build_id  # same build, updated in place
    assert index.manifest.documents == 10 and str(extra) in index.manifest.sources
    assert index.table.ids_matching({"title": "Cheetah"})[0] == cheetah_id  # ids are stable
    retriever = IndexRetriever.from_index(index, embedder, settings)
    assert _titles(retriever, "hot lava eruption", 1) == ["Volcano"]
    index.close()

    deleted = delete_from_index(
        folder, [str((kb_files / "animals.jsonl").resolve()) + "#Owl"], settings
    )
    assert len(deleted) == 1
    deleted = delete_from_index(folder, [str(extra)], settings)  # by source
    assert len(deleted) == 1
    index = open_index(folder, settings, embedder)
    retriever = IndexRetriever.from_index(index, embedder, settings)
    for hybrid in (True, False):
        retriever.hybrid = hybrid
        found = _titles(retriever, "night bird of prey that hunts silently", 8)
        assert "Owl" not in found and "Volcano" not in found
        assert len(found) == 8  # deleted ids never eat into k
    assert index.manifest.documents == 8 and str(extra) not in index.manifest.sources
    index.close()


def test_filters_apply_inside_the_search(
    tmp_path: Path, kb_files: Path, settings: RetrievalSettings, embedder: Embedder
) -> None:
    folder = tmp_path / "index"
    index = open_or_build(folder, settings, embedder, sources=[str(kb_files)], progress=False).index
    for hybrid in (True, False):
        retriever = IndexRetriever.from_index(index, embedder, settings)
        retriever.hybrid = hybrid
        # The best match overall is an animal; filtered to machines we still get k machines.
        passages = retriever.search("the fastest animal", 4, {"topic": "machines"})
        assert len(passages) == 4
        assert {p.metadata["topic"] for p in passages} == {"machines"}
        both = retriever.search("fast", 9, {"topic": ["machines", "animals"]})
        assert len(both) == 9
        assert retriever.search("owl", 3, {"topic": "plants"}) == []
        only = retriever.search("anything", 3, {"title": "Penguin"})
        assert [p.title for p in only] == ["Penguin"]


def test_fuse_passages_counts_a_chunk_once_per_list() -> None:
    def passage(chunk: int | None, uri: str) -> Passage:
        return Passage(text=f"t{chunk}{uri}", title=uri, uri=uri, rank_score=0.5, chunk_id=chunk)

    # Two chunks of one article are two passages; a web result is known by its uri.
    first = [passage(1, "kb://a"), passage(2, "kb://a"), passage(None, "https://w")]
    second = [passage(2, "kb://a"), passage(2, "kb://a"), passage(None, "https://w")]
    fused = fuse_passages([first, second], 10, rrf_k=1)
    assert [(p.chunk_id, p.uri) for p, _ in fused] == [
        (2, "kb://a"),
        (None, "https://w"),
        (1, "kb://a"),
    ]
    # Chunk 2 counts once in `second` (rank 1), not twice.
    assert fused[0][1] == pytest.approx(1 / 3 + 1 / 2)


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    ids = [i for i, _ in fused]
    assert ids[:2] == [1, 3] and set(ids) == {1, 2, 3, 4}
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    weighted = reciprocal_rank_fusion([[1, 2], [2, 1]], k=1, weights=[1.0, 0.1])
    assert [i for i, _ in weighted] == [1, 2]
    with pytest.raises(ValueError, match="weights"):
        reciprocal_rank_fusion([[1]], weights=[1.0, 2.0])


def test_hybrid_finds_exact_codes(
    tmp_path: Path, kb_files: Path, settings: RetrievalSettings, embedder: Embedder
) -> None:
    index = open_or_build(
        tmp_path / "index", settings, embedder, sources=[str(kb_files)], progress=False
    ).index
    retriever = IndexRetriever.from_index(index, embedder, settings)
    assert (
        index.keyword_search("XQ-7741", 3)[0][0]
        == index.table.ids_matching({"title": "Gizmo XQ-7741"})[0]
    )
    assert _titles(retriever, "where is XQ-7741 written", 1) == ["Gizmo XQ-7741"]
    off = settings.model_copy(update={"hybrid": False})
    plain = open_or_build(
        tmp_path / "plain", off, embedder, sources=[str(kb_files)], progress=False
    )
    assert plain.index.keywords is None and not (tmp_path / "plain" / "bm25").exists()


def test_neighbour_widening(tmp_path: Path, embedder: Embedder) -> None:
    sentences = [f"Fact {i}: the lighthouse keeper polished lens number {i}." for i in range(30)]
    path = write_jsonl(tmp_path / "long.jsonl", [{"title": "Keeper", "text": " ".join(sentences)}])
    settings = RetrievalSettings(chunk_tokens=40, chunk_overlap=0, hybrid=False)
    index = open_or_build(
        tmp_path / "i", settings, embedder, sources=[str(path)], progress=False
    ).index
    assert index.manifest.chunks > 3
    narrow = IndexRetriever.from_index(index, embedder, settings).search("lens number 15", 1)[0]
    wide_settings = settings.model_copy(update={"expand_neighbors": 1, "expand_min_similarity": -1})
    wide = IndexRetriever.from_index(index, embedder, wide_settings).search("lens number 15", 1)[0]
    assert narrow.text in wide.text and len(wide.text) > len(narrow.text)
    strict = settings.model_copy(update={"expand_neighbors": 1, "expand_min_similarity": 0.999})
    same = IndexRetriever.from_index(index, embedder, strict).search("lens number 15", 1)[0]
    assert same.text == narrow.text


def test_import_openchatkit_layout(tmp_path: Path, embedder: Embedder) -> None:
    import faiss
    import pyarrow as pa
    import pyarrow.parquet as pq

    from parley.retrieval.importer import import_index

    texts = ["Paris is the capital of France.", "Bananas are yellow fruit.", "Mars is red."]
    vectors = embedder.embed(texts)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    faiss.write_index(flat, str(tmp_path / "knn.index"))
    pq.write_table(pa.table({"text_snippet": texts}), tmp_path / "wiki.parquet")
    import_index(
        tmp_path / "kb", tmp_path / "knn.index", tmp_path / "wiki.parquet", "all-minilm-l6-v2"
    )
    settings = RetrievalSettings(hybrid=False)
    index = open_index(tmp_path / "kb", settings, embedder)
    passages = IndexRetriever.from_index(index, embedder, settings).search("French capital", 1)
    assert passages[0].text == texts[0]
    with pytest.raises(ValueError, match="imported"):
        KnowledgeIndex.open(tmp_path / "kb", writable=True).delete_documents(["x"])
    assert np.isclose(
        passages[0].rank_score, float(vectors[0] @ embedder.embed_one("French capital")), atol=1e-3
    )
