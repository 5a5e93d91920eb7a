"""The chat model's settings (the `[model]` section), kept with the engines that read them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ModelSettings(BaseModel):
    """Which chat model to load and how."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    source: str = "smollm2-135m-instruct"
    """An embedded default name, a Hugging Face id, a local model folder or a `.gguf` file."""
    engine: Literal["auto", "transformers", "llama.cpp", "llama-server", "openai"] = "auto"
    """`auto`: for GGUF files, `parley serve` runs llama.cpp's own server (`llama-server`, when
    set-up built it) and the terminal chat runs llama.cpp in-process; other models run on
    `transformers`. `openai` sends prompts to an OpenAI-compatible server at `base_url`."""
    format: Literal["auto", "openchatkit", "chat-template"] = "auto"
    """Prompt format; `auto` uses the model's chat template when it has one."""
    system_prompt: str = "You are a helpful assistant."
    """System prompt for the chat-template format (OpenChatKit's format has none)."""
    context_placement: Literal["user", "system"] = "user"
    """chat-template format: the retrieved passages go into the user's message, before the
    question (`user`), or into the system message (`system`). OpenChatKit's format always
    puts them in a `<human>:` turn of their own."""
    context_window: int | None = Field(default=None, ge=256)
    """Tokens the model attends to; the model's own limit when unset (at most 4096 on CPU)."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype for the transformers engine; `auto` is float32 on CPU, bfloat16 on GPU."""
    device_map: str | None = None
    """transformers `device_map`: `auto` splits the model over GPUs and CPU; unset: one device."""
    gpu_memory: dict[str, str] = Field(default_factory=dict)
    """Memory cap per GPU with `device_map=auto`, e.g. `{"0" = "10GiB"}` (OpenChatKit: -g 0:10)."""
    cpu_memory: str | None = None
    """CPU memory cap for offloaded layers, e.g. `"20GiB"` (OpenChatKit's `-r 20`)."""
    load_in: Literal["8bit", "4bit"] | None = None
    """Quantised loading through bitsandbytes; needs a CUDA GPU."""
    threads: int | None = Field(default=None, ge=1, le=512)
    """CPU threads for generation; unset: what the thread budget (top-level `threads`) leaves
    after the embedder and moderator."""
    max_batch_size: int = Field(default=8, ge=1, le=256)
    """transformers engine: most requests decoded together in one batch."""
    batch_window_ms: float = Field(default=5.0, ge=0, le=1000)
    """transformers engine: how long the first request waits for others to join its batch."""
    base_url: str | None = None
    """openai engine: the server's API root, e.g. `http://host:8000/v1`."""
    api_key: str | None = None
    """openai engine: bearer token for the server (prefer `api_key_env`)."""
    api_key_env: str | None = None
    """openai engine: name of the environment variable that holds the bearer token."""
    remote_model: str | None = None
    """openai engine: the model name to ask the server for; the first of `/v1/models` when unset."""
    connect_timeout: float = Field(default=5.0, gt=0, le=600)
    """openai and llama-server engines: seconds to wait for a connection."""
    read_timeout: float = Field(default=120.0, gt=0, le=3600)
    """openai and llama-server engines: longest wait, in seconds, for the next piece of a reply
    (the first one included)."""
    retries: int = Field(default=2, ge=0, le=10)
    """openai and llama-server engines: retries of a request that failed before its first token
    (connection refused, 429/502/503/504); never after, as that would repeat text."""
    q8_0_copy: bool = True
    """llama.cpp engines: run a Q4_1 GGUF (such as the embedded default) from a Q8_0 copy made
    once per machine in ~/.cache/parley/gguf: the same weights to within 0.007 nats, prompts
    read twice as fast (llama.cpp has no fast CPU prompt kernels for Q4_1)."""
    parallel: int = Field(default=4, ge=1, le=256)
    """llama-server engine: requests decoded together (slots); each gets `context_window`."""
    llama_server: str | None = None
    """llama-server engine: the `llama-server` binary; unset: `$PARLEY_LLAMA_SERVER`, then the one
    set-up built (`~/.cache/parley/llama-server-*/llama-server`), then `llama-server` on PATH."""

    @field_validator("gpu_memory")
    @classmethod
    def _gpu_ids_are_ints(cls, value: dict[str, str]) -> dict[str, str]:
        for gpu in value:
            if not gpu.isdigit():
                raise ValueError(f"GPU ids must be integers like '0', got {gpu!r}")
        return value
