"""Text normalisation before moderation: undo the cheap tricks that hide a harmful request
from a classifier trained on plain text.

Applied to every text the classifier sees, in training and at inference, so both sides agree:
Unicode NFKC (full-width letters, ligatures, styled maths letters), zero-width and other
invisible characters removed, common homoglyphs (Cyrillic and Greek look-alikes) mapped to
Latin, letters spaced or dotted out ("k i l l", "k.i.l.l", a whole text "h o w   t o") joined,
and leetspeak inside words ("k1ll", "b0mb", "h@ck") undone; in a text with several such words,
short and all-digit ones too ("70" for "to", "4ll"). Styled letters NFKC leaves are mapped
(small capitals, regional-indicator letters, upside-down text) and stacked combining marks
("Zalgo") dropped. Encoded parts are decoded in place: Morse code, base64 that decodes to
readable text, and ROT13 or reversed text where the decoding reads as English and the text as
written does not. Ordinary text comes out unchanged apart from NFKC and
whitespace, so the normalisation costs nothing on clean traffic (measured in the README).
"""

from __future__ import annotations

import base64
import binascii
import codecs
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
_WORD_GAP = re.compile(r"[ \t\u00a0]{2,}")
SPACED_OUT_SHARE = 0.8
"""A text whose tokens are at least this share single characters, with wider gaps between
words ("h o w   t o   k i l l"), is spaced out as a whole."""
_ANY_LEET = re.compile(r"(?<![\w@$€])[\w@$!|€]*[013457@$!|€][\w@$!|€]*")
"""In a text that is clearly leetspeak, every token with a leet character (t0, 4ll, 70)."""
_NUMBER_CONTEXT = re.compile(r"[:.,/]\d|\d[:.,/]")
LEET_TEXT_MIN_WORDS = 2
"""Clear leet words (letters and leet characters mixed: h0w, m4k3) that mark a text as
leetspeak, so that short and all-digit tokens are read as leet too."""

_BASE64 = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{16,}={0,2}(?![\w+/=-])")
"""A run that may be base64 (standard or URL-safe), at least 16 characters (12 bytes)."""
_SEGMENT = re.compile(r"[^\n:.?!\"]+")
"""Parts of a text checked for ROT13 or reversal one by one: a request and its encoded
payload are usually apart ("ROT13: ubj gb ...")."""
_ASCII_WORD = re.compile(r"[a-z]{2,}")
_COMMON_WORDS = frozenset(
    {
        "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "before",
        "best", "by", "can", "could", "do", "does", "explain", "find", "for", "from", "get", "give",
        "go", "have", "help", "how", "if", "in", "into", "is", "it", "just", "know", "like", "list",
        "make", "many", "me", "more", "most", "much", "my", "need", "not", "of", "on", "one", "or",
        "other", "out", "people", "please", "should", "so", "some", "someone", "step", "steps",
        "take", "tell", "than", "that", "the", "their", "them", "then", "there", "they", "this",
        "time", "to", "up", "use", "want", "was", "way", "we", "what", "when", "where", "which",
        "who", "why", "will", "with", "without", "would", "write", "you", "your",
    }
)  # fmt: skip
"""Common English words of no topic: whether a decoding reads as English says nothing about
what it is about."""
MIN_DECODED_WORDS = 3
"""Distinct common words a decoding must have (more than the text as written) to be used."""

_STYLED = str.maketrans(
    {
        # small capitals, which NFKC leaves as they are
        "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
        "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ǫ": "q", "ʀ": "r",
        "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
        # regional indicator symbols (🇰🇮🇱🇱); a flag becomes its country code
        **{chr(0x1F1E6 + i): chr(ord("a") + i) for i in range(26)},
    }
)  # fmt: skip
ZALGO_MARKED_SHARE = 0.5
"""A text whose letters carry combining marks at least this often (counted decomposed) is
"Zalgo" text: every mark is dropped. Accented languages stay far below (French ~4%)."""
ZALGO_STACKED = 3
"""...as is one with this many letters carrying two marks or more (Vietnamese is dropped too,
which an English classifier reads no worse)."""

_FLIPPED = str.maketrans(
    {
        "ɐ": "a", "q": "b", "ɔ": "c", "p": "d", "ǝ": "e", "ɟ": "f", "ƃ": "g", "ɥ": "h", "ı": "i",
        "ɾ": "j", "ʞ": "k", "ɯ": "m", "u": "n", "n": "u", "d": "p", "b": "q", "ɹ": "r", "ʇ": "t",
        "ʌ": "v", "ʍ": "w", "ʎ": "y", "¿": "?", "¡": "!", "˙": ".",
    }
)  # fmt: skip
_FLIPPED_ONLY = re.compile("[ɐɔǝɟƃɥɾʞɯɹʇʍʎ]")
"""Letters only upside-down text has (not ʌ, which IPA uses for English "cup")."""
MIN_FLIPPED = 3
"""Distinct such letters a text needs to be turned over (IPA uses a few of them)."""
_MORSE_CODE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g",
    "....": "h", "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n",
    "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u",
    "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z", "-----": "0",
    ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
    "--...": "7", "---..": "8", "----.": "9",
}  # fmt: skip
_MORSE_RUN = re.compile(
    r"(?<![\w.-])[.-]{1,5}(?:(?:[ \t]*[/|][ \t]*|[ \t]+)[.-]{1,5}){3,}(?![\w.-])"
)
_MORSE_WORD_GAP = re.compile(r"[ \t]*[/|][ \t]*|[ \t]{2,}")

NORMALIZER_VERSION = 4
"""Bumped when the normalisation changes (tuned encoders and heads learnt on its output)."""


