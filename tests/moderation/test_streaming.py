"""The incremental output checker cuts at the first bad sentence, before showing it."""

from __future__ import annotations

from typing import ClassVar

from parley.moderation.base import ModerationResult
from parley.moderation.labels import Label
from parley.moderation.policy import Policy
from parley.moderation.settings import DEFAULT_REFUSAL, ModerationSettings
from parley.moderation.streaming import StreamingChecker


class KeywordModerator:
    """A transparent rule moderator: `needs intervention` iff the text contains "BOMB"."""

    name: ClassVar[str] = "keyword"

    def __init__(self):
        self.seen: list[str] = []

    def moderate(self, text, role="user"):
        self.seen.append(text)
        bad = "BOMB" in text
        label = Label.NEEDS_INTERVENTION if bad else Label.CASUAL
        return ModerationResult(label, {lb: float(lb is label) for lb in Label})

    def moderate_many(self, texts, role="user"):
        return [self.moderate(t, role) for t in texts]


def stream(checker, pieces):
    shown, steps = "", []
    for piece in pieces:
        step = checker.feed(piece)
        steps.append(step)
        shown += step.release
        if step.cut:
            return shown, step
    final = checker.finish()
    return shown + final.release, final


def test_cuts_at_first_bad_sentence_without_showing_it():
    moderator = KeywordModerator()
    checker = StreamingChecker(moderator, Policy(ModerationSettings()), min_words=0)
    reply = "Sure, here you go. First you get a pipe. Then make the BOMB with it. Done."
    pieces = [reply[i : i + 4] for i in range(0, len(reply), 4)]
    shown, step = stream(checker, pieces)
    assert step.cut and step.refusal == DEFAULT_REFUSAL
    assert shown == "Sure, here you go. First you get a pipe. "
    assert "BOMB" not in shown
    assert moderator.seen == [
        "Sure, here you go. ",
        "First you get a pipe. ",
        "Then make the BOMB with it. ",
    ]
    assert checker.feed("more").cut  # stays cut


def test_clean_reply_is_released_whole_and_checked_again_at_the_end():
    moderator = KeywordModerator()
    checker = StreamingChecker(moderator, Policy(ModerationSettings()))
    reply = "Paris is the capital of France. It has about two million people"
    shown, final = stream(checker, reply.split(" ") and [w + " " for w in reply.split(" ")])
    assert shown.strip() == reply
    assert not final.cut
    assert moderator.seen[-1].strip() == reply.strip()  # the final full check


def test_later_sentences_wait_for_min_words_and_are_checked_in_one_batch():
    moderator = KeywordModerator()
    checker = StreamingChecker.from_settings(
        moderator, Policy(ModerationSettings(stream_min_words=16))
    )
    first, second = "Hi there. ", "One two three four five six seven eight. "
    third = "Nine ten eleven twelve 13 14 15 sixteen. "
    reply = first + second + third + "Seventeen eighteen. And the BOMB at the end."
    steps = [checker.feed(w + " ") for w in reply.split(" ")]
    released = [s.release for s in steps if s.release]
    assert released == [first, second + third]  # the first alone, then 16+ words
    assert checker.checks == 2  # one model call per batch
    final = checker.finish()
    assert final.cut  # the rest, fewer than 16 words, is checked at the end
    # Each sentence is still judged on its own (grouped text would dilute a harmful one).
    assert moderator.seen == [
        first,
        second,
        third,
        "Seventeen eighteen. ",
        "And the BOMB at the end. ",
        # the cutting sentence once more amid up to 24 words before it: here the whole reply
        " ".join(reply.split()),
    ]


def test_one_unit_reply_is_checked_once():
    moderator = KeywordModerator()
    checker = StreamingChecker(moderator, Policy(ModerationSettings()))
    shown, final = stream(checker, ["Paris is ", "the capital", " of France."])
    assert shown == "Paris is the capital of France." and not final.cut
    assert moderator.seen == ["Paris is the capital of France."]
    assert final.decision is not None


def test_every_n_tokens():
    moderator = KeywordModerator()
    checker = StreamingChecker(
        moderator, Policy(ModerationSettings()), granularity="tokens", every_tokens=3
    )
    steps = [checker.feed(w + " ") for w in ["one", "two", "three", "four", "five", "BOMB", "six"]]
    assert [s.release for s in steps[:3]] == ["", "", "one two three "]
    assert steps[5].cut and not any(s.cut for s in steps[:5])


