from parley.moderation.base import ModerationResult
from parley.moderation.labels import Label
from parley.moderation.policy import Policy
from parley.moderation.settings import DEFAULT_REFUSAL, Action, ModerationSettings


def result(**probs: float) -> ModerationResult:
    scores = {label: 0.0 for label in Label}
    scores |= {Label.parse(k): v for k, v in probs.items()}
    return ModerationResult.from_scores(scores)


def test_defaults_block_intervention_both_ways_and_answer_caution_carefully():
    policy = Policy(ModerationSettings())
    for role in ("user", "bot"):
        blocked = policy.decide(result(needs_intervention=0.9, casual=0.1), role, "bad")
        assert blocked.action is Action.BLOCK and blocked.message == DEFAULT_REFUSAL
        assert policy.decide(result(casual=1.0), role).action is Action.ALLOW
    # A sensitive question is answered with the careful-answer instruction, not refused and
    # not silently allowed; a reply of that label is shown without a note.
    careful = policy.decide(result(needs_caution=0.8), "user")
    assert careful.action is Action.CAUTION
    assert careful.instruction == ModerationSettings().caution_instruction
    assert policy.decide(result(needs_caution=0.8), "bot").action is Action.ALLOW


def test_actions_per_direction():
    settings = ModerationSettings(
        input_policy={"__needs_caution__": "caution", "possibly needs caution": "block"},
        output_policy={"needs_caution": "block", "needs intervention": "caution"},
        refusal="No.",
    )
    policy = Policy(settings)
    caution_in = policy.decide(result(needs_caution=0.7), "user")
    assert caution_in.action is Action.CAUTION
    assert caution_in.instruction == settings.caution_instruction
    assert caution_in.message == settings.caution_note
    assert policy.decide(result(possibly_needs_caution=0.6), "user").message == "No."
    assert policy.decide(result(needs_intervention=0.9), "user").blocked  # default kept
    assert policy.decide(result(needs_caution=0.7), "bot").blocked
    caution_out = policy.decide(result(needs_intervention=0.9), "bot")
    assert caution_out.action is Action.CAUTION and caution_out.instruction is None


def test_threshold_mode():
    policy = Policy(ModerationSettings(intervention_threshold=0.3))
    low_top = result(casual=0.6, needs_intervention=0.35, needs_caution=0.05)
    assert policy.decide(low_top, "user").blocked
    high_top = result(needs_intervention=0.29, needs_caution=0.26, casual=0.45)
    decision = policy.decide(high_top, "user")
    assert not decision.blocked and decision.label is Label.CASUAL
    top_but_under = result(
        needs_intervention=0.28, needs_caution=0.27, casual=0.25, **{"possibly needs caution": 0.2}
    )
    assert policy.decide(top_but_under, "user").label is Label.NEEDS_CAUTION
    # Without threshold mode the same scores follow the top label.
    assert Policy(ModerationSettings()).decide(top_but_under, "user").blocked


def test_self_harm_refusal_points_to_help():
    settings = ModerationSettings(help_resources="Call 988.")
    policy = Policy(settings)
    harm = policy.decide(result(needs_intervention=1.0), "user", "I want to kill myself")
    assert harm.message == f"{DEFAULT_REFUSAL}. Call 988."
    other = policy.decide(result(needs_intervention=1.0), "user", "How do I build a bomb?")
    assert other.message == DEFAULT_REFUSAL
    off = Policy(ModerationSettings(help_resources=None))
    assert off.decide(result(needs_intervention=1.0), "user", "suicide").message == DEFAULT_REFUSAL
