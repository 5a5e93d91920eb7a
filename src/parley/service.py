"""The chat pipeline: one request, end to end, as named steps (`ChatService.stream`).

moderate input -> conversation (session load or create) -> retrieve -> check topic ->
refuse | prompt -> generate with the incremental output check -> persist the turn atomically
-> reply with session id, sources and moderation verdicts. The service knows nothing of HTTP:
its errors carry a kind, which the server maps to a status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from parley.engines.base import ChatEngine, EngineError, Turn, UnsupportedRequest
from parley.engines.citations import CitationFilter
from parley.engines.formats import FittedPrompt, PromptFormat, PromptTooLong, fit_prompt
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams, describe_params_error
from parley.sessions.base import (
    PENDING,
    InvalidSessionId,
    Session,
    SessionError,
    SessionFull,
    SessionNotFound,
    SessionStore,
    StoredTurn,
)

FinishReason = Literal["stop", "length", "cancelled", "moderation", "off_topic", "error"]


ErrorKind = Literal["invalid_request", "not_found", "unavailable"]
"""What went wrong, for the edge to map onto its own codes (the server: HTTP statuses)."""


class ServiceError(Exception):
    """A request the service cannot serve; `kind` says why."""

    kind: ErrorKind = "invalid_request"


class NotFound(ServiceError):
    kind: ErrorKind = "not_found"


class Unavailable(ServiceError):
    kind: ErrorKind = "unavailable"


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


@dataclass(frozen=True)
class Verdicts:
    """The moderation decisions on one exchange: the message, its topic, the reply."""

    input: Verdict = ALLOW
    domain: Verdict | None = None
    """Set when the domain guard did not simply allow the message."""
    output: Verdict | None = None
    """Set when output moderation withdrew the reply."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form: `{"input": {...}, "domain": {...}, "output": {...}}`, unset ones left out."""
        named = {"input": self.input, "domain": self.domain, "output": self.output}
        return {name: v.as_dict() for name, v in named.items() if v is not None}


class OutputCheck(Protocol):
    """Moderates a reply as it grows: `feed` returns the text that is safe to show."""

    blocked: Verdict | None

    def feed(self, piece: str) -> str: ...

    def finish(self) -> str:
        """End of reply: check what is held back, and the whole reply once more."""
        ...


class ModerationStage(Protocol):
    def check_input(self, text: str) -> Verdict: ...

    def check_topic(self, text: str, best_similarity: float | None) -> Verdict: ...

    def output_check(self) -> OutputCheck: ...


class PassageLike(Protocol):
    similarity: float | None
    """Cosine similarity to the query (None when the retriever has none, e.g. web results)."""

    def source_dict(self) -> dict[str, Any]: ...


class RetrievalStage(Protocol):
    def retrieve(
        self, query: str, count_tokens: Callable[[str], int], previous: str | None = None
    ) -> tuple[str | None, Sequence[PassageLike]]:
        """Context and passages for `query`; `previous` is the user's earlier message, so
        that a follow-up ("How tall is it?") finds its topic. Stages that serve several
        knowledge bases also take `knowledge_base=NAME` (passed only when a request names
        one) and raise `NotFound` for an unknown name."""
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
    knowledge_base: str | None = None
    """Search this knowledge base instead of the default one."""
    instructions: str | None = None
    """Told to the model after the message, in the prompt only (tool definitions); the stored
    message stays the user's own."""
    on_finish: Callable[[ChatReply], None] | None = None
    """Called once with the reply when the request ends: done, cancelled or failed."""


@dataclass(frozen=True)
class PendingTurn:
    """Where an accepted message's reply goes: the pending assistant turn's index."""

    session_id: str
    index: int


@dataclass
class ChatReply:
    session_id: str | None
    text: str
    finish_reason: FinishReason
    sources: list[dict[str, Any]] = field(default_factory=list)
    moderation: Verdicts = field(default_factory=Verdicts)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retrieval_seconds: float | None = None
    prompt: str = ""
    """The prompt sent to the model (empty when none was): for debugging, never sent to clients."""
    logprobs: list[dict[str, Any]] | None = None
    """The generated tokens' log-probabilities, when the request asked for them."""


