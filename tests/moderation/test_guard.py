import pytest

from parley.moderation.guard import DomainGuard
from parley.moderation.settings import DomainGuardSettings


def test_off_by_default(embedder):
    guard = DomainGuard(DomainGuardSettings(), embedder)
    assert not guard.enabled
    assert guard.check("What is the meaning of life?").in_domain


def test_description_similarity(embedder):
    settings = DomainGuardSettings(
        enabled=True,
        description=["cooking, recipes and kitchen techniques", "baking bread and pastry"],
        min_similarity=0.3,
    )
    guard = DomainGuard(settings, embedder)
    inside = guard.check("How long should I knead dough for a sourdough loaf?")
    assert inside.in_domain and inside.similarity > 0.3
    outside = guard.check("Which stocks should I buy for retirement?")
    assert not outside.in_domain and outside.similarity < 0.3
    assert outside.redirect.startswith("I'm sorry, I can only help with questions about cooking")


def test_retrieval_score_and_combination(embedder):
    either = DomainGuard(
        DomainGuardSettings(enabled=True, min_similarity=None, min_retrieval_score=0.4)
    )
    assert not either.check("anything", retrieval_similarity=0.2).in_domain
    assert either.check("anything", retrieval_similarity=0.6).in_domain
    assert either.check("anything").in_domain  # no retrieval ran: no signal

    base = {
        "enabled": True,
        "description": ["gardening"],
        "min_similarity": 0.3,
        "min_retrieval_score": 0.4,
    }
    text = "Quarterly tax filing deadlines"  # far from gardening
    strict = DomainGuard(DomainGuardSettings(**base, combine="either"), embedder)
    lenient = DomainGuard(DomainGuardSettings(**base, combine="both"), embedder)
    assert not strict.check(text, retrieval_similarity=0.9).in_domain
    assert lenient.check(text, retrieval_similarity=0.9).in_domain
    assert not lenient.check(text, retrieval_similarity=0.1).in_domain


def test_enabled_guard_needs_a_signal():
    with pytest.raises(ValueError, match="description"):
        DomainGuardSettings(enabled=True)
    with pytest.raises(ValueError, match="min_similarity and/or"):
        DomainGuardSettings(enabled=True, min_similarity=None)
