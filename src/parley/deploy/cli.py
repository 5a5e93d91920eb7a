"""`parley deploy`: DJL artifacts, the SageMaker endpoint lifecycle, the container's `serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from parley.cli_common import console, err_console, fail, settings_from

deploy_app = typer.Typer(
    help="Package and deploy to DJL Serving / SageMaker.", no_args_is_help=True
)

Region = Annotated[str | None, typer.Option(help="AWS region (default: AWS_DEFAULT_REGION).")]
EndpointUrl = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="Send AWS calls here instead of AWS (a local stand-in such as moto).",
    ),
]


@deploy_app.command("djl")
def djl(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="New folder to write; FOLDER.tar.gz beside it.")],
    model: Annotated[
        str | None, typer.Option(help="Model source (HF id, folder, GGUF); default: configured.")
    ] = None,
    s3url: Annotated[
        str | None, typer.Option(help="option.s3url: the model's weights in S3.")
    ] = None,
    tensor_parallel_degree: Annotated[
        int, typer.Option(min=1, max=64, help="GPUs to split the model over.")
    ] = 1,
    dtype: Annotated[str, typer.Option(help="fp16, bf16, fp32 or auto.")] = "fp16",
    streaming: Annotated[
        bool, typer.Option("--streaming/--no-streaming", help="option.enable_streaming.")
    ] = False,
    include_model: Annotated[
        bool,
        typer.Option(
            "--include-model/--no-include-model", help="Copy a local model into the artifact."
        ),
    ] = True,
    include_index: Annotated[
        bool,
        typer.Option("--include-index/--no-include-index", help="Pack the knowledge index."),
    ] = False,
    index_s3_url: Annotated[
        str | None,
        typer.Option(help="Fetch the index from S3 at start-up (one worker, others wait)."),
    ] = None,
    sessions: Annotated[
        str, typer.Option(help="Session store in the deployment: dynamodb, sqlite, postgres.")
    ] = "dynamodb",
) -> None:
    """Write a DJL Serving model folder (serving.properties, model.py, ...) and its tarball."""
    from parley.deploy.djl import DeployError, DjlOptions, write_djl_artifact

    if dtype not in ("fp16", "bf16", "fp32", "auto"):
        fail(f"--dtype must be fp16, bf16, fp32 or auto, got {dtype!r}")
    if sessions not in ("dynamodb", "sqlite", "postgres"):
        fail(f"--sessions must be dynamodb, sqlite or postgres, got {sessions!r}")
    options = DjlOptions(
        model=model,
        s3url=s3url,
        tensor_parallel_degree=tensor_parallel_degree,
        dtype=dtype,  # type: ignore[arg-type]  # checked above
        streaming=streaming,
        include_model=include_model,
        include_index=include_index,
        index_s3url=index_s3_url,
        sessions=sessions,  # type: ignore[arg-type]  # checked above
    )
    try:
        artifact = write_djl_artifact(settings_from(ctx), folder, options)
    except (DeployError, OSError) as exc:
        fail(str(exc))
    size = artifact.tarball.stat().st_size / 2**20
    console.print(f"wrote {artifact.folder}/ ({len(artifact.files)} files)")
    console.print(
        f"wrote {artifact.tarball} ({size:.1f} MiB): upload it with `parley deploy sagemaker`"
    )


@deploy_app.command("sagemaker")
def sagemaker(
    tarball: Annotated[Path, typer.Argument(help="The model.tar.gz from `parley deploy djl`.")],
    name: Annotated[str, typer.Option(help="Endpoint name (model and config are named after it).")],
    bucket: Annotated[str, typer.Option(help="S3 bucket for the model artifact.")],
    role: Annotated[str, typer.Option(help="SageMaker execution role ARN.")],
    image_uri: Annotated[str, typer.Option(help="Serving image (a DJL/LMI image URI).")],
    instance_type: Annotated[str, typer.Option(help="Instance type.")] = "ml.g5.12xlarge",
    instance_count: Annotated[int, typer.Option(min=1, help="Instances behind the endpoint.")] = 1,
    prefix: Annotated[str, typer.Option(help="S3 key prefix.")] = "parley",
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until the endpoint is in service.")
    ] = False,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Upload the artifact and create the SageMaker model, endpoint config and endpoint."""
    from parley.deploy.sagemaker import AwsTarget, EndpointSpec, SageMakerError, deploy

    spec = EndpointSpec(
        name=name,
        tarball=tarball,
        bucket=bucket,
        role_arn=role,
        image_uri=image_uri,
        instance_type=instance_type,
        instance_count=instance_count,
        prefix=prefix,
    )
    try:
        done = deploy(spec, AwsTarget(region, endpoint_url), wait=wait)
    except SageMakerError as exc:
        fail(str(exc))
    console.print(f"model data: {done.model_data_url}")
    console.print(f"model: {done.model}\nendpoint config: {done.endpoint_config}")
    console.print(f"endpoint: {done.endpoint} ({done.status})")


