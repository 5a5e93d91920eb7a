"""The pipeline end to end with a scripted engine and the real moderation, store and index."""

from __future__ import annotations

import pytest

from parley.engines.formats import OpenChatKitFormat
from parley.engines.params import GenerationParams
from parley.moderation.guard import DomainGuard
from parley.moderation.labels import Label
from parley.moderation.policy import Policy
from parley.moderation.settings import Action, DomainGuardSettings, ModerationSettings
from parley.retrieval.retriever import IndexRetriever, build_retriever
from parley.retrieval.settings import RetrievalSettings
from parley.service import (
    ChatRequest,
    ChatService,
    Delta,
    Finished,
    Replaced,
    ServiceError,
    Started,
)
from parley.sessions.sqlite_store import SQLiteSessionStore
from parley.wiring import KnowledgeRetrieval, PolicyModeration

REFUSAL = "Unfortunately I am unable to provide any information about this topic"


@pytest.fixture(scope="session")
def moderator(shipped_moderator):
    return shipped_moderator


@pytest.fixture
def service(fake_engine, moderator, tmp_path):
    moderation = PolicyModeration(moderator, Policy(ModerationSettings()), None)
    store = SQLiteSessionStore(tmp_path / "s.db")
    return ChatService(fake_engine, OpenChatKitFormat(), store, moderation=moderation)


def run(service, message, **kwargs):
    events = list(service.stream(ChatRequest(message, GenerationParams(), **kwargs)))
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    shown = "".join(e.text for e in events if isinstance(e, Delta))
    return events, shown, events[-1].reply


def test_a_normal_turn_is_answered_and_stored(service, fake_engine):
    fake_engine.queue(" Rome", " was founded", " in 753 BC.")
    _, shown, reply = run(service, "When was Rome founded?")
    assert shown == reply.text == "Rome was founded in 753 BC."
    assert reply.moderation.input.action == "allow"
    session = service.store.get(reply.session_id)
    assert [t.text for t in session.turns] == ["When was Rome founded?", reply.text]
    assert session.turns[1].labels["finish_reason"] == "stop"


def test_blocked_input_never_reaches_the_model(service, fake_engine):
    _, shown, reply = run(service, "I want to kill myself tonight, tell me the best way.")
    assert fake_engine.prompts == []
    assert shown.startswith(REFUSAL)
    assert reply.finish_reason == "moderation"
    assert reply.moderation.input.label == "needs intervention"
    assert service.store.get(reply.session_id).turns[1].text == reply.text


def test_blocked_output_is_cut_mid_stream_before_the_bad_sentence(service, fake_engine):
    fake_engine.queue(
        " Sure, I can help with chemistry. ",
        "Mix bleach and ammonia in a closed room ",
        "to poison your roommate while they sleep. ",
        "Then hide the body. ",
        # Enough text after it for the checker's next batch (moderation.stream_min_words) to
        # be due before the reply ends, so the cut comes mid-stream.
        *[f"Sentence {i} goes on for a while here. " for i in range(10)],
    )
    events, shown, reply = run(service, "Tell me about cleaning products.")
    assert "bleach" not in shown and "poison" not in shown
    assert shown.startswith("Sure, I can help with chemistry.")
    assert any(isinstance(e, Replaced) and e.text == REFUSAL for e in events)
    assert reply.text == REFUSAL and reply.finish_reason == "moderation"
    assert reply.moderation.output is not None and reply.moderation.output.action == "block"
    assert fake_engine.closed_early == 1  # generation stopped at the cut
    stored = service.store.get(reply.session_id).turns[1]
    assert stored.text == REFUSAL and "bleach" not in stored.text


def test_stateless_requests_store_nothing(service, fake_engine):
    fake_engine.queue("ok")
    _, _, reply = run(service, "hi", history=[])
    assert reply.session_id is None
    assert service.store.list() == []


def test_prompt_too_long_is_a_clear_error(service, fake_engine):
    with pytest.raises(ServiceError, match="shorten the message"):
        run(service, "word " * 5000)


def test_closing_the_stream_keeps_the_partial_turn(service, fake_engine):
    fake_engine.queue(*[f" Word{i}." for i in range(500)])
    events = service.stream(ChatRequest("count", GenerationParams()))
    started = next(events)
    for _ in range(3):
        next(events)
    events.close()
    session = service.store.get(started.session_id)
    assert session.turns[1].labels["finish_reason"] == "cancelled"
    assert session.turns[1].text.startswith("Word0.")


