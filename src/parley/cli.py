"""The `parley` command."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from parley.cli_common import command_group, console, err_console, fail, settings_from
from parley.config import ConfigError, Settings, load_settings

app = command_group(
    "Parley: self-hosted chatbots with retrieval, moderation and sessions.",
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = command_group("Inspect the configuration.")
app.add_typer(config_app, name="config")
eval_app = command_group("Measure quality on labelled data.")
app.add_typer(eval_app, name="eval")


def _mount_components() -> None:
    # Each component brings its own commands, through the same Typer interface.
    from parley.deploy.cli import deploy_app
    from parley.evaluation.cli import eval_answers
    from parley.finetune.cli import finetune_app
    from parley.moderation.cli import moderate, moderation_app
    from parley.retrieval.cli import eval_retrieval, index_app
    from parley.sessions.cli import sessions_app

    app.add_typer(index_app, name="index")
    app.add_typer(finetune_app, name="finetune")
    app.add_typer(sessions_app, name="sessions")
    app.add_typer(moderation_app, name="moderation")
    app.add_typer(deploy_app, name="deploy")
    app.command("moderate")(moderate)
    eval_app.command("retrieval")(eval_retrieval)
    eval_app.command("answers")(eval_answers)


_mount_components()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file (default: $PARLEY_CONFIG or ./parley.toml)."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs.")] = False,
) -> None:
    """Parley's commands share one configuration: file, then PARLEY_* variables, then flags."""
    _quiet_libraries()
    # Parley's own notices only: libraries' loggers (some log at DEBUG by default) stay quiet.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(levelname)s: %(message)s" if verbose else "notice: %(message)s")
    )
    parley_log = logging.getLogger("parley")
    parley_log.handlers[:] = [handler]
    parley_log.setLevel(logging.DEBUG if verbose else logging.INFO)
    parley_log.propagate = False
    ctx.obj = {"config_file": config}


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
) -> None:
    """Print the effective configuration (file + environment)."""
    settings = settings_from(ctx)
    data = settings.model_dump(mode="json")
    if as_json:
        console.print_json(json.dumps(data))
        return
    import tomli_w

    typer.echo(tomli_w.dumps(_drop_nulls(data)), nl=False)


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the settings: every setting with its type, default and doc."""
    from parley.config import Settings

    console.print_json(json.dumps(Settings.model_json_schema()))


def _drop_nulls(value: Any) -> Any:
    # TOML has no null: an unset optional setting is simply absent.
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def _parse_gpu_memory(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    caps: dict[str, str] = {}
    for value in values:
        gpu, sep, gib = value.partition(":")
        if not sep or not gpu.strip().isdigit():
            fail(f"--gpu-memory expects ID:GiB like 0:10, got {value!r}")
        try:
            caps[gpu.strip()] = f"{float(gib)}GiB"
        except ValueError:
            fail(f"--gpu-memory expects ID:GiB like 0:10, got {value!r}")
    return caps


@app.command()
def chat(
    ctx: typer.Context,
    message: Annotated[
        str | None,
        typer.Option("--message", "-m", help="Answer this one message and exit ('-' reads stdin)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model: embedded name, HF id, folder or .gguf file.")
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="auto, llama.cpp, llama-server, transformers or openai.")
    ] = None,
    prompt_format: Annotated[
        str | None, typer.Option("--format", help="auto, openchatkit or chat-template.")
    ] = None,
    system: Annotated[
        str | None, typer.Option(help="System prompt (chat-template format).")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Most tokens per reply.")] = None,
    temperature: Annotated[float | None, typer.Option(help="0 for greedy decoding.")] = None,
    top_k: Annotated[int | None, typer.Option(help="Top-k sampling; 0 turns it off.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Nucleus sampling probability.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed for reproducible replies.")] = None,
    stream: Annotated[bool, typer.Option("--stream/--no-stream", help="Stream replies.")] = True,
    retrieval: Annotated[
        bool | None,
        typer.Option("--retrieval/--no-retrieval", help="Ground answers in the knowledge base."),
    ] = None,
    moderation: Annotated[
        bool | None,
        typer.Option(
            "--moderation/--no-moderation",
            help="Moderate messages and replies (default: on, the configured moderator).",
        ),
    ] = None,
    dtype: Annotated[
        str | None, typer.Option(help="transformers dtype: auto, float32, bfloat16, float16.")
    ] = None,
    device_map: Annotated[
        str | None, typer.Option(help="transformers device_map, e.g. auto.")
    ] = None,
    gpu_memory: Annotated[
        list[str] | None, typer.Option("--gpu-memory", "-g", help="GPU memory cap ID:GiB (repeat).")
    ] = None,
    cpu_memory: Annotated[
        float | None, typer.Option("--cpu-memory", "-r", help="CPU memory cap in GiB for offload.")
    ] = None,
    load_in: Annotated[str | None, typer.Option(help="8bit or 4bit (needs a GPU).")] = None,
    kb: Annotated[
        str | None,
        typer.Option("--kb", help="Knowledge base to search (see `parley index list`)."),
    ] = None,
) -> None:
    """Chat with the model in the terminal (the embedded default with no flags)."""
    overrides: dict[str, Any] = {
        "model": {
            "source": model,
            "engine": engine,
            "format": prompt_format,
            "system_prompt": system,
            "dtype": dtype,
            "device_map": device_map,
            "gpu_memory": _parse_gpu_memory(gpu_memory),
            "cpu_memory": f"{cpu_memory}GiB" if cpu_memory is not None else None,
            "load_in": load_in,
        },
        "retrieval": {"enabled": retrieval, "index_name": kb},
        "moderation": {"moderator": "none" if moderation is False else None},
        "generation": {
            "max_new_tokens": max_tokens,
            "temperature": temperature,
            "top_k": top_k,
            "top_p": top_p,
            "seed": seed,
        },
    }
    if gpu_memory and not device_map:
        overrides["model"]["device_map"] = "auto"
    try:
        settings = load_settings(ctx.obj.get("config_file"), overrides)
    except ConfigError as exc:
        fail(str(exc))
    if kb is not None:
        _require_base(settings, kb)
    if message == "-":
        message = sys.stdin.read()
    if message is not None and not message.strip():
        fail("the message is empty")
    _run_chat(settings, message, stream)


def _require_base(settings: Settings, name: str) -> None:
    """Fails clearly for `--kb NAME` when there is no such base (instead of building one)."""
    from parley.retrieval.bases import KnowledgeBases
    from parley.retrieval.errors import RetrievalError

    try:
        bases = KnowledgeBases(settings.retrieval, settings.data_dir)
        exists = bases.exists(name)
    except RetrievalError as exc:
        fail(str(exc))
    if not exists:
        known = ", ".join(bases.names()) or "none yet"
        fail(
            f"no knowledge base {name!r} in {bases.root} (there are: {known}); build it with "
            f"`parley index build {name} FILES...`"
        )


def _run_chat(settings: Settings, message: str | None, stream: bool) -> None:
    from parley.chat.terminal import TerminalChat, line_reader
    from parley.embedded import EmbeddedAssetMissing
    from parley.engines.base import EngineError
    from parley.engines.sources import ModelSourceError
    from parley.wiring import build_service

    # A plain line, not a spinner: building the index or the moderation head shows its own
    # progress bar, and Rich allows one live display at a time.
    err_console.print(f"[dim]loading {settings.model.source} ...[/]")
    try:
        service = build_service(settings, sessions=False)
    except (ModelSourceError, EngineError, EmbeddedAssetMissing) as exc:
        fail(str(exc))
    except (OSError, ValueError, RuntimeError) as exc:
        fail(f"could not start the chat: {exc}")
    read_line = input if message is not None else line_reader(settings.data_dir / "chat_history")
    terminal = TerminalChat(service, stream=stream, read_line=read_line)
    try:
        if message is not None:
            terminal.console = err_console  # stdout carries only the answer
            terminal.handle(message)
        else:
            terminal.run()
    finally:
        service.close()


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080).")] = None,
    model: Annotated[str | None, typer.Option(help="Chat model source.")] = None,
    engine: Annotated[
        str | None, typer.Option(help="auto, llama-server, llama.cpp, transformers or openai.")
    ] = None,
    kb: Annotated[
        str | None,
        typer.Option("--kb", help="Default knowledge base (every base in the data dir is served)."),
    ] = None,
) -> None:
    """Run the HTTP server: web chat, SageMaker contract, OpenAI API, sessions, knowledge
    bases, metrics. Requests choose a base with `knowledge_base`; the default is `--kb`."""
    overrides = {
        "server": {"host": host, "port": port},
        "model": {"source": model, "engine": engine},
        "retrieval": {"index_name": kb},
    }
    try:
        settings = load_settings(ctx.obj.get("config_file"), overrides)
    except ConfigError as exc:
        fail(str(exc))
    if kb is not None:
        _require_base(settings, kb)
    from parley.server.auth import is_loopback

    server = settings.server
    if not server.api_keys and not is_loopback(server.host):
        fail(
            f"refusing to serve on {server.host} without API keys: set server.api_keys "
            "(hashes from `parley keys new`) or bind 127.0.0.1"
        )
    import uvicorn

    from parley.server.app import create_app
    from parley.server.serving import uvicorn_config
    from parley.wiring import build_service

    try:
        service = build_service(settings)
    except (OSError, ValueError, RuntimeError) as exc:
        fail(str(exc))
    if not server.api_keys:
        err_console.print(
            f"[yellow]no API keys configured: the server is open to anyone on this machine "
            f"(bound to {server.host} only)[/]"
        )
    err_console.print(f"Parley on http://{server.host}:{server.port}/ (Ctrl-C stops it)")
    uvicorn.Server(uvicorn_config(create_app(service, server), server)).run()


keys_app = command_group("API keys for the server.")
app.add_typer(keys_app, name="keys")


@keys_app.command("new")
def keys_new() -> None:
    """Print a new random API key and the hash to put in server.api_keys."""
    from parley.server.auth import hash_key, new_key

    key = new_key()
    typer.echo(f"key:  {key}\nhash: {hash_key(key)}")


@keys_app.command("hash")
def keys_hash(key: Annotated[str, typer.Argument(help="The key to hash.")]) -> None:
    """Print the `sha256:` form of KEY for server.api_keys."""
    from parley.server.auth import hash_key

    typer.echo(hash_key(key))


def _quiet_libraries() -> None:
    # Set before transformers is imported (a llama.cpp chat never imports it). Local weights
    # load in well under a second, so transformers' "Loading weights" bar is only noise.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main() -> None:
    """Entry point of the `parley` console script."""
    app()


if __name__ == "__main__":
    main()
