"""OpenAI-compatible `POST /v1/chat/completions`, `GET /v1/models` and `GET /v1/models/{id}`.

Response bodies are the `openai` package's own types, so their shape is OpenAI's by
construction; Parley's extra fields (`session_id`, `sources`, `parley_moderation`,
`parley_finish_reason`) ride on the reply, and the first three on the first stream chunk,
which those types allow.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, assert_never

from fastapi import APIRouter, Depends, Request
from openai.types import CompletionUsage, Model
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
)
from openai.types.chat.chat_completion import Choice, ChoiceLogprobs
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import (
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
)
from openai.types.chat.chat_completion_message_tool_call import Function

from parley.engines.base import Turn
from parley.engines.tools import Tool, ToolCalling, ToolError, render_calls
from parley.server.deps import authenticate, state_of
from parley.server.errors import error_body
from parley.server.knowledge import chosen_base
from parley.server.schemas import (
    BODY_ERRORS,
    ChatCompletionRequest,
    ChatMessage,
    NamedToolChoice,
    error_responses,
)
from parley.server.streaming import StreamFailed, StreamingReply, complete, open_stream
from parley.service import (
    ChatEvent,
    ChatReply,
    ChatRequest,
    ChatService,
    Delta,
    Finished,
    NotFound,
    Replaced,
    ServiceError,
    Started,
)

router = APIRouter(prefix="/v1", tags=["openai"])

OpenAIFinish = Literal["stop", "length", "content_filter", "tool_calls"]
FINISH: dict[str, OpenAIFinish] = {"stop": "stop", "length": "length", "cancelled": "stop"}
ALIAS = "parley"
"""Requests may always name the model `parley`, whatever the server runs."""


class InvalidField(ServiceError):
    """A request field with a bad value; `param` names it as the API spells it."""

    code = "invalid_value"

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


class ModelNotFound(NotFound):
    code = "model_not_found"
    param = "model"


def finish_reason(reply: ChatReply) -> OpenAIFinish:
    """Moderation refusals and off-topic refusals are OpenAI's `content_filter`."""
    return FINISH.get(reply.finish_reason, "content_filter")


def parley_fields(reply: ChatReply) -> dict[str, Any]:
    # `parley_moderation`, not `moderation`: OpenAI's own `moderation` field has another shape.
    return {
        "session_id": reply.session_id,
        "sources": reply.sources,
        "parley_moderation": reply.moderation.as_dict(),
        "parley_finish_reason": reply.finish_reason,
    }


def usage_of(reply: ChatReply) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        total_tokens=reply.prompt_tokens + reply.completion_tokens,
    )


def check_model(service: ChatService, requested: str | None) -> str:
    """The model id replies carry (the one /v1/models lists); 404 for another model."""
    if requested is not None and requested not in (service.model_name, ALIAS):
        raise ModelNotFound(
            f"the model {requested!r} does not exist on this server; "
            f"use {service.model_name!r} (or {ALIAS!r})"
        )
    return service.model_name


def history_turns(messages: list[ChatMessage]) -> list[Turn]:
    """User and assistant turns, alternating: tool calls are what the assistant said (in the
    JSON a tool-calling reply has), a tool's result is new input, as the user's turn.

    Consecutive messages of one side become one turn, so every prompt format (and chat
    templates that insist on alternation) gets user/assistant/user/...
    """
    turns: list[Turn] = []
    called: dict[str, str] = {}  # tool_call_id -> the tool's name

    def add(role: Literal["user", "assistant"], text: str) -> None:
        if turns and turns[-1].role == role:
            turns[-1] = Turn(role, f"{turns[-1].text}\n\n{text}".strip())
        else:
            turns.append(Turn(role, text))

    for message in messages:
        text = message.text()
        if message.role == "user":
            add("user", text)
        elif message.role == "assistant":
            calls = message.tool_calls or []
            called.update({call.id: call.function.name for call in calls})
            written = render_calls([(c.function.name, c.function.arguments) for c in calls])
            add("assistant", "\n".join(filter(None, [text, written if calls else ""])))
        elif message.role == "tool":
            name = message.name or called.get(message.tool_call_id or "", "the tool")
            add("user", f"Result of {name}: {text}")
    return turns


