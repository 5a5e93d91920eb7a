"""The chat model's settings (the `[model]` section), kept with the engines that read them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ModelSettings(BaseModel):
    """Which chat model to load and how."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    source: str = "smollm2-135m-instruct"
    """An embedded default name, a Hugging Face id, a local model folder or a `.gguf` file."""
    engine: Literal["auto", "transformers", "llama.cpp"] = "auto"
    """`auto` uses llama.cpp for GGUF files when llama-cpp-python is installed."""
    format: Literal["auto", "openchatkit", "chat-template"] = "auto"
    """Prompt format; `auto` uses the model's chat template when it has one."""
    system_prompt: str = "You are a helpful assistant."
    """System prompt for the chat-template format (OpenChatKit's format has none)."""
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
    """CPU threads for generation; all cores when unset."""
    max_batch_size: int = Field(default=8, ge=1, le=256)
    """transformers engine: most requests decoded together in one batch."""
    batch_window_ms: float = Field(default=5.0, ge=0, le=1000)
    """transformers engine: how long the first request waits for others to join its batch."""

    @field_validator("gpu_memory")
    @classmethod
    def _gpu_ids_are_ints(cls, value: dict[str, str]) -> dict[str, str]:
        for gpu in value:
            if not gpu.isdigit():
                raise ValueError(f"GPU ids must be integers like '0', got {gpu!r}")
        return value
