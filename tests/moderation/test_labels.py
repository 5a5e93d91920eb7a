import pytest

from parley.moderation.labels import PROMPT_ORDER, SEVERITY_ORDER, Label


@pytest.mark.parametrize(
    ("spelling", "label"),
    [
        ("casual", Label.CASUAL),
        ("__casual__", Label.CASUAL),
        ("__needs_caution__", Label.NEEDS_CAUTION),
        ("needs caution", Label.NEEDS_CAUTION),
        ("Needs-Intervention", Label.NEEDS_INTERVENTION),
        (" __possibly_needs_caution__ ", Label.POSSIBLY_NEEDS_CAUTION),
        ("probably_needs_caution", Label.PROBABLY_NEEDS_CAUTION),
    ],
)
def test_parse_spellings(spelling, label):
    assert Label.parse(spelling) is label


def test_unknown_label_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown moderation label 'toxic'.*needs intervention"):
        Label.parse("toxic")


def test_severity_order():
    assert sorted(Label) == list(SEVERITY_ORDER)
    assert max(Label) is Label.NEEDS_INTERVENTION
    assert Label.POSSIBLY_NEEDS_CAUTION < Label.PROBABLY_NEEDS_CAUTION < Label.NEEDS_CAUTION
    assert [lb.severity for lb in SEVERITY_ORDER] == [0, 1, 2, 3, 4]


def test_prosocial_spelling_round_trips():
    for label in Label:
        assert Label.parse(label.prosocial) is label
    assert Label.NEEDS_CAUTION.prosocial == "__needs_caution__"


def test_prompt_order_is_gpt_jt_order():
    assert [lb.value for lb in PROMPT_ORDER] == [
        "casual",
        "needs caution",
        "needs intervention",
        "possibly needs caution",
        "probably needs caution",
    ]
