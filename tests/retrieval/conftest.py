"""Shared fixtures: the real embedder (loaded once) and tiny knowledge bases made on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley.retrieval.settings import RetrievalSettings

ANIMALS = [
    ("Cheetah", "The cheetah is the fastest land animal. It lives in Africa and hunts gazelles."),
    ("Penguin", "Penguins are flightless birds of the Southern Hemisphere that swim very well."),
    ("Honey bee", "Honey bees make honey and wax. They pollinate many crops and live in hives."),
    ("Blue whale", "The blue whale is the largest animal ever known. It eats krill in the ocean."),
    ("Owl", "Owls are birds of prey that hunt at night, with silent flight and keen hearing."),
]
MACHINES = [
    ("Steam engine", "A steam engine burns fuel to boil water; the steam pushes a piston."),
    ("Bicycle", "A bicycle has two wheels and pedals; the rider pushes the pedals to move."),
    ("Telescope", "A telescope gathers light with lenses or mirrors to see distant stars."),
    ("Gizmo XQ-7741", "The XQ-7741 valve regulator ships with part number XQ-7741 on its case."),
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def kb_files(tmp_path: Path) -> Path:
    """A folder with two JSON-lines files tagged by topic."""
    folder = tmp_path / "kb"
    folder.mkdir()
    write_jsonl(
        folder / "animals.jsonl",
        [{"title": t, "text": x, "topic": "animals", "id": t} for t, x in ANIMALS],
    )
    write_jsonl(
        folder / "machines.jsonl",
        [{"title": t, "text": x, "topic": "machines", "id": t} for t, x in MACHINES],
    )
    return folder


@pytest.fixture
def settings() -> RetrievalSettings:
    return RetrievalSettings(chunk_tokens=64, chunk_overlap=8)


def make_pdf(path: Path, text: str) -> Path:
    """A minimal one-page PDF with `text` in Helvetica, written by hand (no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (Handmade PDF) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path
