"""The SageMaker lifecycle against a local moto server, and streaming invocations through a
stand-in of SageMaker's runtime (AWS event-stream framing) in front of a real Parley server."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from parley.cli import app
from parley.deploy.djl import DjlArtifact
from parley.deploy.sagemaker import Answer, AwsTarget, SageMakerError, delete, invoke_stream
from parley.engines.formats import OpenChatKitFormat
from parley.server.settings import ServerSettings
from parley.service import ChatService
from parley.sessions.sqlite_store import SQLiteSessionStore
from tests.conftest import FakeEngine
from tests.server.conftest import start_server

ROLE = "arn:aws:iam::123456789012:role/parley-sagemaker"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124"
runner = CliRunner()


def _aws(moto_endpoint: str, service: str):  # type: ignore[no-untyped-def]
    return boto3.client(service, endpoint_url=moto_endpoint, region_name="us-east-1")


def test_deploy_invoke_delete(moto_endpoint: str, djl_artifact: DjlArtifact) -> None:
    s3 = _aws(moto_endpoint, "s3")
    s3.create_bucket(Bucket="parley-models")
    aws = ["--endpoint-url", moto_endpoint, "--region", "us-east-1"]
    created = runner.invoke(
        app,
        [
            "deploy", "sagemaker", str(djl_artifact.tarball), "--name", "parley-chat",
            "--bucket", "parley-models", "--role", ROLE, "--image-uri", IMAGE,
            # moto's list of instance types predates the g5 family (the seed's ml.g5.12xlarge)
            "--instance-type", "ml.g4dn.12xlarge", *aws,
        ],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    uploaded = s3.head_object(Bucket="parley-models", Key="parley/parley-chat/model.tar.gz")
    assert uploaded["ContentLength"] == djl_artifact.tarball.stat().st_size

    sagemaker = _aws(moto_endpoint, "sagemaker")
    model = sagemaker.describe_model(ModelName="parley-chat-model")
    assert model["PrimaryContainer"]["Image"] == IMAGE
    assert model["PrimaryContainer"]["ModelDataUrl"] == (
        "s3://parley-models/parley/parley-chat/model.tar.gz"
    )
    assert model["ExecutionRoleArn"] == ROLE
    config = sagemaker.describe_endpoint_config(EndpointConfigName="parley-chat-config")
    (variant,) = config["ProductionVariants"]
    assert variant["ModelName"] == "parley-chat-model"
    assert variant["InstanceType"] == "ml.g4dn.12xlarge"
    assert variant["InitialInstanceCount"] == 1
    endpoint = sagemaker.describe_endpoint(EndpointName="parley-chat")
    assert endpoint["EndpointConfigName"] == "parley-chat-config"

    # moto cannot run a model: its runtime answers what it is told to, which is what the
    # model.py tests produce for real; here the client side (payload, session id) is checked.
    canned = {"outputs": "It is 31 metres tall.", "session_id": "7f0c", "sources": []}
    httpx.post(
        f"{moto_endpoint}/moto-api/static/sagemaker/endpoint-results",
        json={"results": [{"Body": json.dumps(canned), "ContentType": "application/json"}]},
    ).raise_for_status()
    asked = runner.invoke(app, ["deploy", "invoke", "parley-chat", "How tall is it?", *aws])
    assert asked.exit_code == 0, asked.output
    assert "It is 31 metres tall." in asked.stdout
    assert "session_id: 7f0c" in asked.output

    removed = runner.invoke(app, ["deploy", "delete", "parley-chat", *aws])
    assert removed.exit_code == 0, removed.output
    for call, kwargs in [
        (sagemaker.describe_endpoint, {"EndpointName": "parley-chat"}),
        (sagemaker.describe_endpoint_config, {"EndpointConfigName": "parley-chat-config"}),
        (sagemaker.describe_model, {"ModelName": "parley-chat-model"}),
    ]:
        with pytest.raises(ClientError):
            call(**kwargs)


def test_clear_errors(moto_endpoint: str, djl_artifact: DjlArtifact, tmp_path: Path) -> None:
    aws = ["--endpoint-url", moto_endpoint, "--region", "us-east-1"]
    missing_bucket = runner.invoke(
        app,
        [
            "deploy", "sagemaker", str(djl_artifact.tarball), "--name", "other",
            "--bucket", "no-such-bucket", "--role", ROLE, "--image-uri", IMAGE, *aws,
        ],
    )  # fmt: skip
    assert missing_bucket.exit_code == 2
    assert "uploading" in missing_bucket.output and "no-such-bucket" in missing_bucket.output
    bad_name = runner.invoke(
        app,
        [
            "deploy", "sagemaker", str(djl_artifact.tarball), "--name", "no_underscores",
            "--bucket", "b", "--role", ROLE, "--image-uri", IMAGE, *aws,
        ],
    )  # fmt: skip
    assert bad_name.exit_code == 2 and "endpoint name" in bad_name.output
    with pytest.raises(SageMakerError, match="describing the endpoint ghost"):
        delete("ghost", AwsTarget("us-east-1", moto_endpoint))


def test_missing_credentials_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, djl_artifact: DjlArtifact
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = runner.invoke(
        app, ["deploy", "delete", "parley-chat", "--region", "us-east-1",
              "--endpoint-url", "http://127.0.0.1:9"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no AWS credentials" in result.output


# -- streaming: SageMaker's runtime framing in front of a real Parley server ---------------------


def _event(payload: bytes) -> bytes:
    """One AWS event-stream message carrying a PayloadPart (the framing boto3 parses)."""
    headers = b""
    for name, value in (
        (":event-type", "PayloadPart"),
        (":message-type", "event"),
        (":content-type", "application/octet-stream"),
    ):
        encoded = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(encoded))
        headers += encoded
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


class _RuntimeStandIn(BaseHTTPRequestHandler):
    parley_url = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.path.endswith("/invocations-response-stream"), self.path
        with httpx.stream(
            "POST",
            f"{self.parley_url}/invocations",
            content=body,
            headers={"Content-Type": "application/json", "Accept": "application/jsonlines"},
        ) as upstream:
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", "application/vnd.amazon.eventstream")
            self.send_header("X-Amzn-Invoked-Production-Variant", "AllTraffic")
            attributes = upstream.headers.get("X-Amzn-SageMaker-Custom-Attributes")
            if attributes:
                self.send_header("X-Amzn-SageMaker-Custom-Attributes", attributes)
            self.end_headers()
            # Re-cut the bytes so payload parts do not line up with JSON lines, as on AWS.
            for chunk in upstream.iter_bytes(7):
                self.wfile.write(_event(chunk))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def runtime_endpoint(tmp_path: Path) -> Iterator[tuple[str, FakeEngine]]:
    engine = FakeEngine()
    service = ChatService(engine, OpenChatKitFormat(), SQLiteSessionStore(tmp_path / "s.db"))
    server, url = start_server(service, ServerSettings())
    handler = type("Handler", (_RuntimeStandIn,), {"parley_url": url})
    runtime = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=runtime.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{runtime.server_port}", engine
    runtime.shutdown()
    server.should_exit = True


def test_streamed_invocation_keeps_the_session(
    runtime_endpoint: tuple[str, FakeEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = runtime_endpoint
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    target = AwsTarget("us-east-1", url)
    engine.queue("The lighthouse ", "is 31 metres ", "tall.")
    first = Answer("", None, {})
    pieces = list(invoke_stream("parley-chat", {"inputs": "How tall?"}, target, first))
    assert "".join(pieces) == "The lighthouse is 31 metres tall."
    assert first.text == "The lighthouse is 31 metres tall."
    assert first.session_id

    engine.queue("In 1871.")
    result = runner.invoke(
        app,
        ["deploy", "invoke", "parley-chat", "When was it built?", "--stream",
         "--session-id", first.session_id, "--endpoint-url", url, "--region", "us-east-1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "In 1871." in result.stdout
    assert f"session_id: {first.session_id}" in result.output
    # The second prompt carried the first exchange: the session continued.
    assert "The lighthouse is 31 metres tall." in engine.prompts[-1]