def normalize(text: str) -> str:
    """The text a moderator should judge (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _drop_zalgo_marks(text)
    text = text.translate(_STYLED)
    text = _unflip(text)
    text = _MORSE_RUN.sub(_decode_morse, text)
    text = _BASE64.sub(_decode_base64, text)
    text = _MIXED_WORD.sub(lambda m: m.group(0).translate(_HOMOGLYPHS), text)
    text = _join_spaced_out(text)
    text = _SPACED.sub(_join_letters, text)
    clear_leet = [w for w in _LEET_WORD.findall(text) if not _LEET_SKIP.match(w)]
    if len(clear_leet) >= LEET_TEXT_MIN_WORDS:
        text = _ANY_LEET.sub(_unleet_in_leet_text, text)
    else:
        text = _LEET_WORD.sub(_unleet, text)
    # Last: leetspeak and spaced letters read as no English before they are undone.
    text = _SEGMENT.sub(_undo_rot13_or_reversal, text)
    return _SPACES.sub(" ", text).strip()


def _drop_zalgo_marks(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    marked = stacked = letters = 0
    run = 0
    for char in decomposed + " ":
        if unicodedata.combining(char):
            run += 1
            continue
        if run:
            marked += 1
            stacked += run >= 2
        run = 0
        letters += char.isalpha()
    if marked < ZALGO_MARKED_SHARE * max(letters, 1) and stacked < ZALGO_STACKED:
        return text
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", plain)


def _unflip(text: str) -> str:
    """Upside-down text ("ɥoʍ oʇ"), also written backwards so it reads when turned over."""
    if len(set(_FLIPPED_ONLY.findall(text))) < MIN_FLIPPED:
        return text
    turned = text.translate(_FLIPPED)
    backwards = turned[::-1]
    return (
        backwards if len(_english_words(backwards)[0]) > len(_english_words(turned)[0]) else turned
    )


def _decode_morse(match: re.Match[str]) -> str:
    run = match.group(0)
    if "." not in run or "-" not in run:
        return run  # rows of dots or of dashes are punctuation
    words = []
    for word in _MORSE_WORD_GAP.split(run.strip()):
        letters = [_MORSE_CODE.get(code) for code in word.split()]
        if not letters or None in letters:
            return run
        words.append("".join(letter for letter in letters if letter))
    return " ".join(words)


def _decode_base64(match: re.Match[str]) -> str:
    blob = match.group(0)
    if blob.isalpha() and not (
        any(c.isupper() for c in blob[1:]) and any(c.islower() for c in blob)
    ):
        return blob  # a long word ("circonstancielle" is valid base64 too)
    altchars = b"-_" if "-" in blob or "_" in blob else None
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), altchars=altchars, validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return blob
    plain = sum(c.isascii() and (c.isprintable() or c in "\n\t") for c in decoded)
    wordy = sum(c.isalpha() or c == " " for c in decoded)
    if " " not in decoded.strip() or plain < 0.9 * len(decoded) or wordy < 0.7 * len(decoded):
        return blob  # a hash, key or id that happens to be valid base64, not a phrase
    return f" {decoded} "


def _english_words(text: str) -> tuple[set[str], int]:
    """(the common English words, the number of words) among the ASCII words of `text`."""
    words = _ASCII_WORD.findall(text.lower())
    return {w for w in words if w in _COMMON_WORDS}, len(words)


def _undo_rot13_or_reversal(match: re.Match[str]) -> str:
    segment = match.group(0)
    common, count = _english_words(segment)
    if count < MIN_DECODED_WORDS or len(common) > 1:
        return segment  # too short to tell, or English as written
    core = segment.strip()
    for decoded in (codecs.decode(core, "rot13"), core[::-1]):
        decoded_common, _ = _english_words(decoded)
        if len(decoded_common) >= MIN_DECODED_WORDS and 5 * len(decoded_common) >= count:
            start = segment.index(core)
            return segment[:start] + decoded + segment[start + len(core) :]
    return segment


def _join_spaced_out(text: str) -> str:
    # Letters one space apart and words further apart: each word's letters are joined. The
    # per-run pattern below cannot see word boundaries in such text and joined it in pieces.
    tokens = text.split()
    if len(tokens) < 6 or not _WORD_GAP.search(text):
        return text
    if sum(len(t) == 1 for t in tokens) < SPACED_OUT_SHARE * len(tokens):
        return text
    lines = []
    for line in text.splitlines():
        words = (_SPACES.sub("", word) for word in _WORD_GAP.split(line.strip()))
        lines.append(" ".join(w for w in words if w))
    return "\n".join(lines)


def _join_letters(match: re.Match[str]) -> str:
    run = match.group(0)
    pronoun = _PRONOUN_RUN.match(run)
    if pronoun:
        return pronoun.group(1) + " " + _SEPARATORS.sub("", run[pronoun.end() :])
    return _SEPARATORS.sub("", run)


def _unleet_in_leet_text(match: re.Match[str]) -> str:
    # Still leave numbers written with separators (02:14, 3.5, 1,000) alone.
    start, end = match.span()
    around = match.string[max(0, start - 2) : end + 2]
    if _NUMBER_CONTEXT.search(around) and not any(c.isalpha() for c in match.group(0)):
        return match.group(0)
    word = match.group(0)
    core = word.rstrip("!")
    return core.translate(_LEET) + word[len(core) :]


def _unleet(match: re.Match[str]) -> str:
    word = match.group(0)
    if _LEET_SKIP.match(word):
        return word
    # A trailing "!" is punctuation, not an "i".
    core = word.rstrip("!")
    return core.translate(_LEET) + word[len(core) :]


__all__ = ["normalize"]