def to_chat_request(
    body: ChatCompletionRequest, owner: str | None, request: Request
) -> tuple[ChatRequest, ToolCalling | None]:
    """The service's request, and the tools the model may call (None: plain text)."""
    state = state_of(request)
    calling = tool_calling(body)
    limit = state.settings.max_message_chars
    if len(body.messages) > state.settings.max_messages:
        raise InvalidField(
            f"too many messages: {len(body.messages)} > {state.settings.max_messages}",
            "messages",
        )
    for index, message in enumerate(body.messages):
        if len(message.text()) > limit:
            raise InvalidField(
                f"messages[{index}].content is longer than {limit} characters",
                f"messages[{index}].content",
            )
    system = [m.text() for m in body.messages if m.role in ("system", "developer")]
    turns = history_turns(body.messages)
    if not turns or turns[-1].role != "user" or not turns[-1].text.strip():
        raise InvalidField(
            "the last message must be a non-empty user message (or a tool's result)", "messages"
        )
    cap = state.settings.max_new_tokens_cap
    for name in ("max_completion_tokens", "max_tokens"):
        value = getattr(body, name)
        if value is not None and value > cap:
            raise InvalidField(f"{name}={value} is above this server's cap of {cap}", name)
    stop = [body.stop] if isinstance(body.stop, str) else body.stop
    values: dict[str, Any] = {
        "temperature": body.temperature,
        "top_p": body.top_p,
        "top_k": body.top_k,
        "max_new_tokens": body.max_completion_tokens or body.max_tokens,
        "repetition_penalty": body.repetition_penalty,
        "seed": body.seed,
        "stop": stop,
        **output_options(body, calling),
    }
    params = state.service.params_from({k: v for k, v in values.items() if v is not None}, cap)
    chat = ChatRequest(
        message=turns[-1].text,
        params=params,
        session_id=body.session_id,
        # With a session the server keeps the history; otherwise the client sends it.
        history=None if body.session_id else turns[:-1],
        owner=owner,
        retrieval=True if body.retrieval is None else body.retrieval,
        system_prompt="\n\n".join(system) if system else None,
        knowledge_base=chosen_base(request, owner, body.knowledge_base, body.retrieval),
        instructions=calling.instructions() if calling else None,
    )
    return chat, calling


def sse(data: ChatCompletionChunk | dict[str, Any], event: str | None = None) -> bytes:
    payload = data if isinstance(data, dict) else data.model_dump(mode="json", exclude_unset=True)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload)}\n\n".encode()


def tool_calling(body: ChatCompletionRequest) -> ToolCalling | None:
    """The request's tools, checked; None when the model is to answer in plain text."""
    if body.functions is not None or body.function_call is not None:
        raise ServiceError(
            "functions and function_call are OpenAI's deprecated fields; send tools and "
            "tool_choice instead"
        )
    if not body.tools or body.tool_choice == "none":
        if body.tool_choice not in (None, "none", "auto"):
            raise InvalidField("tool_choice needs tools", "tool_choice")
        return None
    choice = body.tool_choice
    fmt = body.response_format
    content_schema = None
    if fmt is not None and fmt.type != "text":
        content_schema = fmt.json_schema.schema_ if fmt.json_schema else {}
    try:
        return ToolCalling(
            tuple(
                Tool(t.function.name, t.function.description, t.function.parameters)
                for t in body.tools
            ),
            choice.function.name if isinstance(choice, NamedToolChoice) else choice or "auto",
            body.parallel_tool_calls,
            content_schema,
        )
    except ToolError as exc:
        param = "tool_choice" if str(exc).startswith("tool_choice") else "tools"
        raise InvalidField(str(exc), param) from None


