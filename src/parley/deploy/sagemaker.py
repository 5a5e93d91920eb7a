"""The SageMaker endpoint lifecycle through boto3: upload, create, invoke, delete.

The seed's notebook steps as commands: the model tarball to S3, a SageMaker model, an endpoint
config (one production variant) and an endpoint; invocations with the seed's payload, streamed
or not; and the clean-up that removes endpoint, config and model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SESSION_ATTRIBUTE = re.compile(r"session_id=([^;,\s]+)")
NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class SageMakerError(RuntimeError):
    """An AWS call failed; the message says which and what to check."""


@dataclass(frozen=True)
class AwsTarget:
    """Where the AWS calls go: a region, and an endpoint override for local stand-ins."""

    region: str | None = None
    endpoint_url: str | None = None

    def client(self, service: str) -> Any:
        import boto3

        # A new session per client: boto3's default session caches the credentials it found
        # first, so a changed environment would otherwise go unnoticed.
        session = boto3.session.Session(region_name=self.region)
        return session.client(service, endpoint_url=self.endpoint_url)


@dataclass
class EndpointSpec:
    """What `parley deploy sagemaker` creates."""

    name: str
    tarball: Path
    bucket: str
    role_arn: str
    image_uri: str
    instance_type: str = "ml.g5.12xlarge"
    instance_count: int = 1
    prefix: str = "parley"
    environment: dict[str, str] = field(default_factory=dict)
    startup_timeout_s: int = 900


@dataclass
class Deployment:
    endpoint: str
    endpoint_config: str
    model: str
    model_data_url: str
    status: str


def deploy(spec: EndpointSpec, target: AwsTarget, *, wait: bool = False) -> Deployment:
    """Upload the tarball, then create the model, the endpoint config and the endpoint."""
    if not NAME.match(spec.name):
        raise SageMakerError(
            f"endpoint name {spec.name!r}: use letters, digits and hyphens, at most 63"
        )
    if not spec.tarball.is_file():
        raise SageMakerError(f"{spec.tarball} is not a file (make it with `parley deploy djl`)")
    key = f"{spec.prefix.strip('/')}/{spec.name}/model.tar.gz"
    model_data_url = f"s3://{spec.bucket}/{key}"
    with _aws_call(f"uploading {spec.tarball} to {model_data_url}"):
        target.client("s3").upload_file(str(spec.tarball), spec.bucket, key)
    sagemaker = target.client("sagemaker")
    model_name, config_name = f"{spec.name}-model", f"{spec.name}-config"
    with _aws_call(f"creating the SageMaker model {model_name}"):
        sagemaker.create_model(
            ModelName=model_name,
            ExecutionRoleArn=spec.role_arn,
            PrimaryContainer={
                "Image": spec.image_uri,
                "ModelDataUrl": model_data_url,
                "Environment": spec.environment,
            },
        )
    with _aws_call(f"creating the endpoint config {config_name}"):
        sagemaker.create_endpoint_config(
            EndpointConfigName=config_name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model_name,
                    "InstanceType": spec.instance_type,
                    "InitialInstanceCount": spec.instance_count,
                    "ContainerStartupHealthCheckTimeoutInSeconds": spec.startup_timeout_s,
                }
            ],
        )
    with _aws_call(f"creating the endpoint {spec.name}"):
        sagemaker.create_endpoint(EndpointName=spec.name, EndpointConfigName=config_name)
    if wait:
        with _aws_call(f"waiting for the endpoint {spec.name} to be in service"):
            sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=spec.name)
    with _aws_call(f"describing the endpoint {spec.name}"):
        status = sagemaker.describe_endpoint(EndpointName=spec.name)["EndpointStatus"]
    return Deployment(spec.name, config_name, model_name, model_data_url, status)


@dataclass
class Removed:
    endpoint: str
    endpoint_config: str | None
    models: list[str]


def delete(endpoint: str, target: AwsTarget) -> Removed:
    """Remove the endpoint, its config and the models the config serves (the seed's clean-up)."""
    sagemaker = target.client("sagemaker")
    with _aws_call(f"describing the endpoint {endpoint}"):
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    config_name = described.get("EndpointConfigName")
    models: list[str] = []
    if config_name:
        with _aws_call(f"describing the endpoint config {config_name}"):
            config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        models = [v["ModelName"] for v in config.get("ProductionVariants", [])]
    with _aws_call(f"deleting the endpoint {endpoint}"):
        sagemaker.delete_endpoint(EndpointName=endpoint)
    if config_name:
        with _aws_call(f"deleting the endpoint config {config_name}"):
            sagemaker.delete_endpoint_config(EndpointConfigName=config_name)
    for model in models:
        with _aws_call(f"deleting the model {model}"):
            sagemaker.delete_model(ModelName=model)
    return Removed(endpoint, config_name, models)


@dataclass
class Answer:
    text: str
    session_id: str | None
    body: dict[str, Any]


def invoke(
    endpoint: str,
    payload: dict[str, Any],
    target: AwsTarget,
) -> Answer:
    """One request with the seed's payload; the session id comes back for the next turn."""
    runtime = target.client("sagemaker-runtime")
    with _aws_call(f"invoking the endpoint {endpoint}"):
        response = runtime.invoke_endpoint(
            EndpointName=endpoint,
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps(payload).encode("utf-8"),
        )
        raw = response["Body"].read()
    try:
        body = json.loads(raw)
    except ValueError:
        raise SageMakerError(
            f"the endpoint answered something that is not JSON: {raw[:200]!r}"
        ) from None
    if not isinstance(body, dict):
        raise SageMakerError(f"the endpoint answered {type(body).__name__}, not an object")
    session = body.get("session_id") or _session_from(response.get("CustomAttributes"))
    return Answer(str(body.get("outputs", "")), session, body)


def invoke_stream(
    endpoint: str, payload: dict[str, Any], target: AwsTarget, answer: Answer
) -> Iterator[str]:
    """Stream a reply piece by piece (`invoke_endpoint_with_response_stream`); `answer` is
    filled in as the stream goes (session id from the header or the closing line)."""
    runtime = target.client("sagemaker-runtime")
    with _aws_call(f"invoking the endpoint {endpoint} (streaming)"):
        response = runtime.invoke_endpoint_with_response_stream(
            EndpointName=endpoint,
            ContentType="application/json",
            Accept="application/jsonlines",
            Body=json.dumps(payload).encode("utf-8"),
        )
    answer.session_id = _session_from(response.get("CustomAttributes"))
    buffer = b""
    with _aws_call(f"reading the stream of {endpoint}"):
        for event in response["Body"]:
            if "PayloadPart" not in event:
                error = event.get("ModelStreamError") or event.get("InternalStreamFailure")
                raise SageMakerError(f"the endpoint's stream failed: {error}")
            buffer += event["PayloadPart"]["Bytes"]
            # Payload parts are not aligned with lines: split only on complete lines.
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield from _pieces(line, answer)
        if buffer.strip():
            yield from _pieces(buffer, answer)


def _pieces(line: bytes, answer: Answer) -> Iterator[str]:
    if not line.strip():
        return
    try:
        item = json.loads(line)
    except ValueError:
        raise SageMakerError(f"a stream line is not JSON: {line[:200]!r}") from None
    if "replace" in item:
        answer.text = str(item["replace"])
        yield "\n[withdrawn by moderation] " + answer.text
    if item.get("error"):
        raise SageMakerError(f"the endpoint stopped: {item['error']}")
    for piece in item.get("outputs", []):
        answer.text += piece
        yield piece
    if item.get("session_id"):
        answer.session_id = item["session_id"]
        answer.body = item


def _session_from(attributes: str | None) -> str | None:
    if not attributes:
        return None
    match = SESSION_ATTRIBUTE.search(attributes)
    return match.group(1) if match else None


@contextmanager
def _aws_call(step: str) -> Iterator[None]:
    """Turns boto3's errors into one clear line naming the step and what to check."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    try:
        yield
    except NoCredentialsError:
        raise SageMakerError(
            f"{step}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run on a machine with a role"
        ) from None
    except NoRegionError:
        raise SageMakerError(
            f"{step}: no AWS region; pass --region or set AWS_DEFAULT_REGION"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", str(exc))
        hint = ""
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            hint = " (the credentials lack a permission this step needs)"
        raise SageMakerError(f"{step}: {code}: {message}{hint}") from None
    except (BotoCoreError, S3UploadFailedError) as exc:
        raise SageMakerError(f"{step}: {exc}") from None
