"""Server settings (the `[server]` table of parley.toml)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HASHED = re.compile(r"^sha256:[0-9a-f]{64}$")


class KnowledgeBaseAccess(BaseModel):
    """Which knowledge bases one API key may read and write (`*` means all)."""

    model_config = ConfigDict(extra="forbid")

    read: list[str] = Field(default_factory=lambda: ["*"])
    """Bases it may search and list (chat requests, `GET /v1/knowledge_bases...`)."""
    write: list[str] = Field(default_factory=list)
    """Bases it may upload to and delete from (a new name creates that base)."""


class ServerSettings(BaseModel):
    """HTTP server, access control and limits."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """Address to bind; the default keeps the server on this machine."""
    port: int = Field(default=8080, ge=1, le=65535)
    """Port to listen on (8080 is the SageMaker container contract's)."""
    api_keys: list[str] = Field(default_factory=list)
    """Accepted API keys, as `sha256:<hex>` (see `parley keys hash`) or, discouraged, plain
    text. Empty: the server is open, and then only allowed on a loopback address."""
    max_body_bytes: int = Field(default=1_000_000, ge=1_000, le=100_000_000)
    """Largest request body accepted."""
    max_message_chars: int = Field(default=32_000, ge=1, le=1_000_000)
    """Longest single message accepted."""
    max_messages: int = Field(default=200, ge=1, le=10_000)
    """Most messages in one OpenAI-style request."""
    max_new_tokens_cap: int = Field(default=1024, ge=1, le=8192)
    """Upper bound on `max_new_tokens` a client may ask for."""
    max_active_generations: int = Field(default=8, ge=1, le=1024)
    """Generations running at once (they share the engine's batching)."""
    max_queued_generations: int = Field(default=32, ge=0, le=100_000)
    """Generations waiting for a slot; beyond that requests get 429 with Retry-After."""
    rate_limit_per_minute: int = Field(default=120, ge=0, le=1_000_000)
    """Requests per minute per API key (or per client address when open); 0 turns it off."""
    auth_failures_per_minute: int = Field(default=30, ge=0, le=1_000_000)
    """Failed authentications per minute per client address before it gets 429 (with
    Retry-After) even for a right key; 0 turns it off. Behind a proxy every client shares the
    proxy's address."""
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    """A connection whose request headers are not complete this long after they began (or
    after it opened) is closed."""
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    """A request body not received whole within this many seconds is answered 408."""
    ui: bool = True
    """Serve the web chat page at `/`."""
    engine_api: bool = False
    """Also serve the bare engine (`/v1/completions`, `/tokenize`, `/apply-template`), for
    other Parleys whose `openai` engine points here. It skips moderation, retrieval and
    sessions: turn it on only where those clients are trusted."""
    knowledge_base_access: dict[str, KnowledgeBaseAccess] = Field(default_factory=dict)
    """Per API key hash (`sha256:...`, as in `api_keys`) or `*` (every other key): the
    knowledge bases it may read and write. A key with no entry (and no `*`) reads every base
    and writes none. On an open server (no keys, loopback only) everything is allowed."""
    uploads: bool = True
    """Accept document uploads and deletions over HTTP (still subject to the access rules)."""
    max_upload_bytes: int = Field(default=20_000_000, ge=1_000, le=2_000_000_000)
    """Largest upload request (`POST /v1/knowledge_bases/NAME/documents`); other requests are
    held to `max_body_bytes`."""
    max_upload_files: int = Field(default=50, ge=1, le=10_000)
    """Most files in one upload request."""

    @field_validator("api_keys")
    @classmethod
    def _keys_not_empty(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not key.strip():
                raise ValueError("API keys must not be empty")
            if key.startswith("sha256:") and not _HASHED.match(key):
                raise ValueError("a hashed key is 'sha256:' followed by 64 lowercase hex digits")
        return keys

    @field_validator("knowledge_base_access")
    @classmethod
    def _access_keys(cls, rules: dict[str, KnowledgeBaseAccess]) -> dict[str, KnowledgeBaseAccess]:
        for key in rules:
            if key != "*" and not _HASHED.match(key):
                raise ValueError(
                    f"knowledge_base_access keys are API key hashes ('sha256:' and 64 hex "
                    f"digits, see `parley keys hash`) or '*'; got {key[:12]!r}..."
                )
        return rules