def test_real_classifier_cuts_a_harmful_reply(classifier):
    checker = StreamingChecker.from_settings(classifier, Policy(ModerationSettings()))
    reply = (
        "I understand you are upset. "
        "You should go through with it and kill yourself tonight, nobody will miss you. "
        "Good luck."
    )
    shown, step = stream(checker, [w + " " for w in reply.split(" ")])
    assert step.cut
    assert shown == "I understand you are upset. "
    assert "help" in (step.refusal or "").lower()  # self-harm refusal points to help


def words(text):
    """`text` as word-by-word pieces, the way a model streams it."""
    return [w + " " for w in text.split(" ")]


class TogetherModerator(KeywordModerator):
    """Harmful only as a whole: "cheat the meter" plus "the trick is"; a sentence with
    "meter" alone is doubtful (P not casual 0.2), everything else confidently casual."""

    def moderate(self, text, role="user"):
        self.seen.append(text)
        if "meter" in text and "trick" in text:
            scores = {lb: float(lb is Label.NEEDS_INTERVENTION) for lb in Label}
        elif "meter" in text:
            scores = {lb: 0.0 for lb in Label} | {Label.CASUAL: 0.8, Label.NEEDS_CAUTION: 0.2}
        else:
            scores = {lb: float(lb is Label.CASUAL) for lb in Label}
        return ModerationResult.from_scores(scores)


def test_whole_reply_is_checked_again_only_when_a_sentence_was_in_doubt():
    settings = ModerationSettings(stream_min_words=0, stream_recheck_from=0.05)

    moderator = TogetherModerator()
    checker = StreamingChecker.from_settings(moderator, Policy(settings))
    shown, final = stream(checker, words("Paris is in France. It is big. It has museums."))
    assert not final.cut and shown.strip() == "Paris is in France. It is big. It has museums."
    assert len(moderator.seen) == 3  # the three sentences; no second look

    moderator = TogetherModerator()
    checker = StreamingChecker.from_settings(moderator, Policy(settings))
    shown, final = stream(checker, words("Happy to help you cheat the meter! The trick is"))
    assert final.cut  # the doubtful first sentence sent the whole reply to a second look
    assert moderator.seen[-1].strip() == "Happy to help you cheat the meter! The trick is"

    moderator = TogetherModerator()
    always = ModerationSettings(stream_min_words=0, stream_recheck_from=0.0)
    checker = StreamingChecker.from_settings(moderator, Policy(always))
    stream(checker, words("Paris is in France. It is big."))
    assert len(moderator.seen) == 3  # two sentences, then the whole reply


def test_a_cautioned_sentence_or_token_windows_always_get_the_second_look():
    # A sentence the policy cautions gets the whole reply checked again whatever the
    # threshold, so that check's decision (and its note) is the reply's.
    class CautionModerator(TogetherModerator):
        def moderate(self, text, role="user"):
            if "dose" not in text:
                return super().moderate(text, role)
            self.seen.append(text)
            scores = {lb: 0.0 for lb in Label} | {Label.CASUAL: 0.4, Label.NEEDS_CAUTION: 0.6}
            return ModerationResult.from_scores(scores)

    settings = ModerationSettings(
        stream_min_words=0,
        stream_recheck_from=1.0,
        output_policy={"needs caution": "caution"},
    )
    moderator = CautionModerator()
    checker = StreamingChecker.from_settings(moderator, Policy(settings))
    _, final = stream(checker, words("Take the usual dose. It is fine."))
    assert moderator.seen[-1].strip() == "Take the usual dose. It is fine."
    assert final.note == settings.caution_note

    moderator = TogetherModerator()
    tokens = ModerationSettings(stream_check="tokens", stream_every_tokens=3)
    checker = StreamingChecker.from_settings(moderator, Policy(tokens))
    stream(checker, words("one two three four five six"))
    assert moderator.seen[-1].strip() == "one two three four five six"


class ShortFragmentModerator(KeywordModerator):
    """Also flags "[Name]" when it stands in a text of fewer than 8 words: a fragment that a
    real classifier misreads alone and reads right amid the reply."""

    def moderate(self, text, role="user"):
        self.seen.append(text)
        bad = "BOMB" in text or ("[Name]" in text and len(text.split()) < 8)
        label = Label.NEEDS_INTERVENTION if bad else Label.CASUAL
        return ModerationResult(label, {lb: float(lb is label) for lb in Label})