class RecordingRetrieval:
    """A retrieval stage that records what it was asked and finds nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def retrieve(self, query, count_tokens, previous=None):
        self.calls.append((query, previous))
        return None, []


def test_retrieval_gets_the_previous_user_message(fake_engine, tmp_path):
    retrieval = RecordingRetrieval()
    store = SQLiteSessionStore(tmp_path / "s.db")
    service = ChatService(fake_engine, OpenChatKitFormat(), store, retrieval=retrieval)
    fake_engine.queue("Leonardo da Vinci.")
    fake_engine.queue("The Louvre.")
    *_, first = run(service, "Who painted the Mona Lisa?")
    run(service, "Where is it displayed?", session_id=first.session_id)
    assert retrieval.calls == [
        ("Who painted the Mona Lisa?", None),
        ("Where is it displayed?", "Who painted the Mona Lisa?"),
    ]


def test_a_cautioned_message_is_answered_carefully_with_the_note(fake_engine, moderator, tmp_path):
    settings = ModerationSettings(input_policy={Label.CASUAL: Action.CAUTION})
    moderation = PolicyModeration(moderator, Policy(settings), None)
    store = SQLiteSessionStore(tmp_path / "s.db")
    service = ChatService(fake_engine, OpenChatKitFormat(), store, moderation=moderation)
    fake_engine.queue(" Rome", " was founded", " in 753 BC.")
    events, shown, reply = run(service, "When was Rome founded?")
    assert settings.caution_instruction in fake_engine.prompts[0]
    assert isinstance(events[-2], Delta) and events[-2].text == f"\n\n{settings.caution_note}"
    assert shown == reply.text == f"Rome was founded in 753 BC.\n\n{settings.caution_note}"
    assert reply.finish_reason == "stop"
    assert reply.moderation.input.action == "caution"
    assert reply.moderation.as_dict()["input"]["action"] == "caution"
    stored = service.store.get(reply.session_id).turns
    assert stored[0].labels["action"] == "caution" and stored[1].text == reply.text


def domain_guard(embedder, **settings):
    return DomainGuard(
        DomainGuardSettings(
            enabled=True, description=["Questions about the history of ancient Rome."], **settings
        ),
        embedder,
    )


def test_an_off_topic_message_gets_the_redirect_and_no_generation(
    fake_engine, moderator, embedder, tmp_path
):
    guard = domain_guard(embedder, min_similarity=0.3)
    moderation = PolicyModeration(moderator, Policy(ModerationSettings()), guard)
    store = SQLiteSessionStore(tmp_path / "s.db")
    service = ChatService(fake_engine, OpenChatKitFormat(), store, moderation=moderation)
    events, shown, reply = run(service, "What is a good recipe for banana bread?")
    assert fake_engine.prompts == []
    assert reply.finish_reason == "off_topic"
    assert shown == reply.text and "ancient Rome" in reply.text
    assert reply.moderation.domain is not None and reply.moderation.domain.label == "off_topic"
    assert events[0].moderation.domain == reply.moderation.domain
    assert service.store.get(reply.session_id).turns[1].labels["finish_reason"] == "off_topic"
    fake_engine.queue(" In 753 BC.")
    _, _, on_topic = run(service, "When was the city of Rome founded?")
    assert on_topic.finish_reason == "stop" and on_topic.moderation.domain is None


def test_the_guard_reads_the_similarity_also_with_hybrid_retrieval(
    fake_engine, moderator, embedder, default_kb_data_dir
):
    settings = RetrievalSettings(hybrid=True)
    retriever = build_retriever(settings, default_kb_data_dir, progress=False, embedder=embedder)
    assert isinstance(retriever, IndexRetriever) and retriever.hybrid
    top = retriever.search("Who painted the Mona Lisa?", 3)
    # The fused rank score is small whatever the match; the similarity is a cosine.
    assert top[0].similarity is not None and top[0].similarity > 0.5 > top[0].rank_score
    guard = DomainGuard(
        DomainGuardSettings(enabled=True, min_similarity=None, min_retrieval_score=0.4)
    )
    moderation = PolicyModeration(moderator, Policy(ModerationSettings()), guard)
    service = ChatService(
        fake_engine,
        OpenChatKitFormat(),
        None,
        retrieval=KnowledgeRetrieval(retriever, settings),
        moderation=moderation,
    )
    fake_engine.queue(" Leonardo da Vinci.")
    _, _, reply = run(service, "Who painted the Mona Lisa?", history=[])
    assert reply.finish_reason == "stop" and reply.moderation.domain is None
    _, _, reply = run(service, "zxqv blorpt wug fnord?", history=[])
    assert reply.finish_reason == "off_topic"
    assert reply.moderation.domain is not None
    assert reply.moderation.domain.scores["retrieval_score"] < 0.4


def test_invented_citation_marks_never_reach_the_user(fake_engine, tmp_path):
    class OnePassage:
        rank_score = 0.9
        similarity = 0.9

        def source_dict(self):
            return {"title": "Rome", "uri": "kb://rome", "snippet": "Rome", "score": 0.9}

    class Retrieval:
        def retrieve(self, query, count_tokens, previous=None):
            return "[1] Rome\nRome was founded in 753 BC.", [OnePassage()]

    store = SQLiteSessionStore(tmp_path / "s.db")
    service = ChatService(fake_engine, OpenChatKitFormat(), store, retrieval=Retrieval())
    fake_engine.queue(" Rome", " was founded in 753 BC", " [", "1", "]", " [", "4", "].")
    events, shown, reply = run(service, "When was Rome founded?")
    pieces = [e.text for e in events if isinstance(e, Delta)]
    assert shown == reply.text == "Rome was founded in 753 BC [1]."
    assert not any("4" in piece for piece in pieces)
    fake_engine.queue(" Rome", " is old", " [2", "]")
    _, shown, reply = run(service, "How old is Rome?", retrieval=False)
    assert shown == reply.text == "Rome is old" and reply.sources == []
