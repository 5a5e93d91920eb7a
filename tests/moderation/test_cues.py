import json
from itertools import pairwise

import typer
from typer.testing import CliRunner

from parley.moderation.cli import moderation_app
from parley.moderation.cues import label_cues
from parley.moderation.data import Example
from parley.moderation.labels import Label

HARM = Label.NEEDS_INTERVENTION
CASUAL = Label.CASUAL

app = typer.Typer()
app.add_typer(moderation_app, name="moderation")


def examples() -> list[Example]:
    # "zorblax" only in harmful texts, "teapot" in both, "kettle" only twice.
    harmful = [Example(f"hurt the zorblax people number {i}", HARM) for i in range(9)]
    harmful += [Example(f"break the teapot {i}", HARM) for i in range(5)]
    casual = [Example(f"Bot: polish the teapot nicely {i}", CASUAL) for i in range(5)]
    casual += [Example("boil the kettle", CASUAL), Example("fill the kettle", CASUAL)]
    return harmful + casual


def test_cues_are_ngrams_found_almost_only_with_one_label():
    cues = {c.ngram: c for c in label_cues(examples(), min_texts=5, min_share=0.85)}
    assert cues["zorblax"].label is HARM
    assert cues["zorblax"].texts == 9 and cues["zorblax"].label_share == 1.0
    assert cues["the zorblax"].label is HARM  # bigrams too
    assert "teapot" not in cues  # 5 harmful, 5 casual
    assert "kettle" not in cues  # under min_texts
    assert "bot" not in cues  # the reply marker is not a word of the text
    assert cues["polish"].label is CASUAL
    assert list(cues) == sorted(cues, key=lambda n: (-cues[n].texts, -cues[n].label_share, n))


def test_share_and_count_thresholds():
    words = ["hurt", "the", "zorblax", "people", "number"]
    template = {*words, *(f"{a} {b}" for a, b in pairwise(words))} - {"the"}
    assert {c.ngram for c in label_cues(examples(), min_texts=9)} == template
    teapot = {c.ngram: c for c in label_cues(examples(), min_texts=5, min_share=0.5)}["teapot"]
    assert teapot.texts == 10 and teapot.label_share == 0.5
    assert label_cues(examples(), min_texts=100) == []
    assert label_cues([]) == []


def test_cli_lists_cues_of_a_file_and_of_a_shipped_part(tmp_path):
    data = tmp_path / "data[red].jsonl"  # a file name is not Rich markup
    data.write_text(
        "".join(json.dumps({"text": e.text, "label": e.label.value}) + "\n" for e in examples()),
        encoding="utf-8",
    )
    out = CliRunner().invoke(
        app,
        ["moderation", "cues", str(data), "--min-texts", "5", "--label", "needs_intervention"],
    )
    assert out.exit_code == 0, out.output
    assert "zorblax" in out.output and "polish" not in out.output
    assert "data[red].jsonl" in out.output
    out = CliRunner().invoke(app, ["moderation", "cues", "train", "--top", "5", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert len(rows) == 5 and all(r["label_share"] >= 0.85 and r["texts"] >= 8 for r in rows)


def test_cli_rejects_bad_input_clearly(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi"}\n', encoding="utf-8")
    for args, expected in [
        ([str(bad)], "bad.jsonl:1"),
        ([str(tmp_path / "missing.jsonl")], "no such file"),
        (["train", "--label", "spicy"], "unknown moderation label"),
        (["train", "--min-share", "1.5"], "--min-share"),
    ]:
        out = CliRunner().invoke(app, ["moderation", "cues", *args])
        assert out.exit_code == 2, out.output
        assert expected in out.output
