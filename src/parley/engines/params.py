"""Generation parameters shared by every engine, validated once at the edge."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_NEW_TOKENS_CAP = 8192
MAX_STOP_WORDS = 16


class GenerationParams(BaseModel):
    """How to sample a reply. Sampling is on whenever temperature > 0 unless `do_sample=false`."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, use_attribute_docstrings=True
    )

    temperature: float = Field(default=0.6, ge=0.0, le=5.0)
    """Softmax temperature; 0 means greedy decoding."""
    top_k: int = Field(default=40, ge=0, le=100_000)
    """Keep the k most likely tokens; 0 turns the filter off."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches p."""
    max_new_tokens: int = Field(default=256, ge=1, le=MAX_NEW_TOKENS_CAP)
    """Most tokens the reply may have; a reply cut here is marked unfinished."""
    repetition_penalty: float = Field(default=1.0, gt=0.0, le=10.0)
    """Penalty for repeating tokens already in the prompt or reply; 1 means none."""
    no_repeat_ngram_size: int = Field(default=8, ge=0, le=64)
    """Forbid the reply to repeat any run of this many tokens it already contains (the prompt
    is not counted, so passages can be quoted); 0 means off. Breaks greedy loops."""
    stop: list[str] = Field(default_factory=list, max_length=MAX_STOP_WORDS)
    """Extra stop sequences; the reply ends before the first one generated."""
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    """Random seed: the same seed, parameters and prompt give the same text."""
    do_sample: bool | None = None
    """Force sampling on or off; by default it is on exactly when temperature > 0."""
    json_schema: dict[str, Any] | None = None
    """Constrain the reply to JSON: `{}` is any JSON object, otherwise a JSON schema the reply
    must match (OpenAI's `response_format`). Engines that cannot constrain output refuse it."""
    logprobs: int | None = Field(default=None, ge=0, le=20)
    """Return each generated token's log-probability with this many most likely alternatives.
    Engines that cannot refuse it."""

    @field_validator("stop")
    @classmethod
    def _stops_not_empty(cls, value: list[str]) -> list[str]:
        for word in value:
            if not word:
                raise ValueError("stop sequences must not be empty strings")
            if len(word) > 64:
                raise ValueError(f"stop sequence {word[:20]!r}... is longer than 64 characters")
        return value

    @model_validator(mode="after")
    def _sampling_needs_temperature(self) -> GenerationParams:
        if self.do_sample and self.temperature == 0:
            raise ValueError(
                "do_sample=true needs temperature > 0; set a temperature or drop do_sample"
            )
        return self

    @property
    def sampling(self) -> bool:
        """Whether tokens are sampled (otherwise greedy)."""
        return self.do_sample if self.do_sample is not None else self.temperature > 0

    def updated(self, **changes: Any) -> GenerationParams:
        """A validated copy with `changes` applied (None values are ignored)."""
        merged = self.model_dump()
        merged.update({k: v for k, v in changes.items() if v is not None})
        return GenerationParams.model_validate(merged)


def _short(value: Any, limit: int = 40) -> str:
    """`repr(value)`, cut to `limit` characters: an error never echoes a huge input back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_params_error(exc: ValidationError) -> str:
    """A short, human message for invalid parameters: `name: problem (got value)`."""
    parts = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]) or "parameters"
        got = error.get("input")
        suffix = "" if isinstance(got, dict) else f" (got {_short(got)})"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            known = ", ".join(GenerationParams.model_fields)
            message = f"unknown parameter; known ones are {known}"
        parts.append(f"{name}: {message}{suffix}")
    if len(parts) > 5:  # one problem per list item would make a kilobytes-long message
        parts = [*parts[:5], f"and {len(parts) - 5} more problems"]
    return "; ".join(parts)
