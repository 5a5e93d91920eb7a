"""Ingestion of uploaded files in the background: one writer thread, jobs with progress.

Uploads are saved under `<data_dir>/uploads/<job id>/`, then one worker thread adds them to
their base (or builds the base when it is new). The change is made on a copy of the index
that is swapped in at the end (see `build.staged_copy`), so a crash mid-ingestion leaves the
base as it was. Uploaded files are deleted once indexed: their text lives in the index.
"""

from __future__ import annotations

import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from parley.retrieval.bases import UPLOAD_SOURCE, KnowledgeBases
from parley.retrieval.build import add_to_index, build_index, lock_for
from parley.retrieval.documents import Document
from parley.retrieval.errors import RetrievalError
from parley.retrieval.sources import FILE_LOADERS, SkippedFile

UPLOAD_TYPES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl", ".csv")
"""File types the upload API takes (a subset of what the CLI reads)."""
assert all(ext in FILE_LOADERS for ext in UPLOAD_TYPES)

JobStatus = Literal["queued", "running", "done", "failed"]
KEEP_JOBS = 200
"""Finished jobs remembered for `GET .../jobs/ID` (oldest forgotten first)."""


@dataclass
class IngestionJob:
    """One upload of files into one base, and how far it got."""

    id: str
    knowledge_base: str
    files: list[str]
    owner: str | None
    folder: Path
    status: JobStatus = "queued"
    chunks_done: int = 0
    chunks_total: int = 0
    documents: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The job as the API shows it: progress by chunks, docs/s and time left."""
        elapsed = None
        if self.started_at is not None:
            elapsed = (self.finished_at or time.time()) - self.started_at
        share = self.chunks_done / self.chunks_total if self.chunks_total else 0.0
        rate = eta = None
        if elapsed and self.chunks_done:
            rate = self.documents * share / elapsed
            eta = elapsed * (1 - share) / share if share < 1 else 0.0
        return {
            "id": self.id,
            "object": "ingestion_job",
            "knowledge_base": self.knowledge_base,
            "status": self.status,
            "files": self.files,
            "documents": self.documents,
            "chunks_done": self.chunks_done,
            "chunks_total": self.chunks_total,
            "progress": round(1.0 if self.status == "done" else share, 4),
            "docs_per_s": round(rate, 2) if rate is not None else None,
            "eta_s": round(eta, 1) if eta is not None and self.status == "running" else None,
            "skipped": [{"file": s.path, "reason": s.reason} for s in self.skipped],
            "error": self.error,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
        }


class Ingestion:
    """The background writer of one server process."""

    def __init__(self, bases: KnowledgeBases, upload_root: Path) -> None:
        self.bases = bases
        self.upload_root = Path(upload_root)
        self._jobs: dict[str, IngestionJob] = {}
        self._queue: queue.Queue[IngestionJob | None] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def new_job(self, knowledge_base: str, owner: str | None) -> IngestionJob:
        """A job with an empty upload folder to save files into before `submit`."""
        job_id = "ingest-" + uuid.uuid4().hex[:16]
        folder = self.upload_root / job_id
        folder.mkdir(parents=True)
        return IngestionJob(job_id, knowledge_base, [], owner, folder)

    def discard(self, job: IngestionJob) -> None:
        """Drops a job that was never submitted (its upload was refused)."""
        shutil.rmtree(job.folder, ignore_errors=True)

    def submit(self, job: IngestionJob) -> IngestionJob:
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.finished_at is not None]
            for old in sorted(finished, key=lambda j: j.finished_at or 0)[:-KEEP_JOBS]:
                self._jobs.pop(old.id, None)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="parley-ingestion", daemon=True
                )
                self._worker.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> IngestionJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def close(self) -> None:
        self._queue.put(None)

    def wait(self, job: IngestionJob, timeout: float = 60.0) -> IngestionJob:
        """Blocks until `job` is finished (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while job.finished_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return job

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self.run(job)

    def run(self, job: IngestionJob) -> None:
        """Indexes the job's files into its base (building the base when it is new)."""
        job.status = "running"
        job.started_at = time.time()
        try:
            self._ingest(job)
            job.status = "done"
        except (RetrievalError, OSError, ValueError) as exc:
            job.status = "failed"
            # Messages name files by their upload name, never by where they lie here.
            job.error = (
                str(exc).replace(f"{job.folder.resolve()}/", "").replace(f"{job.folder}/", "")
            )
        except Exception as exc:  # a worker thread must survive any one bad file
            job.status = "failed"
            job.error = f"internal error: {type(exc).__name__}"
        finally:
            job.finished_at = time.time()
            shutil.rmtree(job.folder, ignore_errors=True)

    def _ingest(self, job: IngestionJob) -> None:
        bases = self.bases
        folder = bases.folder(job.knowledge_base)
        prefix = str(job.folder.resolve()) + "/"

        def prepare(docs: list[Document]) -> None:
            # Uploads are known by their file names: the same name again replaces the file.
            for doc in docs:
                doc.doc_id = "upload:" + doc.doc_id.removeprefix(prefix)
                doc.source = UPLOAD_SOURCE

        def progress(done: int, total: int, documents: int) -> None:
            job.chunks_done, job.chunks_total, job.documents = done, total, documents

        try:
            self._write(job, folder, prepare, progress)
        except RetrievalError as exc:
            if "contain no text" not in str(exc) or not job.skipped:
                raise
            reasons = "; ".join(
                s.reason if s.reason.startswith(s.path) else f"{s.path}: {s.reason}"
                for s in job.skipped
            )
            raise RetrievalError(f"nothing in the upload could be read: {reasons}") from None

    def _write(
        self,
        job: IngestionJob,
        folder: Path,
        prepare: Callable[[list[Document]], None],
        progress: Callable[[int, int, int], None],
    ) -> None:
        bases = self.bases
        settings, embedder = bases.settings, bases.embedder
        with lock_for(folder).acquire(timeout=settings.build_lock_timeout_s):
            exists = bases.exists(job.knowledge_base)
            if not exists:
                build_index(
                    folder,
                    [str(job.folder)],
                    settings,
                    embedder,
                    progress=False,
                    skipped=job.skipped,
                    on_progress=progress,
                    source_names=[UPLOAD_SOURCE],
                    prepare=prepare,
                )
                return
        result = add_to_index(
            folder,
            [str(job.folder)],
            settings,
            embedder,
            progress=False,
            on_progress=progress,
            prepare=prepare,
            source_names=[UPLOAD_SOURCE],
            skipped=job.skipped,
        )
        job.documents = result.documents
