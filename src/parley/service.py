"""The chat pipeline: one request, end to end, in one readable function (`ChatService.stream`).

input moderation -> session load or create -> retrieval -> prompt build -> generation (streamed)
-> incremental output moderation -> atomic persist of the turn -> reply with session id,
sources and moderation labels. The service knows nothing of HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from parley.engines.base import ChatEngine, EngineError, Turn, UnsupportedRequest
from parley.engines.formats import PromptFormat, PromptTooLong, fit_prompt
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams, describe_params_error
from parley.sessions.base import (
    InvalidSessionId,
    Session,
    SessionError,
    SessionStore,
    StoredTurn,
)

FinishReason = Literal["stop", "length", "cancelled", "moderation", "off_topic"]


class ServiceError(Exception):
    """A request the service cannot serve; `status` is the matching HTTP status."""

    status = 400
    kind = "invalid_request"


class NotFound(ServiceError):
    status = 404
    kind = "not_found"


class Unavailable(ServiceError):
    status = 503
    kind = "unavailable"


# -- what the pipeline needs from moderation and retrieval --------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A moderation decision on one text."""

    action: Literal["allow", "caution", "block"]
    label: str
    scores: Mapping[str, float] = field(default_factory=dict)
    message: str = ""
    """The refusal (block) or the note to append (caution)."""
    instruction: str = ""
    """For caution: what to tell the model so it answers carefully."""

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "label": self.label, "scores": dict(self.scores)}


ALLOW = Verdict("allow", "casual")


class OutputCheck(Protocol):
    """Moderates a reply as it grows: `feed` returns the text that is safe to show."""

    blocked: Verdict | None

    def feed(self, piece: str) -> str: ...

    def finish(self) -> str:
        """End of reply: check what is held back, and the whole reply once more."""
        ...


class ModerationStage(Protocol):
    def check_input(self, text: str) -> Verdict: ...

    def check_topic(self, text: str, best_score: float | None) -> Verdict: ...

    def output_check(self) -> OutputCheck: ...


class PassageLike(Protocol):
    score: float

    def source_dict(self) -> dict[str, Any]: ...


class RetrievalStage(Protocol):
    def retrieve(
        self, query: str, count_tokens: Any, previous: str | None = None
    ) -> tuple[str | None, Sequence[PassageLike]]:
        """Context and passages for `query`; `previous` is the user's earlier message, so
        that a follow-up ("How tall is it?") finds its topic."""
        ...


# -- requests, events, replies -------------------------------------------------------------------


@dataclass
class ChatRequest:
    """One user message to answer."""

    message: str
    params: GenerationParams
    session_id: str | None = None
    """Continue this stored conversation."""
    history: Sequence[Turn] | None = None
    """Stateless mode: the earlier turns, sent by the client (OpenAI style); nothing is stored."""
    owner: str | None = None
    """Who is asking (the API key's owner id); sessions are visible to their owner only."""
    retrieval: bool = True
    system_prompt: str | None = None
    create_missing_session: bool = False
    """Create the session when `session_id` is unknown (the SageMaker contract's behaviour)."""


@dataclass
class ChatReply:
    session_id: str | None
    text: str
    finish_reason: FinishReason
    sources: list[dict[str, Any]] = field(default_factory=list)
    moderation: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retrieval_seconds: float | None = None
    prompt: str = ""
    """The prompt sent to the model (empty when none was): for debugging, never sent to clients."""
    logprobs: list[dict[str, Any]] | None = None
    """The generated tokens' log-probabilities, when the request asked for them."""


@dataclass
class Started:
    """First event: the session, and the sources the reply will cite."""

    session_id: str | None
    sources: list[dict[str, Any]]
    moderation: dict[str, Any]


@dataclass
class Delta:
    """Reply text that passed moderation."""

    text: str


@dataclass
class Replaced:
    """The reply so far is withdrawn and replaced by `text` (output moderation blocked it)."""

    text: str


@dataclass
class Finished:
    reply: ChatReply


ChatEvent = Started | Delta | Replaced | Finished


# -- the service ---------------------------------------------------------------------------------


