"""Request and response bodies of the HTTP API (SageMaker contract, OpenAI, sessions)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

SessionId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""A session id as sent; its format (`parley.sessions.base.SESSION_ID`) is checked by
the stores: 400."""

KB_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""A knowledge base name (a folder name under `<data_dir>/indexes/`)."""

# -- SageMaker container contract ---------------------------------------------------------------


class InvocationRequest(BaseModel):
    """The seed's payload: `{"inputs", "parameters", "session_id", "no_retrieval"}`."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    inputs: str = Field(min_length=1)
    """The user's message (not only whitespace)."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """Generation parameters (temperature, top_k, max_new_tokens, ...)."""
    session_id: SessionId | None = None
    """Continue this conversation; a new one is started when absent or unknown."""
    no_retrieval: StrictBool = False
    """Answer without the knowledge base."""
    knowledge_base: str | None = Field(default=None, pattern=KB_PATTERN)
    """Parley: search this knowledge base instead of the default one."""

    @field_validator("inputs")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("inputs must not be empty or only whitespace")
        return value


class InvocationResponse(BaseModel):
    outputs: str
    session_id: str | None
    sources: list[dict[str, Any]] = Field(default_factory=list)
    moderation: dict[str, Any] = Field(default_factory=dict)
    finish_reason: str


# -- OpenAI chat completions --------------------------------------------------------------------
# Requests are validated here (only the fields Parley uses; unknown ones are ignored as OpenAI
# clients send many); responses are built from the `openai` package's own types in the router.


class ContentPart(BaseModel):
    type: Literal["text"]
    text: str


class ToolCallFunction(BaseModel):
    name: str
    arguments: str = ""


class ToolCall(BaseModel):
    """A tool call the assistant made earlier in the conversation (kept as history only)."""

    id: str = ""
    type: Literal["function"] = "function"
    function: ToolCallFunction


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCall] | None = None
    """Assistant messages: the tools it called (the content is then often null)."""
    tool_call_id: str | None = None
    """Tool messages: the call this is the result of."""
    name: str | None = None

    @model_validator(mode="after")
    def _content_or_tool_calls(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(
                "content is required (it may be null only for an assistant message with tool_calls)"
            )
        return self

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    include_usage: bool = False
    """Send a last chunk with `choices: []` and the token usage."""


class JsonSchemaFormat(BaseModel):
    name: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    """OpenAI's `response_format`: plain text, any JSON object, or JSON matching a schema."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class FunctionDefinition(BaseModel):
    name: str
    description: str = Field(default="", max_length=4096)
    parameters: dict[str, Any] = Field(default_factory=dict)
    """The arguments' JSON schema (an object schema)."""
    strict: bool | None = None
    """Accepted; the arguments always follow the schema where the engine constrains output."""


class ToolDefinition(BaseModel):
    """A function the model may call (OpenAI's `tools` item; only `function` tools)."""

    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    """`tool_choice` naming the one function the model must call."""

    type: Literal["function"]
    function: NamedFunction


class ChatCompletionRequest(BaseModel):
    """OpenAI's `/v1/chat/completions` body plus Parley's fields."""

    # OpenAI clients send fields we do not use; strict: "yes" is no boolean, "5" no number
    model_config = ConfigDict(extra="ignore", strict=True)

    model: str | None = Field(default=None, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    n: int = 1
    response_format: ResponseFormat | None = None
    """JSON mode, where the engine can constrain its output (400 where it cannot)."""
    tools: list[ToolDefinition] | None = None
    """Functions the model may call, where the engine constrains output (400 where not); the
    calls come back as `tool_calls` for the client to run."""
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: StrictBool = True
    functions: list[Any] | None = None
    """OpenAI's deprecated form of `tools`: refused with 400 rather than ignored."""
    function_call: Any = None
    logprobs: StrictBool | None = None
    """Return the tokens' log-probabilities (stream=false; where the engine can)."""
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    session_id: SessionId | None = None
    """Parley: keep the history on the server under this session (see POST /v1/sessions)."""
    retrieval: StrictBool | None = None
    """Parley: use the knowledge base (default: on when configured)."""
    parley_events: StrictBool = False
    """Parley: also send `event: parley` server-sent events (what the web page reads): the
    reply's final moderation, finish reason and sources, and a withdrawn reply's refusal.
    Standard clients leave it off and see standard chunks only."""
    knowledge_base: str | None = Field(default=None, pattern=KB_PATTERN)
    """Parley: search this knowledge base instead of the default one."""

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only n=1 is supported")
        return value


# -- sessions -----------------------------------------------------------------------------------


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    title: str | None = Field(default=None, max_length=200)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("title must not be empty or only whitespace")
        return value


class SessionRename(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    title: str = Field(min_length=1, max_length=200)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("title must not be empty or only whitespace")
        return value


class FeedbackBody(BaseModel):
    """A rating of an assistant turn: thumbs up (`good`), down (`bad`), or null to remove it."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    rating: Literal["good", "bad"] | None
    """`good` (thumbs up), `bad` (thumbs down), or null to remove the rating."""
    comment: str | None = Field(default=None, max_length=2000)
    """Optional words on what was good or wrong."""

    @model_validator(mode="after")
    def _comment_needs_rating(self) -> FeedbackBody:
        if self.rating is None and self.comment:
            raise ValueError("a comment goes with a rating (good or bad)")
        return self


class ErrorBody(BaseModel):
    """OpenAI's error object."""

    message: str
    type: str
    """`invalid_request_error` (4xx), `requests` (429) or `server_error` (5xx)."""
    param: str | None = None
    """The request field at fault, where one is."""
    code: str | None = None
    """What went wrong, e.g. `invalid_api_key`, `rate_limit_exceeded`, `not_found`."""


class ErrorResponse(BaseModel):
    error: ErrorBody


ERROR_DESCRIPTIONS = {
    400: "Invalid request: bad JSON, NUL characters or lone surrogates, invalid parameters",
    401: "Missing or invalid API key",
    403: "The API key may not do this (knowledge base permissions, uploads turned off)",
    404: "Not found (a session that is missing, expired or someone else's)",
    405: "Method not allowed (the Allow header lists the allowed ones)",
    408: "The request body did not arrive in time",
    409: "A reply still being written cannot be rated yet",
    413: "Request body too large",
    415: "The body is not JSON",
    422: "The JSON does not match the request schema",
    429: "Rate limited or too many generations queued (see Retry-After)",
    503: "The model or the session store is unavailable",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all in the `ErrorResponse` shape.

    Where a route validates input (422) it may also answer 400: under `/v1` invalid input is
    400, as OpenAI answers it."""
    wanted = sorted({*codes, 400} if 422 in codes else set(codes))
    return {
        code: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[code]} for code in wanted
    }


BODY_ERRORS = (400, 401, 408, 413, 415, 422, 429)
"""What any route with a JSON body may answer before it runs."""