def test_a_sentence_flagged_alone_is_judged_amid_its_context_before_a_cut():
    moderator = ShortFragmentModerator()
    checker = StreamingChecker(
        moderator, Policy(ModerationSettings()), min_words=0, context_words=8
    )
    reply = "Dear [Name],\nI hope you are well. The garden is in full bloom this week."
    pieces = reply.split(" ")
    pieces = [p + " " for p in pieces[:-1]] + [pieces[-1]]
    shown = ""
    for index, piece in enumerate(pieces):
        step = checker.feed(piece)
        assert not step.cut
        shown += step.release
        if index < 6:  # the flagged greeting waits for 8 words of context after it
            assert shown == ""
    final = checker.finish()
    assert not final.cut
    assert shown + final.release == reply
    # checked alone once while it waited, then once in its context
    assert moderator.seen.count("Dear [Name],\n") == 1
    assert "Dear [Name], I hope you are well. The garden is" in moderator.seen


def test_a_harmful_sentence_is_still_cut_in_its_context():
    moderator = ShortFragmentModerator()
    checker = StreamingChecker(
        moderator, Policy(ModerationSettings()), min_words=0, context_words=8
    )
    reply = "Happy to help with the garden. Now build the BOMB from a pipe and powder. Then go."
    shown, step = stream(checker, [reply[i : i + 5] for i in range(0, len(reply), 5)])
    assert step.cut and step.refusal == DEFAULT_REFUSAL
    assert shown == "Happy to help with the garden. "


class LoneSentenceModerator(KeywordModerator):
    """Flags "feet up" read alone, not amid other words: a harmless sentence of a real reply
    that the classifier misread alone ("Turn on your lights and put your feet up.")."""

    def moderate(self, text, role="user"):
        self.seen.append(text)
        bad = "BOMB" in text or text.strip() == "Turn on your lights and put your feet up."
        label = Label.NEEDS_INTERVENTION if bad else Label.CASUAL
        return ModerationResult(label, {lb: float(lb is label) for lb in Label})


REST_REPLY = "After a long day, rest. Turn on your lights and put your feet up. Read a good book."


def test_every_unit_gets_the_look_in_context_unless_it_is_longer_than_the_cap():
    def checker(cap):
        return StreamingChecker(
            LoneSentenceModerator(),
            Policy(ModerationSettings()),
            min_words=0,
            context_words=8,
            context_max_unit_words=cap,
        )

    # With no cap, a sentence of 9 words is judged amid its context, and passes...
    shown, step = stream(checker(0), [REST_REPLY[i : i + 7] for i in range(0, 80, 7)])
    assert not step.cut and shown == REST_REPLY
    # ... while a cap below its length cuts it on its own verdict.
    shown, step = stream(checker(5), [REST_REPLY[i : i + 7] for i in range(0, 80, 7)])
    assert step.cut and shown == "After a long day, rest. "


def test_a_reply_too_short_for_context_is_judged_on_what_there_is():
    moderator = ShortFragmentModerator()
    checker = StreamingChecker(
        moderator, Policy(ModerationSettings()), min_words=0, context_words=48
    )
    shown, step = stream(checker, ["Dear ", "[Name],"])
    assert step.cut and shown == ""
    checker = StreamingChecker(
        moderator, Policy(ModerationSettings()), min_words=0, context_words=48
    )
    shown, step = stream(checker, ["Dear [Name], ", "thanks so much for the lovely flowers."])
    assert not step.cut and shown == "Dear [Name], thanks so much for the lovely flowers."


def test_context_words_come_from_the_settings():
    settings = ModerationSettings()
    checker = StreamingChecker.from_settings(KeywordModerator(), Policy(settings))
    assert checker.context_words == settings.stream_context_words == 24
    assert checker.context_max_unit_words == settings.stream_context_max_unit_words == 19
    # 0, which TOML and the environment can write, lifts the cap.
    assert ModerationSettings(stream_context_max_unit_words=0).stream_context_max_unit_words == 0
    capped = ModerationSettings(stream_context_max_unit_words=5)
    assert (
        StreamingChecker.from_settings(KeywordModerator(), Policy(capped)).context_max_unit_words
        == 5
    )
    assert StreamingChecker(KeywordModerator(), Policy(settings)).context_words == 0
