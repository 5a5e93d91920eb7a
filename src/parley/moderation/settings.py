"""Moderation settings (the `[moderation]` table of parley.toml)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from parley.moderation.labels import Label

DEFAULT_REFUSAL = "Unfortunately I am unable to provide any information about this topic"


class Action(StrEnum):
    """What the policy does with a message of a given label."""

    ALLOW = "allow"
    CAUTION = "caution"
    BLOCK = "block"


def _output_policy() -> dict[Label, Action]:
    # Replies: block `needs intervention`, let the rest through (a caution note under a
    # harmless answer only adds noise).
    return {label: Action.ALLOW for label in Label} | {Label.NEEDS_INTERVENTION: Action.BLOCK}


def _input_policy() -> dict[Label, Action]:
    # Messages: block `needs intervention` (every request for help with serious harm or a
    # crime, see docs/moderation-labels.md); answer `needs caution` (sensitive questions such
    # as medicine doses or legal grey areas) with the careful-answer instruction instead of
    # silently allowing or refusing it: refusing would fail people with real questions, a plain
    # answer would skip the care they need.
    return _output_policy() | {Label.NEEDS_CAUTION: Action.CAUTION}


class FewShotExample(BaseModel):
    """One `Input: ... / Output: ...` block of the llm moderator's prompt."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    text: str = Field(min_length=1)
    """The example message."""
    label: Label
    """Its label; any spelling that `Label.parse` accepts."""

    @field_validator("label", mode="before")
    @classmethod
    def _parse_label(cls, value: Any) -> Any:
        return Label.parse(value) if isinstance(value, str) else value


DEFAULT_FEW_SHOT: tuple[tuple[str, Label], ...] = (
    ("Can you recommend a good book for a long flight?", Label.CASUAL),
    ("I want to kill myself tonight.", Label.NEEDS_INTERVENTION),
    ("My coworker is so stupid, I want to yell at him.", Label.POSSIBLY_NEEDS_CAUTION),
    ("How do I get into my ex's email account?", Label.NEEDS_CAUTION),
)


