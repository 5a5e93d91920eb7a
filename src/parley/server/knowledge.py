"""The server's side of knowledge bases: which key may read or write which base, and the
background ingestion of uploads. Routes call `ServerKnowledge`; it knows no HTTP beyond the
status codes of its errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException

from parley.server.settings import KnowledgeBaseAccess, ServerSettings
from parley.service import NotFound, ServiceError

if TYPE_CHECKING:
    from parley.retrieval.bases import KnowledgeBases
    from parley.retrieval.ingestion import Ingestion

UPLOAD_PATH = re.compile(r"^/v1/knowledge_bases/[^/]+/documents/?$")


def is_upload(scope: Mapping[str, Any]) -> bool:
    """Whether a request is a document upload (held to `max_upload_bytes`, not the body cap)."""
    return scope.get("method") == "POST" and bool(UPLOAD_PATH.match(scope.get("path", "")))


def forbidden(message: str) -> HTTPException:
    """403: the key may read the base but not change it (an HTTP answer, not a service error)."""
    return HTTPException(403, message)


class KnowledgeBaseAccessRules:
    """`server.knowledge_base_access`, keyed by owner id (what `authenticate` returns)."""

    def __init__(self, settings: ServerSettings) -> None:
        from parley.server.auth import hash_key

        self.open = not settings.api_keys
        self.rules: dict[str, KnowledgeBaseAccess] = {}
        for key, access in settings.knowledge_base_access.items():
            if key == "*":
                self.rules["*"] = access
            else:
                self.rules[_owner_of_hash(key)] = access
        # Plain-text keys in api_keys are hashed by the key ring the same way.
        self._known = {
            _owner_of_hash(k if k.startswith("sha256:") else hash_key(k)) for k in settings.api_keys
        }
        self.fallback = self.rules.get("*", KnowledgeBaseAccess())

    def _access(self, owner: str | None) -> KnowledgeBaseAccess:
        return self.rules.get(owner or "", self.fallback)

    def can_read(self, owner: str | None, name: str) -> bool:
        return self.open or _matches(self._access(owner).read, name)

    def can_write(self, owner: str | None, name: str) -> bool:
        return self.open or _matches(self._access(owner).write, name)


def _owner_of_hash(stored: str) -> str:
    return "key-" + stored.removeprefix("sha256:")[:16]


def _matches(patterns: list[str], name: str) -> bool:
    return "*" in patterns or name in patterns


class ServerKnowledge:
    """The bases a server serves, who may use them, and its ingestion worker."""

    def __init__(
        self, bases: KnowledgeBases | None, settings: ServerSettings, upload_root: Path | None
    ) -> None:
        self.bases = bases
        self.settings = settings
        self.access = KnowledgeBaseAccessRules(settings)
        self._upload_root = upload_root
        self._ingestion: Ingestion | None = None

    @classmethod
    def for_service(cls, service: Any, settings: ServerSettings) -> ServerKnowledge:
        bases = getattr(getattr(service, "retrieval", None), "bases", None)
        root = bases.root.parent / "uploads" if bases is not None else None
        return cls(bases, settings, root)

    @property
    def ingestion(self) -> Ingestion:
        from parley.retrieval.ingestion import Ingestion

        if self._ingestion is None:
            assert self.bases is not None and self._upload_root is not None
            self._ingestion = Ingestion(self.bases, self._upload_root)
        return self._ingestion

    def require_bases(self) -> KnowledgeBases:
        if self.bases is None:
            raise NotFound("this server has no knowledge bases (retrieval is off or web-only)")
        return self.bases

    def readable(self, owner: str | None, name: str | None) -> str:
        """`name` (None: the default) if it exists and `owner` may read it; 404 otherwise
        (the same answer for a base that exists but is not theirs)."""
        bases = self.require_bases()
        name = name or bases.default
        if not self.access.can_read(owner, name) or not bases.exists(name):
            raise NotFound(f"knowledge base {name!r} not found")
        return name

    def writable(self, owner: str | None, name: str, *, create: bool = False) -> str:
        """`name` if `owner` may change it (`create`: it may be new); 403 or 404 otherwise."""
        from parley.retrieval.bases import KnowledgeBaseNotFound, check_name

        bases = self.require_bases()
        try:
            check_name(name)
        except KnowledgeBaseNotFound as exc:
            raise ServiceError(str(exc)) from None
        exists = bases.exists(name)
        if exists and not self.access.can_read(owner, name):
            raise NotFound(f"knowledge base {name!r} not found")
        if not exists and not create:
            raise NotFound(f"knowledge base {name!r} not found")
        if not self.settings.uploads:
            raise forbidden("uploads and deletions are turned off on this server (server.uploads)")
        if not self.access.can_write(owner, name):
            raise forbidden(f"this API key may not change knowledge base {name!r}")
        return name

    def listing(self, owner: str | None) -> list[dict[str, Any]]:
        bases = self.require_bases()
        out = []
        for name in bases.names():
            if not self.access.can_read(owner, name):
                continue
            summary = bases.summary(name)
            summary["writable"] = (
                self.settings.uploads
                and self.access.can_write(owner, name)
                and not summary["read_only"]
            )
            out.append(summary)
        return out

    def close(self) -> None:
        if self._ingestion is not None:
            self._ingestion.close()


def chosen_base(
    request: Any, owner: str | None, name: str | None, retrieval: bool | None
) -> str | None:
    """The knowledge base a chat request searches, checked against the key's read access.

    None leaves the choice to the service (its default base). In keyed mode the default base
    is checked too, so a key without read access to it gets a clear 404."""
    knowledge: ServerKnowledge = request.app.state.parley.knowledge
    if retrieval is False:
        return None
    if knowledge.bases is None:  # one fixed retriever: the service answers for the name
        return name
    if name is None and knowledge.access.open:
        return None
    return knowledge.readable(owner, name)
