"""Building the chat service from settings: the one place components are chosen and wired."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from parley.engines.factory import build_engine
from parley.engines.formats import build_format
from parley.registry import EmbedderCache, Shared
from parley.service import ALLOW, ChatService, NotFound, Verdict
from parley.threads import ThreadPlan, plan_threads

if TYPE_CHECKING:
    from parley.config import Settings
    from parley.moderation.base import Moderator
    from parley.moderation.guard import DomainGuard
    from parley.moderation.policy import Decision, Policy
    from parley.moderation.streaming import StreamingChecker
    from parley.retrieval.bases import KnowledgeBases
    from parley.retrieval.documents import Passage
    from parley.retrieval.focus import SentenceEmbedder
    from parley.retrieval.retriever import Retriever
    from parley.retrieval.settings import RetrievalSettings

log = logging.getLogger("parley")


class KnowledgeRetrieval:
    """The pipeline's retrieval step: top-k passages, then a numbered context block.

    With `bases`, each request may name the knowledge base to search (the default one
    otherwise); web results (when configured) are fused with whichever base is searched.
    """

    def __init__(
        self,
        retriever: Retriever | None,
        settings: RetrievalSettings,
        *,
        bases: KnowledgeBases | None = None,
        web: Retriever | None = None,
        embedder: SentenceEmbedder | None = None,
    ) -> None:
        self.retriever = retriever
        self.settings = settings
        self.bases = bases
        self.web = web
        self.embedder = embedder
        """Chooses the sentences put into the prompt (`context_sentences`)."""

    def retriever_for(self, knowledge_base: str | None = None) -> Retriever:
        """The retriever of `knowledge_base` (None: the default); NotFound for an unknown one."""
        from parley.retrieval.bases import KnowledgeBaseNotFound
        from parley.retrieval.retriever import FusedRetriever

        if self.bases is None:
            if knowledge_base not in (None, self.settings.index_name) or self.retriever is None:
                raise NotFound(f"knowledge base {knowledge_base!r} not found")
            return self.retriever
        try:
            index = self.bases.retriever(knowledge_base)
        except KnowledgeBaseNotFound as exc:
            raise NotFound(str(exc)) from None
        if self.web is None:
            return index
        return FusedRetriever([index, self.web], self.settings.rrf_k)

    def retrieve(
        self,
        query: str,
        count_tokens: Callable[[str], int],
        previous: str | None = None,
        knowledge_base: str | None = None,
    ) -> tuple[str | None, Sequence[Passage]]:
        from parley.retrieval.errors import RetrievalUnavailable
        from parley.retrieval.retriever import build_context, search_in_conversation

        retriever = self.retriever_for(knowledge_base)
        try:
            passages = search_in_conversation(
                retriever, query, previous, self.settings.top_k, self.settings.rrf_k
            )
        except RetrievalUnavailable as exc:
            # A failing web search must not take the chat down: answer without context.
            log.warning("retrieval skipped: %s", exc)
            return None, []
        if self.settings.context_sentences and self.embedder is not None:
            from parley.retrieval.focus import focus_passages

            passages = focus_passages(
                passages, query, self.embedder, self.settings.context_sentences
            )
        context, used = build_context(passages, count_tokens, self.settings.context_tokens)
        return context or None, used

    def sample_titles(self, count: int) -> list[str]:
        """Titles of documents in the knowledge base (none for a web search retriever)."""
        index = getattr(self.retriever, "index", None)
        return index.table.sample_titles(count) if index is not None else []


def _verdict(decision: Decision, message: str | None = None) -> Verdict:
    return Verdict(
        action=decision.action.value,
        label=decision.label.value,
        scores={label.value: round(p, 6) for label, p in decision.result.scores.items()},
        message=message if message is not None else decision.message or "",
        instruction=decision.instruction or "",
    )


class OutputModeration:
    """Adapts the streaming checker to the pipeline: `feed` returns the text safe to show."""

    def __init__(self, checker: StreamingChecker) -> None:
        self.checker = checker
        self.blocked: Verdict | None = None

    def feed(self, piece: str) -> str:
        step = self.checker.feed(piece)
        if step.cut and step.decision is not None:
            self.blocked = _verdict(step.decision, step.refusal)
        return "" if step.cut else step.release

    def finish(self) -> str:
        step = self.checker.finish()
        if step.cut and step.decision is not None:
            self.blocked = _verdict(step.decision, step.refusal)
            return ""
        return step.release + (f"\n\n{step.note}" if step.note else "")


class PolicyModeration:
    """The pipeline's moderation: a moderator, the policy and the domain guard."""

    def __init__(self, moderator: Moderator, policy: Policy, guard: DomainGuard | None) -> None:
        self.moderator = moderator
        self.policy = policy
        self.guard = guard

    def check_input(self, text: str) -> Verdict:
        decision = self.policy.decide(self.moderator.moderate(text, "user"), "user", text)
        return _verdict(decision)

    def check_topic(self, text: str, best_similarity: float | None) -> Verdict:
        if self.guard is None or not self.guard.enabled:
            return ALLOW
        decision = self.guard.check(text, best_similarity)
        if decision.in_domain:
            return ALLOW
        # "retrieval_score" is the reply's JSON name (kept): it holds the best cosine similarity.
        scores = {
            "similarity": decision.similarity,
            "retrieval_score": decision.retrieval_similarity,
        }
        return Verdict(
            "block",
            "off_topic",
            {k: round(v, 6) for k, v in scores.items() if v is not None},
            decision.redirect or "",
        )

    def output_check(self) -> OutputModeration:
        from parley.moderation.streaming import StreamingChecker

        return OutputModeration(StreamingChecker.from_settings(self.moderator, self.policy))