def output_options(body: ChatCompletionRequest, calling: ToolCalling | None) -> dict[str, Any]:
    """JSON mode, tools and logprobs as generation parameters (the engine refuses what it
    cannot do: never ignored)."""
    options: dict[str, Any] = {}
    fmt = body.response_format
    if fmt is not None and fmt.type == "json_schema" and fmt.json_schema is None:
        raise ServiceError("response_format.json_schema is required for type json_schema")
    if calling is not None:
        options["json_schema"] = calling.reply_schema()
    elif fmt is not None and fmt.type == "json_object":
        options["json_schema"] = {}
    elif fmt is not None and fmt.type == "json_schema" and fmt.json_schema is not None:
        options["json_schema"] = fmt.json_schema.schema_
    if body.logprobs:
        if body.stream:
            raise ServiceError("logprobs are returned with stream=false only")
        options["logprobs"] = body.top_logprobs or 0
    elif body.top_logprobs is not None:
        raise ServiceError("top_logprobs needs logprobs=true")
    return options


@dataclass(frozen=True)
class Answer:
    """The reply as OpenAI shapes it: text, or the tools to call, and why it ended."""

    content: str | None
    calls: list[ChatCompletionMessageToolCall]
    finish: OpenAIFinish


def answer_of(reply: ChatReply, calling: ToolCalling | None) -> Answer:
    """A tool-calling reply is read (calls get new ids); refusals, unfinished JSON and plain
    replies are their text."""
    read = calling.parse(reply.text) if calling and reply.finish_reason == "stop" else None
    if read is None:
        return Answer(reply.text, [], finish_reason(reply))
    calls = [
        ChatCompletionMessageToolCall(
            id=f"call_{uuid.uuid4().hex[:24]}",
            type="function",
            function=Function(name=call.name, arguments=json.dumps(call.arguments)),
        )
        for call in read.calls
    ]
    return Answer(read.content, calls, "tool_calls" if calls else finish_reason(reply))


def as_deltas(calls: list[ChatCompletionMessageToolCall]) -> list[ChoiceDeltaToolCall]:
    """Calls as one stream chunk's deltas: each whole (streams may split arguments; one
    piece is the simplest valid split)."""
    return [
        ChoiceDeltaToolCall(
            index=index,
            id=call.id,
            type="function",
            function=ChoiceDeltaToolCallFunction(
                name=call.function.name, arguments=call.function.arguments
            ),
        )
        for index, call in enumerate(calls)
    ]


