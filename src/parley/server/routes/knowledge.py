"""Knowledge bases over HTTP: list them, list/upload/delete documents, follow ingestion jobs.

GET    /v1/knowledge_bases                         the bases this key may read
GET    /v1/knowledge_bases/{name}                  counts and build facts
GET    /v1/knowledge_bases/{name}/documents        documents with chunk counts (paged)
POST   /v1/knowledge_bases/{name}/documents        multipart `files`: 202 and an ingestion job
DELETE /v1/knowledge_bases/{name}/documents/{id}   delete one document
GET    /v1/knowledge_bases/{name}/jobs/{job_id}    an ingestion job's progress
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from parley.server.deps import authenticate, state_of
from parley.server.knowledge import ServerKnowledge
from parley.server.schemas import BODY_ERRORS, error_responses
from parley.service import NotFound, ServiceError

router = APIRouter(prefix="/v1/knowledge_bases", tags=["knowledge bases"])

COPY_BLOCK = 1 << 20
SNIFF_BYTES = 4096


def unsupported_type(message: str) -> HTTPException:
    return HTTPException(415, message)


def too_large(message: str) -> HTTPException:
    return HTTPException(413, message)


def knowledge_of(request: Request) -> ServerKnowledge:
    return state_of(request).knowledge


@router.get("", responses=error_responses(401, 404, 429))
def list_bases(request: Request, owner: str | None = Depends(authenticate)) -> dict[str, Any]:
    """The knowledge bases this key may read, the default first."""
    knowledge = knowledge_of(request)
    data = knowledge.listing(owner)
    return {"object": "list", "default": knowledge.require_bases().default, "data": data}


@router.get("/{name}", responses=error_responses(401, 404, 429))
def get_base(
    name: str, request: Request, owner: str | None = Depends(authenticate)
) -> dict[str, Any]:
    knowledge = knowledge_of(request)
    name = knowledge.readable(owner, name)
    summary = knowledge.require_bases().summary(name)
    summary["writable"] = knowledge.settings.uploads and knowledge.access.can_write(owner, name)
    return summary


@router.get("/{name}/documents", responses=error_responses(401, 404, 422, 429))
def list_documents(
    name: str,
    request: Request,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(100, ge=1, le=1000),
    owner: str | None = Depends(authenticate),
) -> dict[str, Any]:
    """Documents in the order they were added, each with its number of chunks."""
    knowledge = knowledge_of(request)
    name = knowledge.readable(owner, name)
    return knowledge.require_bases().documents(name, offset, limit)


@router.post(
    "/{name}/documents", status_code=202, responses=error_responses(*BODY_ERRORS, 403, 404)
)
async def upload_documents(
    name: str,
    request: Request,
    files: Annotated[list[UploadFile], File(description="Files: .txt .md .html .pdf .jsonl .csv")],
    owner: str | None = Depends(authenticate),
) -> JSONResponse:
    """Saves the files and queues their ingestion; follow the returned job for progress.

    A base that does not exist yet is created (with write permission for its name). A file
    with the name of one uploaded before replaces it."""
    from parley.retrieval.ingestion import UPLOAD_TYPES

    knowledge = knowledge_of(request)
    name = knowledge.writable(owner, name, create=True)
    settings = knowledge.settings
    if len(files) > settings.max_upload_files:
        raise ServiceError(f"too many files: {len(files)} > {settings.max_upload_files}")
    ingestion = knowledge.ingestion
    job = ingestion.new_job(name, owner)
    try:
        seen: set[str] = set()
        for upload in files:
            filename = _safe_name(upload.filename or "")
            if filename in seen:
                raise ServiceError(f"{filename}: the same file name twice in one upload")
            seen.add(filename)
            suffix = PurePosixPath(filename).suffix.lower()
            if suffix not in UPLOAD_TYPES:
                raise unsupported_type(
                    f"{filename}: unsupported file type {suffix or '(none)'!r}; accepted: "
                    + " ".join(UPLOAD_TYPES)
                )
            size = await _save(upload, job.folder / filename, settings.max_upload_bytes)
            _check_content(filename, suffix, job.folder / filename, size)
            job.files.append(filename)
        if not job.files:
            raise ServiceError("no files: send them as multipart form field 'files'")
    except BaseException:
        ingestion.discard(job)
        raise
    ingestion.submit(job)
    return JSONResponse(
        job.as_dict(),
        status_code=202,
        headers={"Location": f"/v1/knowledge_bases/{name}/jobs/{job.id}"},
    )


@router.get("/{name}/jobs/{job_id}", responses=error_responses(401, 404, 429))
def get_job(
    name: str, job_id: str, request: Request, owner: str | None = Depends(authenticate)
) -> dict[str, Any]:
    """An ingestion job: status, chunks embedded of all, docs/s, time left, skipped files."""
    knowledge = knowledge_of(request)
    job = knowledge.ingestion.get(job_id) if knowledge.bases is not None else None
    if job is None or job.knowledge_base != name:
        raise NotFound(f"no ingestion job {job_id!r} for knowledge base {name!r}")
    if job.owner != owner and not knowledge.access.can_read(owner, name):
        raise NotFound(f"no ingestion job {job_id!r} for knowledge base {name!r}")
    return job.as_dict()


@router.delete(
    "/{name}/documents/{document_id}", responses=error_responses(400, 401, 403, 404, 429)
)
async def delete_document(
    name: str, document_id: str, request: Request, owner: str | None = Depends(authenticate)
) -> dict[str, Any]:
    """Deletes one document (all its chunks); the base is changed on a copy and swapped in."""
    from parley.retrieval.bases import DocumentNotFound

    knowledge = knowledge_of(request)
    name = knowledge.writable(owner, name)
    bases = knowledge.require_bases()
    try:
        await anyio.to_thread.run_sync(bases.delete_document, name, document_id)
    except DocumentNotFound as exc:
        raise NotFound(str(exc)) from None
    return {"id": document_id, "object": "document", "deleted": True, "knowledge_base": name}


def _safe_name(raw: str) -> str:
    """The file's own name, without any folder a browser or client put before it."""
    name = PureWindowsPath(PurePosixPath(raw).name).name.strip()
    if (
        not name
        or name.startswith(".")
        or len(name) > 200
        or any(ord(ch) < 32 or ch in '<>:"|?*\\/' for ch in name)
    ):
        raise ServiceError(f"invalid file name {raw[:80]!r}")
    return name


async def _save(upload: UploadFile, target: Any, limit: int) -> int:
    size = 0
    with open(target, "wb") as out:
        while block := await upload.read(COPY_BLOCK):
            size += len(block)
            if size > limit:
                raise too_large(f"{target.name}: larger than {limit} bytes")
            out.write(block)
    return size


def _check_content(filename: str, suffix: str, path: Any, size: int) -> None:
    """Refuses what cannot be the type its name claims, before it is queued."""
    if size == 0:
        raise ServiceError(f"{filename}: the file is empty")
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if suffix == ".pdf":
        if not head.lstrip().startswith(b"%PDF-"):
            raise ServiceError(f"{filename}: not a PDF (it does not start with %PDF-)")
    elif b"\x00" in head:
        raise ServiceError(f"{filename}: binary data in a {suffix} file")