class ChatService:
    """Answers chat requests with the configured engine, retrieval, moderation and store."""

    def __init__(
        self,
        engine: ChatEngine,
        prompt_format: PromptFormat,
        store: SessionStore | None,
        *,
        retrieval: RetrievalStage | None = None,
        moderation: ModerationStage | None = None,
        default_params: GenerationParams | None = None,
        model_name: str = "parley",
    ) -> None:
        self.engine = engine
        self.prompt_format = prompt_format
        self.store = store
        self.retrieval = retrieval
        self.moderation = moderation
        self.default_params = default_params or GenerationParams()
        self.model_name = model_name

    def stream(self, request: ChatRequest) -> Iterator[ChatEvent]:
        """The pipeline. Closing the iterator early stops generation; the turn is still kept."""
        # 0. what the engine cannot do is refused up front, never silently ignored
        try:
            self.engine.check_params(request.params)
        except UnsupportedRequest as exc:
            raise ServiceError(str(exc)) from None
        # 1. input moderation: a blocked message never reaches the model
        verdict_in = self.moderation.check_input(request.message) if self.moderation else ALLOW
        # 2. the conversation so far
        session = self._open_session(request)
        history = self._history(request, session)
        moderation: dict[str, Any] = {"input": verdict_in.as_dict()}
        # 3. retrieval (also when blocked: no; the blocked message is not searched)
        context, passages, retrieval_seconds = None, [], None
        if verdict_in.action != "block" and request.retrieval and self.retrieval is not None:
            began = time.perf_counter()
            previous = next((t.text for t in reversed(history) if t.role == "user"), None)
            context, passages = self.retrieval.retrieve(
                request.message, self.engine.count_tokens, previous
            )
            retrieval_seconds = time.perf_counter() - began
        sources = [p.source_dict() for p in passages]
        verdict_topic = ALLOW
        if verdict_in.action != "block" and self.moderation is not None:
            best = max((p.score for p in passages), default=None)
            verdict_topic = self.moderation.check_topic(request.message, best)
            if verdict_topic.action != "allow":
                moderation["domain"] = verdict_topic.as_dict()
        session_id = session.id if session else None
        yield Started(session_id, sources, moderation)

        reply = ChatReply(session_id, "", "stop", sources, moderation)
        reply.retrieval_seconds = retrieval_seconds
        if verdict_in.action == "block" or verdict_topic.action == "block":
            refusal = verdict_in.message if verdict_in.action == "block" else verdict_topic.message
            reply.text = refusal
            reply.finish_reason = "moderation" if verdict_in.action == "block" else "off_topic"
            yield Delta(refusal)
            self._persist(request, session, reply)
            yield Finished(reply)
            return

        # 4. prompt: format + history + context, fit to the window
        turns = [*history, Turn("user", self._with_instruction(request.message, verdict_in))]
        try:
            prompt = fit_prompt(
                self._format_for(request),
                turns,
                self.engine.count_tokens,
                self.engine.context_window - request.params.max_new_tokens,
                context,
            )
        except PromptTooLong as exc:
            raise ServiceError(str(exc)) from None
        reply.prompt_tokens, reply.prompt = prompt.tokens, prompt.text
        if prompt.context_dropped:
            reply.sources = []

        # 5. generation, 6. incremental output moderation
        generation = Generation(
            self.engine, prompt.text, request.params, self.prompt_format.stop_words
        )
        checker = self.moderation.output_check() if self.moderation else None
        shown: list[str] = []
        try:
            for piece in generation:
                safe = checker.feed(piece) if checker else piece
                if safe:
                    shown.append(safe)
                    yield Delta(safe)
                if checker and checker.blocked:
                    break
            if checker and not checker.blocked:
                tail = checker.finish()
                if tail:
                    shown.append(tail)
                    yield Delta(tail)
        except EngineError as exc:
            raise Unavailable(f"the chat model failed: {exc}") from None
        finally:
            generation.close()
            reply.completion_tokens = generation.completion_tokens
            if request.params.logprobs is not None:
                reply.logprobs = generation.logprobs
            reply.text = "".join(shown).strip()
            reply.finish_reason = generation.finish_reason or "cancelled"
            if checker and checker.blocked:
                reply.text = checker.blocked.message
                reply.finish_reason = "moderation"
                moderation["output"] = checker.blocked.as_dict()
            elif verdict_in.action == "caution" and verdict_in.message:
                reply.text = f"{reply.text}\n\n{verdict_in.message}".strip()
            # 7. persist the exchange atomically, also when the client went away mid-stream
            self._persist(request, session, reply)
        if checker and checker.blocked:
            yield Replaced(reply.text)
        elif verdict_in.action == "caution" and verdict_in.message:
            yield Delta(f"\n\n{verdict_in.message}")
        # 8. the reply
        yield Finished(reply)

    def complete(self, request: ChatRequest) -> ChatReply:
        """Run the pipeline to the end and return the reply."""
        for event in self.stream(request):
            if isinstance(event, Finished):
                return event.reply
        raise Unavailable("the pipeline ended without a reply")

    # -- steps ---------------------------------------------------------------------------------

    def params_from(self, values: Mapping[str, Any] | None, cap: int) -> GenerationParams:
        """Request parameters over the configured defaults, validated and capped."""
        try:
            params = GenerationParams.model_validate(
                {**self.default_params.model_dump(), **(values or {})}
            )
        except ValidationError as exc:
            raise ServiceError(f"invalid parameters: {describe_params_error(exc)}") from None
        if params.max_new_tokens > cap:
            raise ServiceError(
                f"invalid parameters: max_new_tokens={params.max_new_tokens} is above this "
                f"server's cap of {cap}"
            )
        return params

    def _open_session(self, request: ChatRequest) -> Session | None:
        if request.history is not None and request.session_id is None:
            return None  # stateless: the client owns the history
        if self.store is None:
            raise ServiceError("this service keeps no sessions: send the history instead")
        try:
            if request.session_id is not None:
                session = self.store.get(request.session_id, owner=request.owner)
                if session is not None:
                    return session
                if not request.create_missing_session:
                    raise NotFound(f"session {request.session_id} not found")
                if self.store.get(request.session_id) is not None:
                    # It exists but belongs to someone else: same answer as a missing one.
                    raise NotFound(f"session {request.session_id} not found")
            return self.store.create(request.owner, session_id=request.session_id)
        except InvalidSessionId as exc:
            raise ServiceError(str(exc)) from None
        except SessionError as exc:
            raise Unavailable(f"session store error: {exc}") from None

    @staticmethod
    def _history(request: ChatRequest, session: Session | None) -> list[Turn]:
        if session is None:
            return list(request.history or [])
        return [Turn(t.role, t.text) for t in session.turns if t.text]

    def _format_for(self, request: ChatRequest) -> PromptFormat:
        if request.system_prompt is None or not hasattr(self.prompt_format, "system_prompt"):
            return self.prompt_format
        from copy import copy

        adjusted = copy(self.prompt_format)
        adjusted.system_prompt = request.system_prompt  # type: ignore[attr-defined]
        return adjusted

    @staticmethod
    def _with_instruction(message: str, verdict: Verdict) -> str:
        if verdict.action == "caution" and verdict.instruction:
            return f"{message}\n\n({verdict.instruction})"
        return message

    def _persist(self, request: ChatRequest, session: Session | None, reply: ChatReply) -> None:
        if session is None or self.store is None:
            return
        now = datetime.now(UTC)
        turns = [
            StoredTurn(
                role="user",
                text=request.message,
                time=now,
                labels=reply.moderation.get("input", {}),
            ),
            StoredTurn(
                role="assistant",
                text=reply.text,
                time=now,
                labels={k: v for k, v in reply.moderation.items() if k != "input"}
                | {"finish_reason": reply.finish_reason},
                sources=reply.sources,
                params=request.params.model_dump(),
            ),
        ]
        try:
            self.store.append(session.id, turns, owner=request.owner)
        except SessionError as exc:
            raise Unavailable(f"could not save the turn: {exc}") from None

    def describe(self) -> dict[str, Any]:
        """What this service runs, for `/health` and `/v1/models`."""
        return {
            "model": self.model_name,
            "engine": self.engine.name,
            "format": self.prompt_format.name,
            "context_window": self.engine.context_window,
            "session_store": self.store.name if self.store else None,
            "retrieval": self.retrieval is not None,
            "moderation": self.moderation is not None,
        }

    def close(self) -> None:
        self.engine.close()
        if self.store is not None:
            self.store.close()