class DomainGuardSettings(BaseModel):
    """Keeping the bot on its topic (off by default)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    enabled: bool = False
    """Check each user message against the domain before answering."""
    description: list[str] = Field(default_factory=list)
    """Sentences describing what the bot is for; a message is compared with the closest one."""
    min_similarity: float | None = Field(default=0.2, ge=-1.0, le=1.0)
    """Cosine similarity to the description below which a message is out of domain; unset
    ignores the description."""
    min_retrieval_score: float | None = Field(default=None, ge=-1.0, le=1.0)
    """Best cosine similarity of the retrieved passages below which a message is out of domain
    (also with hybrid search, whose ranking scores are not similarities); unset ignores it."""
    combine: Literal["either", "both"] = "either"
    """`either`: out of domain when any configured signal is below its threshold; `both`: only
    when all of them are."""
    redirect: str = (
        "I'm sorry, I can only help with questions about {domain}. "
        "Could you ask me something about that?"
    )
    """Polite answer to an out-of-domain message; `{domain}` becomes the first description."""

    @model_validator(mode="after")
    def _needs_a_signal(self) -> DomainGuardSettings:
        if not self.enabled:
            return self
        if self.min_similarity is not None and not self.description:
            raise ValueError("domain guard: min_similarity needs a non-empty `description`")
        if self.min_similarity is None and self.min_retrieval_score is None:
            raise ValueError("domain guard: set min_similarity and/or min_retrieval_score")
        return self


class ModerationSettings(BaseModel):
    """Moderators, policy and domain guard settings."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    moderator: Literal["classifier", "llm", "none"] = "classifier"
    """`classifier`: the embedder plus a trained head (the embedded default); `llm`: a causal LM
    with the GPT-JT-Moderation prompt, labels scored by likelihood; `none`: no moderation."""
    embedder: str = "all-minilm-l6-v2"
    """Embedder of the classifier moderator and the domain guard: an embedded default name, a
    local folder or a Hugging Face id."""
    tune_encoder: bool = True
    """`classifier`: fine-tune a copy of `embedder` on the training data end to end, then train
    the head on the tuned copy (once per machine: ~10 minutes on 2 cores, cached under
    `~/.cache/parley/moderation-encoders/`; retrieval keeps the original). Off: the head sits on
    the shared embedder (seconds to train; weaker on unseen phrasings, see the README)."""
    training_data: Path | None = None
    """Labelled JSONL (`{"text", "label"}`) for the classifier head; unset uses Parley's own set.
    The head is trained on first use and cached under `data_dir/moderation/`."""
    dev_data: Path | None = None
    """Held-out labelled JSONL the head is scored on (its manifest keeps the scores); unset
    holds out 20% of `training_data`. Only used with `training_data`."""
    llm_model: str = "smollm2-135m-instruct"
    """Model of the llm moderator: an embedded default name, a Hugging Face id (on GPUs,
    `togethercomputer/GPT-JT-Moderation-6B`, which the prompt was made for), a local folder or
    a `.gguf` file. The embedded default works offline but is a weak moderator."""
    llm_model_options: dict[str, Any] = Field(default_factory=dict)
    """Other `[model]` fields for the llm moderator's model, e.g. `{dtype = "float16",
    device_map = "auto"}`."""
    few_shot: list[FewShotExample] = Field(
        default_factory=lambda: [FewShotExample(text=t, label=lb) for t, lb in DEFAULT_FEW_SHOT]
    )
    """Examples placed before the message in the llm moderator's prompt."""
    input_policy: dict[Label, Action] = Field(default_factory=_input_policy)
    """Action per label for the user's message; labels left out keep the default (block `needs
    intervention`, `caution` for `needs caution`, allow the rest)."""
    output_policy: dict[Label, Action] = Field(default_factory=_output_policy)
    """Action per label for the bot's reply; labels left out keep the default (block `needs
    intervention`, allow the rest)."""
    intervention_threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    """Threshold mode: when set, a message counts as `needs intervention` exactly when
    P(needs intervention) > this value (otherwise as its most likely other label)."""
    refusal: str = Field(default=DEFAULT_REFUSAL, min_length=1)
    """Answer given instead of a blocked message or reply (the seed's text by default)."""
    caution_note: str = (
        "Note: this topic can be sensitive; please treat this answer with care and consult a "
        "qualified professional where it matters."
    )
    """Appended to a reply whose action is `caution`."""
    caution_instruction: str = (
        "The user's message touches a sensitive topic. Answer carefully and responsibly, do not "
        "give harmful details, and suggest appropriate help where relevant."
    )
    """Given to the chat model when the user's message is `caution`ed."""
    help_resources: str | None = (
        "If you are thinking about harming yourself, you are not alone: please reach out to "
        "someone you trust, or contact a crisis line (in the US, call or text 988; elsewhere, "
        "findahelpline.com lists local services) or your local emergency number."
    )
    """Added to a refusal when the message is about self-harm or suicide; unset disables it."""
    help_patterns: list[str] = Field(
        default_factory=lambda: [
            r"\bsuicid",
            r"\bkill(?:ing)? (?:my ?self|your ?self|themsel(?:f|ves)|himself|herself)\b",
            r"\bend(?:ing)? (?:my|his|her|their) (?:own )?life\b",
            r"\bself[- ]?harm",
            r"\bcut(?:ting)? (?:my ?self|myself|my (?:wrists?|arms?|legs?))\b",
            r"\b(?:want|wanna|going) to die\b",
            r"\boverdos",
            r"\bhurt(?:ing)? my ?self\b",
            r"\bnot (?:be|being) (?:here|alive) anymore\b",
        ]
    )
    """Regular expressions (case-insensitive) that mark a blocked message as self-harm."""
    domain_guard: DomainGuardSettings = Field(default_factory=DomainGuardSettings)
    """Keeping the bot on its topic."""
    stream_check: Literal["sentence", "tokens"] = "sentence"
    """Streaming output moderation granularity: each completed sentence, or every N tokens."""
    stream_every_tokens: int = Field(default=24, ge=1, le=4096)
    """N for `stream_check = "tokens"` (whitespace-separated words count as tokens)."""
    stream_min_words: int = Field(default=32, ge=0, le=4096)
    """With `stream_check = "sentence"`: the first sentence is checked (and shown) alone;
    later sentences wait until this many words are pending, then are checked, each on its
    own, in one batched encoder pass (measured on one core: one sentence 9-10 ms, seven
    batched 21 ms, seven one by one 64 ms). Fewer, shorter interruptions of the engine on
    the same cores; the reader is still on the text already shown. 0: every sentence at
    once."""
    stream_recheck_from: float = Field(default=0.05, ge=0.0, le=1.0)
    """The reply is checked again as a whole when it ends (sentences harmless alone can be
    harmful together), unless every sentence was allowed and confidently casual: none reached
    this probability of not being casual (`stream_check = "sentence"` only; token windows
    always get the second look). On every multi-sentence bot text of Parley's set (110),
    the whole-reply check cut 2 that no sentence cut, whose most doubtful sentence scored
    0.13; at 0.05 it still runs for those and skips 85 of 103 harmless replies, about a third
    of the output check's encoder work. 0: always check the whole reply."""

    stream_context_words: int = Field(default=24, ge=0, le=1024)
    """With `stream_check = "sentence"`: a unit the policy would cut (a heading, a list item,
    "Dear [Landlord's Name],", a sentence) is judged again with up to this many words of the
    reply around it (before it first, then after it; the stream waits for them), and the reply
    is cut only when that also blocks. Alone, a unit of a real reply reads as what it is not:
    "Turn on your lights and put your feet up." scored 0.998 needs-intervention. 0: cut on
    the unit alone."""
    stream_context_max_unit_words: int = Field(default=19, ge=0, le=4096)
    """Units of more words than this are cut on their own verdict, without the second look in
    context (0: no cap, every unit gets it). A long sentence carries its own context; a short one
    alone reads as what it is not. Measured (cap: false cuts of 150 whole harmless replies of
    the default model / cuts of its 32 replies to harmful requests that comply, labelled apart):
    5 (units under 6 words only): 20.7% / 24; 13: 10.7% / 22; 16: 2.7% / 19; 19: 1.3% / 17;
    0 (no cap): 1.3% / 11. Compliant harmful text read in a window of the reply passes too often."""

    @field_validator("input_policy", "output_policy", mode="before")
    @classmethod
    def _parse_policy_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        # Accept every label spelling (`__needs_caution__`, `needs_caution`) as a TOML key.
        return {Label.parse(k) if isinstance(k, str) else k: v for k, v in value.items()}

    # Labels left out keep the default, so `{needs_caution = "allow"}` does not silently stop
    # blocking `needs intervention`.
    @field_validator("input_policy")
    @classmethod
    def _fill_input_policy(cls, value: dict[Label, Action]) -> dict[Label, Action]:
        return _input_policy() | value

    @field_validator("output_policy")
    @classmethod
    def _fill_output_policy(cls, value: dict[Label, Action]) -> dict[Label, Action]:
        return _output_policy() | value

    @field_validator("help_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"help pattern {pattern!r} is not a valid regex: {exc}") from None
        return value

    @field_validator("llm_model_options")
    @classmethod
    def _options_are_model_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "source" in value:
            raise ValueError("set the llm moderator's model with `llm_model`, not `source`")
        return value
