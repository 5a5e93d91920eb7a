"""Policy: what to do with a moderated message, per label and per direction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from parley.moderation.base import ModerationResult, Role
from parley.moderation.labels import Label
from parley.moderation.settings import Action, ModerationSettings


@dataclass(frozen=True)
class Decision:
    """The policy's verdict on one message or reply."""

    action: Action
    label: Label
    """The label the action was chosen for (after threshold mode, if set)."""
    result: ModerationResult
    """The moderator's raw result."""
    message: str | None = None
    """For `block`: the refusal to show instead (with help resources for self-harm). For
    `caution`: the note to append to the reply."""
    instruction: str | None = None
    """For `caution` on the user's message: guidance to give the chat model."""

    @property
    def blocked(self) -> bool:
        return self.action is Action.BLOCK


class Policy:
    """Maps a moderation result to an action for the user's input or the bot's output."""

    def __init__(self, settings: ModerationSettings) -> None:
        self.settings = settings
        self._help = [re.compile(p, re.IGNORECASE) for p in settings.help_patterns]

    def effective_label(self, result: ModerationResult) -> Label:
        """The label acted on: the top label, or in threshold mode `needs intervention` exactly
        when P(needs intervention) > threshold (else the most likely other label)."""
        threshold = self.settings.intervention_threshold
        if threshold is None:
            return result.label
        if result.probability(Label.NEEDS_INTERVENTION) > threshold:
            return Label.NEEDS_INTERVENTION
        others = {lb: p for lb, p in result.scores.items() if lb is not Label.NEEDS_INTERVENTION}
        return max(others, key=lambda lb: (others[lb], lb.severity)) if others else Label.CASUAL

    def decide(self, result: ModerationResult, role: Role, text: str = "") -> Decision:
        """The decision for `text` (used to spot self-harm) written by `role`."""
        label = self.effective_label(result)
        table = self.settings.input_policy if role == "user" else self.settings.output_policy
        action = table.get(label, Action.ALLOW)
        if action is Action.BLOCK:
            return Decision(action, label, result, message=self.refusal(text))
        if action is Action.CAUTION:
            instruction = self.settings.caution_instruction if role == "user" else None
            return Decision(
                action, label, result, message=self.settings.caution_note, instruction=instruction
            )
        return Decision(action, label, result)

    def refusal(self, text: str = "") -> str:
        """The refusal, pointing to help resources when `text` is about self-harm."""
        refusal = self.settings.refusal
        if self.settings.help_resources and self.is_self_harm(text):
            return (
                f"{refusal}. {self.settings.help_resources}"
                if refusal[-1:].isalnum()
                else (f"{refusal} {self.settings.help_resources}")
            )
        return refusal

    def is_self_harm(self, text: str) -> bool:
        """Whether `text` matches one of the configured self-harm patterns."""
        return any(p.search(text) for p in self._help)