def build_retrieval(
    settings: Settings, *, progress: bool = True, shared: Shared | None = None
) -> KnowledgeRetrieval | None:
    """The retrieval step over the data directory's knowledge bases (the default one built on
    first use) and/or the web search API, or None when retrieval is off."""
    config = settings.retrieval
    if not config.enabled:
        return None  # before the imports: a server without retrieval never loads Faiss
    from rich.console import Console

    from parley.retrieval.bases import KnowledgeBases
    from parley.retrieval.build import open_or_build
    from parley.retrieval.retriever import RETRIEVERS

    shared = shared or shared_for(settings, progress=progress)
    web = RETRIEVERS.build("web", config, shared) if config.retriever in ("web", "both") else None
    if config.retriever == "web":
        return KnowledgeRetrieval(web, config)
    if config.search_threads is not None:
        import faiss

        # Multi-threaded Faiss spins on busy cores: 0.5 ms searches become 20 ms.
        faiss.omp_set_num_threads(config.search_threads)
    embedder = shared.embedders.get(config.embedder)
    bases = KnowledgeBases(config, settings.data_dir, embedder)
    built = open_or_build(
        bases.folder(), config, embedder, progress=shared.progress, console=Console(stderr=True)
    )
    bases.adopt(bases.default, built.index)
    focus: SentenceEmbedder | None = None
    if config.context_sentences:
        from parley.retrieval.focus import SentenceVectors

        focus = (
            SentenceVectors(embedder, config.sentence_cache) if config.sentence_cache else embedder
        )
    return KnowledgeRetrieval(None, config, bases=bases, web=web, embedder=focus)


def shared_for(settings: Settings, *, progress: bool = True) -> Shared:
    """What the components of one service share: the data folder and loaded embedders."""
    embedders = EmbedderCache(batch_size=settings.retrieval.embed_batch_size)
    return Shared(data_dir=settings.data_dir, progress=progress, embedders=embedders)


def build_moderation(settings: Settings, shared: Shared) -> PolicyModeration | None:
    """Input/output moderation and the domain guard, or None when all are off."""
    from parley.moderation.factory import MODERATORS
    from parley.moderation.guard import DomainGuard
    from parley.moderation.policy import Policy

    mod = settings.moderation
    if mod.moderator == "none" and not mod.domain_guard.enabled:
        return None
    moderator = MODERATORS.build(mod.moderator, mod, shared)
    guard = None
    if mod.domain_guard.enabled:
        guard = DomainGuard(mod.domain_guard, shared.embedders.get(mod.embedder))
    return PolicyModeration(moderator, Policy(mod), guard)


def thread_plan(settings: Settings) -> ThreadPlan:
    """Engine and torch threads from the budget (`threads`) and what the settings turn on."""
    from parley.engines.factory import LLAMA_SERVER, TRANSFORMERS, choose_engine
    from parley.engines.sources import resolve_source

    model = settings.model
    engine: str = model.engine
    if engine in ("auto", LLAMA_SERVER):
        engine = choose_engine(engine, resolve_source(model.source))
    torch_needed = settings.retrieval.enabled or settings.moderation.moderator != "none"
    return plan_threads(
        settings.threads,
        engine_threads=settings.model.threads,
        engine_uses_torch=engine == TRANSFORMERS,
        engine_own_process=engine == LLAMA_SERVER,
        torch_needed=torch_needed,
    )


def build_service(
    settings: Settings, *, progress: bool = True, sessions: bool = True
) -> ChatService:
    """The chat service the settings describe: engine, format, store, retrieval, moderation.

    `sessions=False` builds no session store: requests then carry their history (the
    terminal chat keeps its own)."""
    from parley.sessions.factory import STORES

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # One embedder per model serves retrieval, the classifier moderator and the domain guard.
    shared = shared_for(settings, progress=progress)
    plan = thread_plan(settings)
    engine_settings = settings.model.model_copy(update={"threads": plan.engine})
    engine = build_engine(engine_settings, shared=shared)
    shared.engine = engine
    prompt_format = build_format(
        settings.model.format,
        engine,
        settings.model.system_prompt,
        settings.model.context_placement,
    )
    store = STORES.build(settings.sessions.store, settings.sessions, shared) if sessions else None
    service = ChatService(
        engine,
        prompt_format,
        store,
        retrieval=build_retrieval(settings, shared=shared),
        moderation=build_moderation(settings, shared),
        default_params=settings.generation,
        model_name=settings.model.source,
    )
    if plan.torch and engine.name != "transformers" and "torch" in sys.modules:
        # after the index and the moderation head are built, which may use every core
        import torch

        torch.set_num_threads(plan.torch)
    log.debug("thread budget: %s", plan)
    return service
