"""Retrieval settings (the `[retrieval]` table of parley.toml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_SOURCE = "wikipedia-vital-summaries"

INDEX_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class WebSearchSettings(BaseModel):
    """Any HTTP JSON search API, described by where things are in its answer."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    url: str = ""
    """URL template with `{query}` (URL-encoded) and optionally `{k}`, e.g.
    `https://api.example.com/search?q={query}&count={k}`. Empty means not configured."""
    method: Literal["GET", "POST"] = "GET"
    """HTTP method; POST sends `body` (with `{query}` and `{k}` filled in) as JSON."""
    body: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """JSON body for POST; string values may contain `{query}` and `{k}`."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers, e.g. `{"Accept" = "application/json"}`."""
    auth_header: str = "Authorization"
    """Header that carries the API key, e.g. `Authorization` or `X-Subscription-Token`."""
    auth_prefix: str = "Bearer "
    """Text before the key in the auth header; empty for APIs that want the bare key."""
    api_key_env: str | None = None
    """Environment variable that holds the API key (keys never go into parley.toml)."""
    results_path: str = "results"
    """Dotted path to the list of results in the JSON answer, e.g. `web.results` or `items`."""
    title_path: str = "title"
    """Dotted path to a result's title, relative to the result."""
    snippet_path: str = "snippet"
    """Dotted path to a result's text snippet, relative to the result."""
    link_path: str = "link"
    """Dotted path to a result's URL, relative to the result."""
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    """Whole-request timeout; past it the search fails and the chat goes on without it."""

    @field_validator("url")
    @classmethod
    def _url_has_query(cls, value: str) -> str:
        if value and "{query}" not in value:
            raise ValueError("the web search URL template must contain {query}")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the web search URL must start with http:// or https://")
        return value


class RetrievalSettings(BaseModel):
    """Knowledge base, index and search settings."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    enabled: bool = True
    """Ground answers in retrieved passages; false turns retrieval off everywhere."""
    retriever: Literal["index", "web", "both"] = "index"
    """Where passages come from: the local index, the web search API, or both fused."""
    index_name: str = "default"
    """Index folder name under `<data_dir>/indexes/`."""
    index_dir: Path | None = None
    """An explicit index folder instead of `<data_dir>/indexes/<index_name>`."""
    sources: list[str] = Field(default_factory=lambda: [DEFAULT_SOURCE])
    """What the default index is built from on first use: embedded source names, files or
    folders (see `parley index build --help`)."""
    embedder: str = "all-minilm-l6-v2"
    """Embedder: an embedded default name, a local folder or a Hugging Face id. An index
    built with another embedder is refused."""
    embed_batch_size: int = Field(default=32, ge=1, le=4096)
    """Texts per embedding batch; 16-32 is fastest on CPU for short passages."""
    chunk_tokens: int = Field(default=200, ge=16, le=8192)
    """Most embedder tokens in one chunk (the title is counted too); longer documents are cut
    at sentence boundaries."""
    chunk_overlap: int = Field(default=32, ge=0, le=4096)
    """Tokens of trailing sentences repeated at the start of the next chunk."""
    index_type: Literal["auto", "flat", "ivf", "hnsw"] = "auto"
    """Faiss index: `flat` is exact; `ivf`/`hnsw` are approximate and faster at scale; `auto`
    is flat up to `auto_flat_max` chunks and HNSW past it."""
    auto_flat_max: int = Field(default=200_000, ge=1)
    """Chunks past which `index_type = "auto"` picks HNSW."""
    ivf_nlist: int | None = Field(default=None, ge=1)
    """IVF lists; about 4·sqrt(chunks) when unset."""
    ivf_nprobe: int = Field(default=16, ge=1)
    """IVF lists visited per query: higher is slower and more exact."""
    hnsw_m: int = Field(default=32, ge=4, le=256)
    """HNSW neighbours per node."""
    hnsw_ef_construction: int = Field(default=80, ge=8)
    """HNSW build-time search depth."""
    hnsw_ef_search: int = Field(default=64, ge=8)
    """HNSW query-time search depth: higher is slower and more exact."""
    search_threads: int | None = Field(default=1, ge=1, le=512)
    """OpenMP threads Faiss uses in this process; 1 is fastest for one query at a time and
    does not stall when the cores are busy (e.g. generating). Unset keeps Faiss' default."""
    mmap: bool = True
    """Memory-map the Faiss index read-only when loading (many replicas share the pages)."""
    hybrid: bool = True
    """Fuse BM25 keyword search with vector search by reciprocal rank fusion."""
    rrf_k: int = Field(default=10, ge=1)
    """Reciprocal rank fusion constant: score = sum of weight / (rrf_k + rank). Small values
    favour the top of each list (tuned on the dev set: 10)."""
    bm25_weight: float = Field(default=0.3, ge=0.0, le=10.0)
    """Weight of the BM25 list in the fusion (the vector list weighs 1). Natural-language
    questions are served best by vectors; BM25 rescues exact names, codes and rare words."""
    candidates: int = Field(default=50, ge=1, le=10_000)
    """Hits taken from each of BM25 and the vector index before fusion."""
    top_k: int = Field(default=3, ge=1, le=100)
    """Passages given to the chat model."""
    context_tokens: int = Field(default=512, ge=16)
    """Token budget of the numbered context block put into the prompt."""
    context_sentences: int = Field(default=2, ge=0, le=200)
    """Put only this many sentences of the top passages into the prompt: those most similar
    to the question (by the embedder), most similar first within a passage; passages with
    none are not cited. 0 puts whole passages. 2 measured best with the 135M default model
    on wiki-dev (1, 3 and 5 were worse)."""
    sentence_cache: int = Field(default=20_000, ge=0, le=1_000_000)
    """How many context sentences' vectors to keep in memory for `context_sentences` (least
    recently used dropped first; ~1.5 KiB each with the default embedder). 0 embeds every
    retrieved sentence on every request."""
    expand_neighbors: int = Field(default=0, ge=0, le=10)
    """Widen each hit with up to this many neighbouring chunks on each side while they stay
    similar to the query (OpenChatKit's widening); 0 turns it off."""
    expand_min_similarity: float = Field(default=0.3, ge=-1.0, le=1.0)
    """Cosine similarity to the query a neighbouring chunk needs to be pulled in."""
    ingest_threads: int | None = Field(default=None, ge=1, le=512)
    """Intra-op threads for bulk embedding (index builds and uploads); unset: every core this
    process may use. Queries keep one thread (see `search_threads`)."""
    build_lock_timeout_s: float = Field(default=3600.0, gt=0)
    """How long a process waits for another one building the same index."""
    web: WebSearchSettings = Field(default_factory=WebSearchSettings)
    """The web search API retriever (`retriever = "web"` or `"both"`)."""

    @field_validator("index_name")
    @classmethod
    def _name_is_a_folder_name(cls, value: str) -> str:
        if not INDEX_NAME.match(value):
            raise ValueError("index_name must be letters, digits, '.', '_' or '-' (max 64)")
        return value

    @field_validator("index_dir")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @model_validator(mode="after")
    def _consistent(self) -> RetrievalSettings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_tokens "
                f"({self.chunk_tokens})"
            )
        if self.retriever in ("web", "both") and not self.web.url:
            raise ValueError(f'retriever = "{self.retriever}" needs [retrieval.web] url to be set')
        return self

    def index_path(self, data_dir: Path) -> Path:
        """The index folder these settings point to."""
        if self.index_dir is not None:
            return self.index_dir
        return Path(data_dir).expanduser() / "indexes" / self.index_name
