"""Text normalisation before moderation: undo the cheap tricks that hide a harmful request
from a classifier trained on plain text.

Applied to every text the classifier sees, in training and at inference, so both sides agree:
Unicode NFKC (full-width letters, ligatures, styled maths letters), zero-width and other
invisible characters removed, common homoglyphs (Cyrillic and Greek look-alikes) mapped to
Latin, letters spaced or dotted out ("k i l l", "k.i.l.l") joined, and leetspeak inside words
("k1ll", "b0mb", "h@ck") undone. Ordinary text comes out unchanged apart from NFKC and
whitespace, so the normalisation costs nothing on clean traffic (measured in the README).
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]"
)
"""Zero-width spaces/joiners, direction marks, soft hyphens, variation selectors."""

_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
        "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m",
        "т": "t", "в": "b", "н": "h", "г": "r", "л": "n",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S",
        # Greek
        "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u",
        "ε": "e", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X", "Υ": "Y", "Ζ": "Z",
    }
)  # fmt: skip

# Only words that mix Latin letters with look-alikes are mapped, so Greek or Russian text
# stays as it is.
_MIXED_WORD = re.compile(r"(?=\w*[a-zA-Z])\w+")

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i",
     "|": "l", "€": "e"}
)  # fmt: skip
_LEET_CHARS = "013457@$!|€"
# A "word" with at least one letter and one leet character inside it, e.g. k1ll, b0mb, h@ck,
# m3th, $uicide; plain numbers (2024, 3.5) and prices have no letter and are left alone.
_LEET_WORD = re.compile(
    r"(?<![\w@$€])(?=[\w@$!|€]*[a-zA-Z])(?=[\w@$!|€]*[013457@$!|€])[\w@$!|€]{3,}"
)
_LEET_SKIP = re.compile(r"^(?:[a-z]+\d+|\d+[a-z]{1,3}|[a-z]\d)$", re.IGNORECASE)
"""Tokens that are real words with digits: mp3, h264, 4k, 10km, 3d, x86, b2b."""

# Single letters separated by the same separator each time, at least four letters: "k i l l",
# "k.i.l.l", "k-i-l-l", "k_i_l_l", "k * i * l * l".
_SPACED = re.compile(r"(?<!\w)([^\W\d_])(\s?[.\-_*/+]\s?|\s+)(?:[^\W\d_]\2){2,}[^\W\d_](?!\w)")
_SEPARATORS = re.compile(r"[\s.\-_*/+]")
_PRONOUN_RUN = re.compile(r"^([aAI])\s+(?=\S\s+\S\s+\S\s+\S)")
"""A spaced run that starts with "I" or "a" ("I k i l l"): the first letter is a word."""
_SPACES = re.compile(r"[ \t\u00a0]+")


def normalize(text: str) -> str:
    """The text a moderator should judge (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _MIXED_WORD.sub(lambda m: m.group(0).translate(_HOMOGLYPHS), text)
    text = _SPACED.sub(_join_letters, text)
    text = _LEET_WORD.sub(_unleet, text)
    return _SPACES.sub(" ", text).strip()


def _join_letters(match: re.Match[str]) -> str:
    run = match.group(0)
    pronoun = _PRONOUN_RUN.match(run)
    if pronoun:
        return pronoun.group(1) + " " + _SEPARATORS.sub("", run[pronoun.end() :])
    return _SEPARATORS.sub("", run)


def _unleet(match: re.Match[str]) -> str:
    word = match.group(0)
    if _LEET_SKIP.match(word):
        return word
    # A trailing "!" is punctuation, not an "i".
    core = word.rstrip("!")
    return core.translate(_LEET) + word[len(core) :]


__all__ = ["normalize"]
