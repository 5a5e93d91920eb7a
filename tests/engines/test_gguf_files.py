"""The Q8_0 copy of a Q4_1 GGUF: made once, the same model, skipped where it does not apply."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from parley.engines.gguf_files import Q4_1_FILE_TYPE, cpu_copy, gguf_metadata
from parley.engines.sources import resolve_source

Q8_0_FILE_TYPE = 7


@pytest.fixture(scope="module")
def copied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gguf-copies")
    source = resolve_source("smollm2-135m-instruct")
    return source.path, cpu_copy(source, root=root).path  # type: ignore[return-value]


def test_the_embedded_q4_1_default_gets_a_q8_0_copy_made_once(copied, tmp_path):
    original, copy = copied
    assert int(gguf_metadata(original)["general.file_type"]) == Q4_1_FILE_TYPE
    assert copy != original and copy.is_file()
    assert int(gguf_metadata(copy)["general.file_type"]) == Q8_0_FILE_TYPE
    made = copy.stat().st_mtime_ns
    again = cpu_copy(resolve_source("smollm2-135m-instruct"), root=copy.parent.parent)
    assert again.path == copy and copy.stat().st_mtime_ns == made
    assert not list(copy.parent.glob("*.partial"))


def test_the_copy_predicts_what_the_original_predicts(copied):
    from llama_cpp import Llama

    text = (
        "The Nile is a major north-flowing river in northeastern Africa. It flows into the "
        "Mediterranean Sea and is among the longest rivers in the world."
    )
    distributions = []
    for path in copied:
        model = Llama(str(path), n_ctx=256, logits_all=True, verbose=False, n_threads=1)
        tokens = model.tokenize(text.encode(), add_bos=False)
        model.eval(tokens)
        rows = []
        for logits in model.scores[: len(tokens)]:
            top = max(logits)
            weights = [math.exp(x - top) for x in logits]
            total = sum(weights)
            rows.append([w / total for w in weights])
        distributions.append(rows)
        del model
    original, copy = distributions
    kl = [
        sum(p * math.log(p / q) for p, q in zip(a, b, strict=True) if p > 1e-9)
        for a, b in zip(original, copy, strict=True)
    ]
    agree = sum(
        max(range(len(a)), key=a.__getitem__) == max(range(len(b)), key=b.__getitem__)
        for a, b in zip(original, copy, strict=True)
    )
    # Measured on 7,366 tokens: mean KL 0.007 nats; requantising to Q4_0 instead gives 0.35.
    assert sum(kl) / len(kl) < 0.05
    assert agree >= 0.85 * len(kl)


def test_other_files_are_served_as_they_are(copied, tmp_path):
    _, copy = copied
    source = resolve_source(str(copy))
    assert cpu_copy(source, root=tmp_path / "copies") == source
    assert not (tmp_path / "copies").exists()


def test_an_unwritable_cache_serves_the_original(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    source = resolve_source("smollm2-135m-instruct")
    assert cpu_copy(source, root=blocked) == source
    assert "serving the Q4_1 file" in caplog.text
