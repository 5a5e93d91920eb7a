"""Knowledge bases over HTTP: per-request choice on both APIs, upload/list/delete of real files
of every accepted type with a real server, limits, per-key permissions, and two server
processes sharing one data directory."""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.retrieval.bases import KnowledgeBases
from parley.server.auth import hash_key
from parley.server.settings import KnowledgeBaseAccess, ServerSettings
from parley.wiring import KnowledgeRetrieval
from tests.retrieval.conftest import ANIMALS, MACHINES, make_pdf
from tests.server.kb_fixtures import KB_SETTINGS, make_bases


@pytest.fixture
def kb_server(make_server, tmp_path: Path, embedder: Any):
    def make(settings: ServerSettings | None = None):
        bases = make_bases(tmp_path / "data", embedder)
        retrieval = KnowledgeRetrieval(None, KB_SETTINGS, bases=bases)
        return make_server(settings, retrieval=retrieval)

    return make


def chat(client: httpx.Client, kb: str | None = None, text: str = "fastest") -> httpx.Response:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
    if kb is not None:
        body["knowledge_base"] = kb
    return client.post("/v1/chat/completions", json=body)


def titles(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {s["title"] for s in response.json()["sources"]}


def wait_job(client: httpx.Client, job: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    where = f"/v1/knowledge_bases/{job['knowledge_base']}/jobs/{job['id']}"
    seen = [job]
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job still {job['status']}"
        time.sleep(0.1)
        job = client.get(where).json()
        seen.append(job)
    return job


def test_each_request_chooses_its_knowledge_base_on_both_apis(kb_server) -> None:
    server = kb_server()
    client = server.client()
    animals, machines = {t for t, _ in ANIMALS}, {t for t, _ in MACHINES}
    assert titles(chat(client)) <= animals  # the default base
    assert titles(chat(client, "shop")) <= machines
    assert titles(chat(client, "zoo")) <= animals
    invocation = client.post(
        "/invocations", json={"inputs": "what moves a piston", "knowledge_base": "shop"}
    )
    assert invocation.status_code == 200
    assert {s["title"] for s in invocation.json()["sources"]} <= machines
    assert {s["title"] for s in invocation.json()["sources"]}

    missing = chat(client, "nope")
    assert missing.status_code == 404 and "'nope' not found" in missing.json()["error"]["message"]
    bad = client.post("/invocations", json={"inputs": "x", "knowledge_base": "../etc"})
    assert bad.status_code == 422 and "knowledge_base" in bad.json()["error"]["message"]
    listing = client.get("/v1/knowledge_bases").json()
    assert listing["default"] == "zoo"
    assert [(b["name"], b["documents"]) for b in listing["data"]] == [("zoo", 5), ("shop", 4)]


def _files(folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    make_pdf(folder / "pump.pdf", "Turn the red knob to start the pump.")
    csv_rows = "title,text\nLantern,A lantern burns oil behind glass to give light.\n"
    return {
        "notes.txt": b"Sourdough bread needs a starter fed with flour and water.\n",
        "garden.md": b"# Garden guide\n\n## Tomatoes\n\n"
        b"Tomatoes need full sun and deep watering.\n",
        "kitchen.html": b"<html><head><title>Kitchen notes</title></head><body><main>"
        b"<h2>Knives</h2><p>Sharpen knives on a whetstone every week.</p></main></body></html>",
        "pump.pdf": (folder / "pump.pdf").read_bytes(),
        "faq.jsonl": b'{"title": "Returns", "text": "Returns are free within 30 days."}\n'
        b'{"title": "Shipping", "text": "Orders ship within two working days."}\n',
        "tools.csv": csv_rows.encode(),
    }


def test_upload_list_search_and_delete_real_files(kb_server, tmp_path: Path) -> None:
    server = kb_server()
    client = server.client()
    files = _files(tmp_path / "uploads")
    response = client.post(
        "/v1/knowledge_bases/docs/documents",
        files=[("files", (name, data)) for name, data in files.items()],
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"].startswith("/v1/knowledge_bases/docs/jobs/")
    job = wait_job(client, response.json())
    assert job["status"] == "done", job
    assert job["documents"] == 7 and job["chunks_done"] == job["chunks_total"] >= 7
    assert job["progress"] == 1.0 and job["skipped"] == []

    page = client.get("/v1/knowledge_bases/docs/documents").json()
    assert page["total"] == 7
    by_name = {d["name"]: d for d in page["data"]}
    assert set(by_name) == {
        "notes.txt",
        "garden.md",
        "kitchen.html",
        "pump.pdf",
        "Returns (faq.jsonl)",
        "Shipping (faq.jsonl)",
        "Lantern (tools.csv)",
    }
    assert all(d["chunks"] >= 1 and d["uploaded"] for d in page["data"])
    assert by_name["pump.pdf"]["title"] == "Handmade PDF"

    pump = chat(client, "docs", "how do I start the pump")
    source = next(s for s in pump.json()["sources"] if s["title"] == "Handmade PDF")
    assert source["document"] == "pump.pdf" and source["page"] == 1 and source["uri"] == ""
    garden = chat(client, "docs", "how much sun for tomatoes").json()["sources"][0]
    assert garden["title"] == "Garden guide" and garden["section"] == "Tomatoes"
    kitchen = chat(client, "docs", "sharpening knives").json()["sources"][0]
    assert kitchen["title"] == "Kitchen notes" and kitchen["section"] == "Knives"
    for text in (response.text, json.dumps(job), json.dumps(page), pump.text):
        assert str(tmp_path) not in text  # never a server path

    # Uploading a file of the same name again replaces it.
    again = client.post(
        "/v1/knowledge_bases/docs/documents",
        files={"files": ("notes.txt", b"Rye bread needs a longer proof than wheat bread.\n")},
    )
    assert wait_job(client, again.json())["status"] == "done"
    page = client.get("/v1/knowledge_bases/docs/documents").json()
    assert page["total"] == 7
    assert "Rye" in chat(client, "docs", "rye bread proofing").json()["sources"][0]["snippet"]

    gone = client.delete(f"/v1/knowledge_bases/docs/documents/{by_name['pump.pdf']['id']}")
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    page = client.get("/v1/knowledge_bases/docs/documents").json()
    assert page["total"] == 6 and "pump.pdf" not in {d["name"] for d in page["data"]}
    assert "Handmade PDF" not in titles(chat(client, "docs", "start the pump"))
    again = client.delete(f"/v1/knowledge_bases/docs/documents/{by_name['pump.pdf']['id']}")
    assert again.status_code == 404
    assert titles(chat(client, "zoo")) <= {t for t, _ in ANIMALS}  # other bases untouched


def test_upload_limits_and_bad_files_get_clear_errors(kb_server) -> None:
    server = kb_server(ServerSettings(max_upload_bytes=5_000))
    client = server.client()
    url = "/v1/knowledge_bases/zoo/documents"

    def upload(name: str, data: bytes) -> httpx.Response:
        return client.post(url, files={"files": (name, data)})

    cases = [
        (upload("tool.exe", b"MZ\x90"), 415, "unsupported file type '.exe'"),
        (upload("README", b"text"), 415, "unsupported file type"),
        (upload("empty.txt", b""), 400, "empty.txt: the file is empty"),
        (upload("fake.pdf", b"hello"), 400, "fake.pdf: not a PDF"),
        (upload("bin.txt", b"ab\x00cd"), 400, "binary data"),
        (upload(".hidden.txt", b"x"), 400, "invalid file name"),
        (upload("big.txt", b"word " * 2_000), 413, "larger than"),
        (client.post(url, data={"x": "y"}), 415, "multipart/form-data, in the form field 'files'"),
        (client.post(url, json={"files": []}), 415, "multipart/form-data"),
        (client.post(url, files={"other": ("a.txt", b"x")}), 400, "files"),
    ]
    for response, status, fragment in cases:
        assert response.status_code == status, response.text
        assert fragment in response.json()["error"]["message"]
    # A file that passes the checks but cannot be read fails its job, naming the line.
    job = upload("broken.jsonl", b'{"text": "fine"}\n{not json\n').json()
    job = wait_job(client, job)
    assert job["status"] == "failed" and "broken.jsonl:2: not valid JSON" in job["error"]
    assert client.get("/v1/knowledge_bases/zoo").json()["documents"] == 5  # unchanged
    assert client.get("/v1/knowledge_bases/zoo/jobs/ingest-nope").status_code == 404


def test_permissions_per_key(kb_server) -> None:
    reader, writer, other = "pk-reader", "pk-writer", "pk-other"
    settings = ServerSettings(
        api_keys=[hash_key(k) for k in (reader, writer, other)],
        knowledge_base_access={
            hash_key(reader): KnowledgeBaseAccess(read=["shop"]),
            hash_key(writer): KnowledgeBaseAccess(read=["*"], write=["zoo", "new"]),
        },
    )
    server = kb_server(settings)
    as_reader, as_writer, as_other = (server.client(k) for k in (reader, writer, other))
    assert server.client().get("/v1/knowledge_bases").status_code == 401

    names = [b["name"] for b in as_reader.get("/v1/knowledge_bases").json()["data"]]
    assert names == ["shop"]
    assert titles(chat(as_reader, "shop")) <= {t for t, _ in MACHINES}
    for response in (
        chat(as_reader, "zoo"),
        chat(as_reader),  # the default base (zoo) is not theirs either
        as_reader.get("/v1/knowledge_bases/zoo/documents"),
        as_reader.post("/invocations", json={"inputs": "x", "knowledge_base": "zoo"}),
    ):
        assert response.status_code == 404, response.text
    denied = as_reader.post(
        "/v1/knowledge_bases/shop/documents", files={"files": ("a.txt", b"text")}
    )
    assert denied.status_code == 403
    assert "may not change knowledge base 'shop'" in denied.json()["error"]["message"]

    # Keys not listed read everything and write nothing.
    assert [b["name"] for b in as_other.get("/v1/knowledge_bases").json()["data"]] == [
        "zoo",
        "shop",
    ]
    doc = as_other.get("/v1/knowledge_bases/zoo/documents").json()["data"][0]
    assert as_other.delete(f"/v1/knowledge_bases/zoo/documents/{doc['id']}").status_code == 403

    listing = {
        b["name"]: b["writable"] for b in as_writer.get("/v1/knowledge_bases").json()["data"]
    }
    assert listing == {"zoo": True, "shop": False}
    job = as_writer.post("/v1/knowledge_bases/new/documents", files={"files": ("a.txt", b"Kiwi.")})
    assert job.status_code == 202 and wait_job(as_writer, job.json())["status"] == "done"
    assert (
        as_writer.post(
            "/v1/knowledge_bases/shop/documents", files={"files": ("a.txt", b"x")}
        ).status_code
        == 403
    )
    assert as_writer.delete(f"/v1/knowledge_bases/zoo/documents/{doc['id']}").status_code == 200
    assert as_reader.get("/v1/knowledge_bases/new").status_code == 404


def _serve_replica(data_dir: str, port: int) -> None:
    """One server process on the shared data dir (a replica)."""
    import uvicorn

    from parley.engines.formats import OpenChatKitFormat
    from parley.retrieval.embedder import Embedder
    from parley.server.app import create_app
    from parley.service import ChatService
    from tests.conftest import FakeEngine

    bases = KnowledgeBases(KB_SETTINGS, Path(data_dir), Embedder())
    retrieval = KnowledgeRetrieval(None, KB_SETTINGS, bases=bases)
    service = ChatService(FakeEngine(), OpenChatKitFormat(), None, retrieval=retrieval)
    app = create_app(service, ServerSettings())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def test_two_server_processes_share_one_data_dir(tmp_path: Path, embedder: Any) -> None:
    from parley.server.child import free_port

    data_dir = tmp_path / "data"
    make_bases(data_dir, embedder)
    ctx = mp.get_context("spawn")
    ports = [free_port(), free_port()]
    processes = []
    try:
        for port in ports:
            process = ctx.Process(target=_serve_replica, args=(str(data_dir), port))
            process.start()
            processes.append(process)
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=60) for p in ports]
        deadline = time.monotonic() + 120
        for client in clients:
            while True:
                try:
                    if client.get("/ping").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "a replica did not start"
                time.sleep(0.2)
        writer, other = clients
        assert "Cactus" not in titles(chat(other, "zoo", "desert plant storing water"))
        job = writer.post(
            "/v1/knowledge_bases/zoo/documents",
            files={"files": ("cactus.txt", b"Cacti are desert plants that store water.")},
        )
        assert wait_job(writer, job.json())["status"] == "done"
        # The other replica, never restarted, sees the new document on its next request.
        names = {d["name"] for d in other.get("/v1/knowledge_bases/zoo/documents").json()["data"]}
        assert "cactus.txt" in names
        sources = chat(other, "zoo", "desert plant storing water").json()["sources"]
        assert sources[0]["document"] == "cactus.txt"
    finally:
        for process in processes:
            process.terminate()
            process.join(timeout=20)