@router.post(
    "/chat/completions",
    responses={
        200: {"content": {"text/event-stream": {}}},
        **error_responses(*BODY_ERRORS, 404, 503),
    },
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, owner: str | None = Depends(authenticate)
) -> Any:
    """Chat completion, streamed as server-sent events when `stream` is true."""
    state = state_of(request)
    model = check_model(state.service, body.model)
    chat, calling = to_chat_request(body, owner, request)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        reply = await complete(state, chat, request)
        answer = answer_of(reply, calling)
        message = ChatCompletionMessage(role="assistant", content=answer.content)
        if answer.calls:
            message.tool_calls = list(answer.calls)
        completion = ChatCompletion(
            id=completion_id,
            object="chat.completion",
            created=created,
            model=model,
            choices=[
                Choice(
                    index=0,
                    message=message,
                    finish_reason=answer.finish,
                    logprobs=None
                    if reply.logprobs is None
                    else ChoiceLogprobs.model_validate({"content": reply.logprobs}),
                )
            ],
            usage=usage_of(reply),
            **parley_fields(reply),
        )
        return completion.model_dump(mode="json", exclude_unset=True)

    started, events = await open_stream(state, chat)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def chunk(
        delta: ChoiceDelta, reason: OpenAIFinish | None = None, **extra: Any
    ) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=completion_id,
            object="chat.completion.chunk",
            created=created,
            model=model,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason=reason)],
            **extra,
        )

    async def stream(events: AsyncIterator[ChatEvent | StreamFailed]) -> AsyncIterator[bytes]:
        yield sse(
            chunk(
                ChoiceDelta(role="assistant", content=""),
                session_id=started.session_id,
                sources=started.sources,
                parley_moderation=started.moderation.as_dict(),
            )
        )
        shown = False
        refusal: str | None = None
        # With tools, an answer streams as it is decoded from its JSON; calls come at the end.
        answer = calling.answer_stream() if calling is not None else None
        async for event in events:
            match event:
                case StreamFailed(error=error):
                    # The pipeline failed midway; the status line is sent already: the error
                    # goes as an event, as OpenAI does, never a silent cut.
                    yield f"data: {json.dumps({'error': error_body(error)})}\n\n".encode()
                    break
                case Started():
                    pass  # already sent: `open_stream` returned it
                case Delta(text=text) if calling is not None:
                    if answer is not None and (said := answer.feed(text)):
                        shown = shown or bool(said.strip())
                        yield sse(chunk(ChoiceDelta(content=said)))
                case Delta(text=text):
                    shown = shown or bool(text.strip())
                    yield sse(chunk(ChoiceDelta(content=text)))
                case Replaced(text=text):
                    # Output moderation withdrew the reply: standard clients get the refusal
                    # with finish_reason content_filter; the page (parley_events) replaces
                    # what it shows.
                    refusal = text
                    if body.parley_events:
                        yield sse({"replace": text}, event="parley")
                case Finished(reply=reply):
                    if refusal is not None:
                        text = f"\n\n{refusal}" if shown else refusal
                        yield sse(chunk(ChoiceDelta(content=text), "content_filter"))
                    elif calling is not None:
                        ended = answer_of(reply, calling)
                        streamed = answer.text if answer is not None else ""
                        if ended.calls:
                            yield sse(chunk(ChoiceDelta(tool_calls=as_deltas(ended.calls))))
                        elif not streamed:
                            yield sse(chunk(ChoiceDelta(content=ended.content)))
                        elif (ended.content or "").startswith(streamed) and (
                            rest := (ended.content or "")[len(streamed) :]
                        ):
                            # What the decoder held back (an escape cut at the very end).
                            yield sse(chunk(ChoiceDelta(content=rest)))
                        yield sse(chunk(ChoiceDelta(), ended.finish))
                    else:
                        yield sse(chunk(ChoiceDelta(), finish_reason(reply)))
                    if body.parley_events:
                        yield sse(parley_fields(reply), event="parley")
                    if include_usage:
                        yield sse(
                            ChatCompletionChunk(
                                id=completion_id,
                                object="chat.completion.chunk",
                                created=created,
                                model=model,
                                choices=[],
                                usage=usage_of(reply),
                            )
                        )
                case _:
                    assert_never(event)
        yield b"data: [DONE]\n\n"

    return StreamingReply(
        stream(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Parley-Session-Id": started.session_id or ""},
    )


def model_card(service: ChatService) -> Model:
    # max_model_len as vLLM reports it, so another Parley's `openai` engine reads the window.
    return Model.model_validate(
        {
            "id": service.model_name,
            "object": "model",
            "created": 0,
            "owned_by": "parley",
            "max_model_len": service.engine.context_window,
        }
    )


@router.get("/models", responses=error_responses(401, 429))
def models(request: Request, owner: str | None = Depends(authenticate)) -> dict[str, Any]:
    """The one model this server answers with."""
    card = model_card(state_of(request).service)
    return {"object": "list", "data": [card.model_dump(mode="json")]}


@router.get("/models/{model_id:path}", responses=error_responses(401, 404, 429))
def model(
    model_id: str, request: Request, owner: str | None = Depends(authenticate)
) -> dict[str, Any]:
    """The model by its id (also `parley`, the alias every request may use)."""
    service = state_of(request).service
    check_model(service, model_id)
    return model_card(service).model_dump(mode="json")
