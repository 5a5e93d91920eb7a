"""The five moderation labels of ProsocialDialog / GPT-JT-Moderation, with their severity order."""

from __future__ import annotations

import re
from enum import StrEnum


class Label(StrEnum):
    """A moderation label; compares by severity (`casual` < ... < `needs intervention`)."""

    CASUAL = "casual"
    POSSIBLY_NEEDS_CAUTION = "possibly needs caution"
    PROBABLY_NEEDS_CAUTION = "probably needs caution"
    NEEDS_CAUTION = "needs caution"
    NEEDS_INTERVENTION = "needs intervention"

    @property
    def severity(self) -> int:
        """0 for `casual` up to 4 for `needs intervention`."""
        return _SEVERITY[self]

    @property
    def prosocial(self) -> str:
        """The ProsocialDialog spelling, e.g. `__needs_caution__`."""
        return "__" + self.value.replace(" ", "_") + "__"

    # str's own ordering is alphabetical; all four comparisons are overridden (functools'
    # total_ordering would keep str's) so that sorting and max() follow severity. Equality
    # stays str's, so `Label.CASUAL == "casual"`.
    def __lt__(self, other: object) -> bool:
        return self.severity < other.severity if isinstance(other, Label) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.severity <= other.severity if isinstance(other, Label) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.severity > other.severity if isinstance(other, Label) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.severity >= other.severity if isinstance(other, Label) else NotImplemented

    __hash__ = StrEnum.__hash__

    @classmethod
    def parse(cls, text: str) -> Label:
        """A label from any common spelling: `needs caution`, `__needs_caution__`,
        `needs_caution`, `Needs-Caution`; raises ValueError listing the known labels."""
        key = re.sub(r"[\s_\-]+", " ", str(text)).strip().lower()
        try:
            return _BY_KEY[key]
        except KeyError:
            known = ", ".join(label.value for label in SEVERITY_ORDER)
            raise ValueError(f"unknown moderation label {text!r}; known: {known}") from None


SEVERITY_ORDER: tuple[Label, ...] = (
    Label.CASUAL,
    Label.POSSIBLY_NEEDS_CAUTION,
    Label.PROBABLY_NEEDS_CAUTION,
    Label.NEEDS_CAUTION,
    Label.NEEDS_INTERVENTION,
)
"""Labels from least to most severe."""

PROMPT_ORDER: tuple[Label, ...] = (
    Label.CASUAL,
    Label.NEEDS_CAUTION,
    Label.NEEDS_INTERVENTION,
    Label.POSSIBLY_NEEDS_CAUTION,
    Label.PROBABLY_NEEDS_CAUTION,
)
"""Labels in the order GPT-JT-Moderation's prompt lists them."""

_SEVERITY = {label: rank for rank, label in enumerate(SEVERITY_ORDER)}
_BY_KEY = {label.value: label for label in SEVERITY_ORDER}