@dataclass(frozen=True)
class Started:
    """First event: the session, and the sources the reply will cite."""

    session_id: str | None
    sources: list[dict[str, Any]]
    moderation: Verdicts


@dataclass(frozen=True)
class Delta:
    """Reply text that passed moderation."""

    text: str


@dataclass(frozen=True)
class Replaced:
    """The reply so far is withdrawn and replaced by `text` (output moderation blocked it)."""

    text: str


@dataclass(frozen=True)
class Finished:
    reply: ChatReply


ChatEvent = Started | Delta | Replaced | Finished


@dataclass(frozen=True)
class Retrieved:
    """What the retrieval step found for one message."""

    context: str | None = None
    passages: Sequence[PassageLike] = ()
    seconds: float | None = None

    @property
    def best_similarity(self) -> float | None:
        found = [p.similarity for p in self.passages if p.similarity is not None]
        return max(found, default=None)


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

    def stream(self, request: ChatRequest) -> Generator[ChatEvent, None, None]:
        """The pipeline. Closing the generator early stops generation; the turn is still kept.

        moderate input -> conversation -> retrieve -> check topic -> refuse | prompt ->
        accept (store the message) -> generate with output check -> finish (store the reply in
        its place) -> reply. Everything that can refuse the request does so before `Started`;
        a crash mid-generation keeps the accepted message."""
        self._check_engine_can(request)
        verdict_in = self._moderate_input(request)
        session = self._open_session(request)
        self._check_room(session)
        history = self._history(request, session)
        found = self._retrieve(request, history) if verdict_in.action != "block" else Retrieved()
        verdict_topic = self._check_topic(request, found) if verdict_in.action != "block" else ALLOW
        verdicts = Verdicts(verdict_in, verdict_topic if verdict_topic.action != "allow" else None)
        reply = ChatReply(
            session.id if session else None,
            "",
            "stop",
            [p.source_dict() for p in found.passages],
            verdicts,
            retrieval_seconds=found.seconds,
        )
        if verdict_in.action == "block" or verdict_topic.action == "block":
            pending = self._accept(request, session, verdicts)
            yield Started(reply.session_id, list(reply.sources), verdicts)
            yield from self._refuse(request, pending, reply, verdict_in, verdict_topic)
        else:
            prompt = self._prompt(request, history, verdict_in, found.context)
            reply.prompt_tokens, reply.prompt = prompt.tokens, prompt.text
            if prompt.context_dropped:
                reply.sources = []
            pending = self._accept(request, session, verdicts)
            yield Started(reply.session_id, list(reply.sources), verdicts)
            yield from self._answer(request, pending, reply, prompt)
        yield Finished(reply)

    def complete(self, request: ChatRequest) -> ChatReply:
        """Run the pipeline to the end and return the reply."""
        for event in self.stream(request):
            if isinstance(event, Finished):
                return event.reply
        raise Unavailable("the pipeline ended without a reply")

    # -- steps ---------------------------------------------------------------------------------

    def _check_engine_can(self, request: ChatRequest) -> None:
        """What the engine cannot do (JSON mode, logprobs) is refused, never ignored."""
        try:
            self.engine.check_params(request.params)
        except UnsupportedRequest as exc:
            raise ServiceError(str(exc)) from None

    def _moderate_input(self, request: ChatRequest) -> Verdict:
        """A blocked message never reaches the model (nor the retriever)."""
        return self.moderation.check_input(request.message) if self.moderation else ALLOW

    def _retrieve(self, request: ChatRequest, history: Sequence[Turn]) -> Retrieved:
        """Passages for the message, read in its conversation (the previous user message)."""
        if not request.retrieval or self.retrieval is None:
            return Retrieved()
        began = time.perf_counter()
        previous = next((t.text for t in reversed(history) if t.role == "user"), None)
        chosen = {"knowledge_base": request.knowledge_base} if request.knowledge_base else {}
        context, passages = self.retrieval.retrieve(
            request.message, self.engine.count_tokens, previous, **chosen
        )
        return Retrieved(context, passages, time.perf_counter() - began)

    def _check_topic(self, request: ChatRequest, found: Retrieved) -> Verdict:
        """The domain guard, on the message and the best cosine similarity retrieval found."""
        if self.moderation is None:
            return ALLOW
        return self.moderation.check_topic(request.message, found.best_similarity)

    def _refuse(
        self,
        request: ChatRequest,
        pending: PendingTurn | None,
        reply: ChatReply,
        verdict_in: Verdict,
        verdict_topic: Verdict,
    ) -> Iterator[ChatEvent]:
        """Answer a blocked or off-topic message with its refusal, and keep the turn."""
        blocked_input = verdict_in.action == "block"
        reply.text = verdict_in.message if blocked_input else verdict_topic.message
        reply.finish_reason = "moderation" if blocked_input else "off_topic"
        yield Delta(reply.text)
        self._finish(request, pending, reply)

    def _answer(
        self,
        request: ChatRequest,
        pending: PendingTurn | None,
        reply: ChatReply,
        prompt: FittedPrompt,
    ) -> Iterator[ChatEvent]:
        """Generate with the output check; store the reply (also when the client left)."""
        verdict_in = reply.moderation.input
        structured = request.params.json_schema is not None
        # The caution note follows the reply, except where it would make JSON invalid (the
        # verdict still says so).
        note = verdict_in.message if verdict_in.action == "caution" and not structured else None
        shown: list[str] = []
        generation = Generation(
            self.engine, prompt.text, request.params, self.prompt_format.stop_words
        )
        checker = self.moderation.output_check() if self.moderation else None
        # Citation marks must point at a source the user is shown ([4] of 3 is dropped); JSON
        # has none, and its arrays look like marks.
        citations = None if structured else CitationFilter(len(reply.sources))
        failed = False
        try:
            yield from self._generate(generation, citations, checker, shown)
        except ServiceError:
            failed = True
            raise
        finally:
            generation.close()
            self._settle(reply, generation, checker, shown, note)
            if failed:
                reply.finish_reason = "error"
            self._finish(request, pending, reply)
        if reply.moderation.output is not None:
            yield Replaced(reply.text)
        elif note:
            yield Delta(f"\n\n{note}")

    def _prompt(
        self,
        request: ChatRequest,
        history: Sequence[Turn],
        verdict_in: Verdict,
        context: str | None,
    ) -> FittedPrompt:
        """Format + history + context, fit to the window left after `max_new_tokens`."""
        told = self._with_instruction(request.message, verdict_in)
        if request.instructions:
            told = f"{told}\n\n{request.instructions}"
        turns = [*history, Turn("user", told)]
        try:
            return fit_prompt(
                self._format_for(request),
                turns,
                self.engine.count_tokens,
                self.engine.context_window - request.params.max_new_tokens,
                context,
            )
        except PromptTooLong as exc:
            raise ServiceError(str(exc)) from None

    @staticmethod
    def _generate(
        generation: Generation,
        citations: CitationFilter | None,
        checker: OutputCheck | None,
        shown: list[str],
    ) -> Iterator[ChatEvent]:
        """Stream what passes the citation and output checks; stop at a cut (the caller
        closes the model)."""
        try:
            for piece in generation:
                piece = citations.feed(piece) if citations else piece
                safe = checker.feed(piece) if checker else piece
                if safe:
                    shown.append(safe)
                    yield Delta(safe)
                if checker and checker.blocked:
                    return
            held = citations.flush() if citations else ""
            tail = checker.feed(held) if checker else held
            if checker and checker.blocked:
                return
            tail += checker.finish() if checker else ""
            if tail:
                shown.append(tail)
                yield Delta(tail)
        except UnsupportedRequest as exc:
            raise ServiceError(str(exc)) from None
        except EngineError as exc:
            raise Unavailable(f"the chat model failed: {exc}") from None

    @staticmethod
    def _settle(
        reply: ChatReply,
        generation: Generation,
        checker: OutputCheck | None,
        shown: list[str],
        note: str | None,
    ) -> None:
        """The reply as it ended: withdrawn, with the caution note, or as generated."""
        reply.completion_tokens = generation.completion_tokens
        if generation.params.logprobs is not None:
            reply.logprobs = generation.logprobs
        reply.finish_reason = generation.finish_reason or "cancelled"
        reply.text = "".join(shown).strip()
        if checker and checker.blocked:
            reply.text = checker.blocked.message
            reply.finish_reason = "moderation"
            reply.moderation = replace(reply.moderation, output=checker.blocked)
        elif note:
            reply.text = f"{reply.text}\n\n{note}".strip()

    def params_from(self, values: Mapping[str, Any] | None, cap: int) -> GenerationParams:
        """Request parameters over the configured defaults, validated and capped."""
        try:
            # strict: "yes" is not a boolean and "40" is not a number
            params = GenerationParams.model_validate(
                {**self.default_params.model_dump(), **(values or {})}, strict=True
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
            if request.session_id is None:
                return self.store.create(request.owner)
            if request.create_missing_session:
                # Atomic and owner-aware: never claims another owner's id, and concurrent
                # first uses of one new id all get the same session.
                return self.store.get_or_create(request.session_id, request.owner)
            session = self.store.get(request.session_id, owner=request.owner)
        except InvalidSessionId as exc:
            raise ServiceError(str(exc)) from None
        except SessionNotFound:
            session = None
        except SessionError as exc:
            raise Unavailable(f"session store error: {exc}") from None
        if session is None:
            # Missing, expired or someone else's: one answer for all three.
            raise NotFound(f"session {request.session_id} not found")
        return session

    def _check_room(self, session: Session | None) -> None:
        """A clear error before any work when the session cannot take one more exchange."""
        if session is None or self.store is None:
            return
        if len(session.turns) + 2 > self.store.max_turns:
            raise ServiceError(
                f"session {session.id} is full: it holds {len(session.turns)} turns and the "
                f"limit is {self.store.max_turns} (sessions.max_turns_per_session); start a new "
                "session"
            )

    @staticmethod
    def _history(request: ChatRequest, session: Session | None) -> list[Turn]:
        if session is None:
            return list(request.history or [])
        return [Turn(t.role, t.text) for t in session.turns if t.text]

    def _format_for(self, request: ChatRequest) -> PromptFormat:
        if request.system_prompt is None:
            return self.prompt_format
        return self.prompt_format.with_system_prompt(request.system_prompt)

    @staticmethod
    def _with_instruction(message: str, verdict: Verdict) -> str:
        if verdict.action == "caution" and verdict.instruction:
            return f"{message}\n\n({verdict.instruction})"
        return message

    def _accept(
        self, request: ChatRequest, session: Session | None, verdicts: Verdicts
    ) -> PendingTurn | None:
        """Store the user's message with an empty, pending reply after it (one atomic append)."""
        if session is None or self.store is None:
            return None
        now = datetime.now(UTC)
        turns = [
            StoredTurn(
                role="user", text=request.message, time=now, labels=verdicts.as_dict()["input"]
            ),
            StoredTurn(role="assistant", text="", time=now, labels={"finish_reason": PENDING}),
        ]
        try:
            stored = self.store.append(session.id, turns, owner=request.owner)
        except SessionFull as exc:
            raise ServiceError(str(exc)) from None
        except SessionNotFound:
            raise NotFound(f"session {session.id} not found") from None
        except SessionError as exc:
            raise Unavailable(f"could not save the message: {exc}") from None
        return PendingTurn(session.id, len(stored.turns) - 1)

    def _finish(self, request: ChatRequest, pending: PendingTurn | None, reply: ChatReply) -> None:
        """Put the reply in the place `_accept` kept for it; report the reply to `on_finish`."""
        try:
            if pending is None or self.store is None:
                return
            labels = reply.moderation.as_dict()
            labels.pop("input")
            turn = StoredTurn(
                role="assistant",
                text=reply.text,
                time=datetime.now(UTC),
                labels=labels | {"finish_reason": reply.finish_reason},
                sources=reply.sources,
                params=request.params.model_dump(),
            )
            try:
                self.store.replace_turn(
                    pending.session_id, pending.index, turn, owner=request.owner
                )
            except SessionNotFound:
                return  # deleted while the reply was generated: nothing left to keep it in
            except SessionError as exc:
                raise Unavailable(f"could not save the reply: {exc}") from None
        finally:
            if request.on_finish is not None:
                request.on_finish(reply)

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
