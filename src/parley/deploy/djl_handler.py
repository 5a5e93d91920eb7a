"""The DJL Serving handler behind the `model.py` that `parley deploy djl` writes.

DJL's Python engine imports `model.py` and calls `handle(inputs)` for every request, the first
time with the model's properties and no content (the load call). This module builds Parley's
`ChatService` once, on that first call, from the packaged `parley.toml` and the
`serving.properties` options, and answers the seed's payload through the same pipeline as the
HTTP server. It never imports `djl_python` itself: `model.py` passes DJL's `Output` class in,
so the handler runs (and is tested) outside DJL's runtime too.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from parley.config import Settings, load_settings
from parley.invocations import (
    SESSION_HEADER,
    error_line,
    jsonline,
    reply_body,
    session_attribute,
)
from parley.server.errors import STATUS_OF_KIND
from parley.service import ChatEvent, ChatRequest, ChatService, ServiceError, Started

log = logging.getLogger("parley")

SETTINGS_FILE = "parley.toml"
PACKED_MODEL_DIR = "model"
PACKED_DATA_DIR = "data"
DTYPES = {
    "fp16": "float16",
    "float16": "float16",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp32": "float32",
    "float32": "float32",
    "auto": "auto",
}


class DjlInput(Protocol):
    """What the handler reads of `djl_python.Input`."""

    def get_properties(self) -> dict[str, str]: ...

    def is_empty(self) -> bool: ...

    def get_as_json(self, key: str | None = None) -> Any: ...


class DjlOutput(Protocol):
    """What the handler writes through `djl_python.Output`."""

    def add_property(self, key: str, val: str) -> Any: ...

    def add_as_json(self, val: Any, key: str | None = None) -> Any: ...

    def add_stream_content(self, stream_content: Iterator[bytes]) -> Any: ...

    def error(self, error: str, code: int = 424, message: str = "prediction failure") -> Any: ...


class DjlOutputFactory(Protocol):
    def __call__(self) -> DjlOutput: ...


class HandlerError(Exception):
    """A request answered with an error output; `code` is the status DJL returns."""

    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ServingOptions:
    """The `serving.properties` options the handler reads (with or without `option.`)."""

    model_dir: Path
    model_id: str | None = None
    s3url: str | None = None
    tensor_parallel_degree: int = 1
    dtype: str = "auto"
    enable_streaming: bool = False
    index_s3url: str | None = None
    data_dir: Path | None = None

    @classmethod
    def from_properties(cls, properties: Mapping[str, str]) -> ServingOptions:
        props = {key.removeprefix("option."): value for key, value in properties.items()}
        if "model_dir" not in props:
            raise HandlerError("the DJL properties carry no model_dir", code=500)
        try:
            degree = int(props.get("tensor_parallel_degree", "1") or "1")
        except ValueError:
            raise HandlerError(
                f"tensor_parallel_degree must be a whole number, got "
                f"{props['tensor_parallel_degree']!r}",
                code=500,
            ) from None
        dtype = props.get("dtype", "auto").lower()
        if dtype not in DTYPES:
            raise HandlerError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}", code=500)
        return cls(
            model_dir=Path(props["model_dir"]),
            model_id=props.get("model_id") or None,
            s3url=props.get("s3url") or None,
            tensor_parallel_degree=max(degree, 1),
            dtype=DTYPES[dtype],
            enable_streaming=props.get("enable_streaming", "false").lower() in ("true", "1"),
            index_s3url=props.get("index_s3url") or None,
            data_dir=Path(props["data_dir"]) if props.get("data_dir") else None,
        )


def settings_for(options: ServingOptions) -> Settings:
    """The packaged settings with what `serving.properties` decides on top."""
    config = options.model_dir / SETTINGS_FILE
    overrides: dict[str, Any] = {"data_dir": str(_data_dir(options))}
    model: dict[str, Any] = {}
    source = _model_source(options)
    if source is not None:
        model["source"] = source
    if options.dtype != "auto":
        model["dtype"] = options.dtype
    gpu_memory = _gpu_split(options.tensor_parallel_degree)
    if gpu_memory:
        # DJL's tensor_parallel_degree: the model is split over that many GPUs (accelerate's
        # device_map), as the seed did with Hugging Face Accelerate.
        model["device_map"] = "auto"
        model["gpu_memory"] = gpu_memory
    if model:
        overrides["model"] = model
    return load_settings(config if config.is_file() else None, overrides)


def _data_dir(options: ServingOptions) -> Path:
    if options.data_dir is not None:
        return options.data_dir
    packed = options.model_dir / PACKED_DATA_DIR
    return packed if packed.is_dir() else Path("/tmp/parley")


def _model_source(options: ServingOptions) -> str | None:
    if options.s3url:
        from parley.deploy.fetch import fetch_once

        local = _data_dir(options) / "models" / "s3"
        return str(fetch_once(options.s3url, local))
    if options.model_id:
        if options.model_id.startswith("s3://"):
            from parley.deploy.fetch import fetch_once

            return str(fetch_once(options.model_id, _data_dir(options) / "models" / "s3"))
        return options.model_id
    packed = options.model_dir / PACKED_MODEL_DIR
    if packed.is_dir():
        ggufs = sorted(packed.glob("*.gguf"))
        # A packed GGUF file is the model itself; a packed HF folder holds config.json.
        return str(ggufs[0]) if ggufs and not (packed / "config.json").exists() else str(packed)
    return None


def _gpu_split(degree: int) -> dict[str, str]:
    try:
        import torch
    except ImportError:
        return {}
    if not torch.cuda.is_available():
        return {}
    count = min(degree, torch.cuda.device_count())
    split = {}
    for gpu in range(count):
        total = torch.cuda.get_device_properties(gpu).total_memory
        # Leave a tenth of each GPU for activations and the KV cache.
        split[str(gpu)] = f"{int(total * 0.9 / 2**30)}GiB"
    return split


class DjlHandler:
    """Answers DJL requests with Parley's pipeline; built on the first call."""

    def __init__(self, output: DjlOutputFactory) -> None:
        self.output = output
        self.service: ChatService | None = None
        self.settings: Settings | None = None
        self.options: ServingOptions | None = None

    def handle(self, inputs: DjlInput) -> DjlOutput | None:
        """DJL's entry point: None for the load call and empty inputs, else an output."""
        try:
            if self.service is None:
                self._load(inputs.get_properties())
            if inputs.is_empty():
                return None
            return self._answer(inputs)
        except HandlerError as exc:
            return self.output().error(str(exc), code=exc.code, message=_reason(exc.code))
        except ServiceError as exc:
            code = STATUS_OF_KIND[exc.kind]
            return self.output().error(str(exc), code=code, message=_reason(code))

    def _load(self, properties: Mapping[str, str]) -> None:
        from parley.config import ConfigError
        from parley.deploy.fetch import FetchError, fetch_once
        from parley.wiring import build_service

        options = ServingOptions.from_properties(properties)
        try:
            settings = settings_for(options)
            if options.index_s3url:
                index = settings.retrieval.index_path(settings.data_dir)
                fetch_once(options.index_s3url, index)
        except (ConfigError, FetchError) as exc:
            raise HandlerError(f"cannot load the model: {exc}", code=500) from None
        log.info("loading Parley for DJL from %s", options.model_dir)
        self.service = build_service(settings, progress=False)
        self.settings, self.options = settings, options

    def _answer(self, inputs: DjlInput) -> DjlOutput:
        from parley.server.schemas import InvocationRequest

        assert self.service is not None and self.settings is not None and self.options
        try:
            payload = inputs.get_as_json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise HandlerError(f"the request body is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise HandlerError("the request body must be a JSON object with 'inputs'")
        stream = payload.pop("stream", self.options.enable_streaming)
        if not isinstance(stream, bool):
            raise HandlerError("'stream' must be true or false")
        try:
            body = InvocationRequest.model_validate(payload)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            raise HandlerError(f"invalid request: {problems}") from None
        chat = ChatRequest(
            message=body.inputs,
            session_id=body.session_id,
            params=self.service.params_from(
                body.parameters, self.settings.server.max_new_tokens_cap
            ),
            retrieval=not body.no_retrieval,
            create_missing_session=True,
        )
        if stream:
            return self._streamed(chat)
        reply = self.service.complete(chat)
        output = self.output()
        output.add_property("content-type", "application/json")
        output.add_as_json(reply_body(reply))
        return output

    def _streamed(self, chat: ChatRequest) -> DjlOutput:
        assert self.service is not None
        events = self.service.stream(chat)
        # The first event comes before any text: errors up to here (moderation, session,
        # retrieval) are still answered as an error output rather than a broken stream.
        started = next(events)
        assert isinstance(started, Started)
        output = self.output()
        output.add_property("content-type", "application/jsonlines")
        output.add_property(SESSION_HEADER, session_attribute(started.session_id))
        output.add_stream_content(_jsonlines(events))
        return output


def _jsonlines(events: Generator[ChatEvent, None, None]) -> Iterator[bytes]:
    """The contract's JSON lines, written from the same events that build the stored turn:
    one generation serves both (the seed's streaming variant generated every reply twice)."""
    try:
        for event in events:
            line = jsonline(event)
            if line is not None:
                yield line
    except ServiceError as exc:
        yield error_line(str(exc))
    finally:
        events.close()  # a client that left stops the generation


def _reason(code: int) -> str:
    return {400: "invalid request", 404: "not found", 503: "unavailable"}.get(
        code, "prediction failure"
    )