@deploy_app.command("invoke")
def invoke(
    endpoint: Annotated[str, typer.Argument(help="Endpoint name.")],
    message: Annotated[str, typer.Argument(help="The user's message.")],
    session_id: Annotated[str | None, typer.Option(help="Continue this conversation.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Generation parameter NAME=VALUE (JSON value)."),
    ] = None,
    no_retrieval: Annotated[
        bool, typer.Option("--no-retrieval", help="Answer without the knowledge base.")
    ] = False,
    stream: Annotated[
        bool, typer.Option("--stream/--no-stream", help="Print the reply as it is written.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole JSON answer.")] = False,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Send MESSAGE to the endpoint with the seed's payload; prints the reply and session id."""
    from parley.deploy.sagemaker import Answer, AwsTarget, SageMakerError, invoke, invoke_stream

    payload: dict[str, Any] = {"inputs": message, "parameters": _parameters(param or [])}
    if session_id:
        payload["session_id"] = session_id
    if no_retrieval:
        payload["no_retrieval"] = True
    target = AwsTarget(region, endpoint_url)
    try:
        if stream:
            answer = Answer("", session_id, {})
            for piece in invoke_stream(endpoint, payload, target, answer):
                typer.echo(piece, nl=False)
            typer.echo()
        else:
            answer = invoke(endpoint, payload, target)
            if as_json:
                typer.echo(json.dumps(answer.body, ensure_ascii=False))
                return
            typer.echo(answer.text)
    except SageMakerError as exc:
        fail(str(exc))
    err_console.print(f"session_id: {answer.session_id}", highlight=False)


def _parameters(items: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            fail(f"--param takes NAME=VALUE, got {item!r}")
        try:
            values[name.strip()] = json.loads(raw)
        except ValueError:
            values[name.strip()] = raw
    return values


@deploy_app.command("delete")
def delete(
    endpoint: Annotated[str, typer.Argument(help="Endpoint name.")],
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Delete the endpoint, its endpoint config and its models."""
    from parley.deploy.sagemaker import AwsTarget, SageMakerError, delete

    try:
        removed = delete(endpoint, AwsTarget(region, endpoint_url))
    except SageMakerError as exc:
        fail(str(exc))
    console.print(f"deleted endpoint {removed.endpoint}")
    if removed.endpoint_config:
        console.print(f"deleted endpoint config {removed.endpoint_config}")
    for model in removed.models:
        console.print(f"deleted model {model}")


@deploy_app.command("serve-container")
def serve_container(
    model_dir: Annotated[Path, typer.Option(help="Where SageMaker put the artifact.")] = Path(
        "/opt/ml/model"
    ),
) -> None:
    """The container's `serve`: Parley on 0.0.0.0:8080 with the artifact in MODEL_DIR.

    Inside SageMaker the endpoint is reached only through AWS's authenticated invoke API, so
    the server is bound to all addresses without API keys of its own."""
    from parley.config import ConfigError
    from parley.deploy.container import ContainerError, container_settings
    from parley.deploy.djl_handler import HandlerError

    try:
        settings = container_settings(model_dir)
    except (ContainerError, ConfigError, HandlerError) as exc:
        fail(str(exc))
    import uvicorn

    from parley.server.app import create_app
    from parley.wiring import build_service

    service = build_service(settings, progress=False)
    server = settings.server
    err_console.print(f"Parley (SageMaker container) on {server.host}:{server.port}")
    uvicorn.run(
        create_app(service, server), host=server.host, port=server.port, log_level="warning"
    )
