"""Parse a positive whole number typed by a person (participants, households, ...).

Volunteers answer in chat, so "ongeveer 20", "±20" or "20 mensen" must simply mean 20. Anything
we cannot read with certainty is refused with an ``InvalidInput`` so the bot can ask again,
rather than guessing. This module also holds the small text helpers shared by the other parsers.
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import InvalidInput

# Longest text we even try to read; anything longer is not an answer to "how many?".
MAX_INPUT_CHARS = 100

# Hard ceiling when the caller gives no maximum, so a count always fits a 32-bit column.
HARD_MAX_COUNT = 1_000_000

# Words that only say "roughly"; they carry no value, so they are dropped. Data, not code.
# fmt: off
APPROXIMATION_PREFIXES: tuple[str, ...] = (
    "ongeveer", "ong.", "circa", "ca.", "ca", "zo'n", "zo’n", "rond de", "rondom", "rond",
    "plusminus", "plm.", "plm", "about", "around", "approximately", "approx.", "approx",
    "roughly", "some", "±", "+/-", "+-", "~", "≈", "c.",
)
APPROXIMATION_SUFFIXES: tuple[str, ...] = ("ongeveer", "or so", "ish", "ca.", "ca", "~")

# Nouns people add after a count ("20 mensen"); they do not change the number.
COUNT_NOUNS: tuple[str, ...] = (
    "mensen", "personen", "persoon", "pers.", "pers", "deelnemers", "deelnemer", "man",
    "huishoudens", "huishouden", "gezinnen", "gezin", "families", "familie",
    "people", "persons", "person", "participants", "participant", "households", "household",
    "family",
)

# Number words per language. A token made only of these (plus joiners like "en" in
# "vijfentwintig") means the person spelled the number out; we refuse that kindly.
NUMBER_WORD_STEMS: dict[str, tuple[str, ...]] = {
    "nl": (
        "nul", "een", "één", "eén", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht",
        "negen", "tien", "elf", "twaalf", "dertien", "veertien", "vijftien", "zestien",
        "zeventien", "achttien", "negentien", "twintig", "dertig", "veertig", "vijftig",
        "zestig", "zeventig", "tachtig", "negentig", "honderd", "duizend", "miljoen",
        "half", "halve", "anderhalf", "tientje", "tientjes", "vijfje", "vijfjes", "knaak",
        "knaken", "piek", "pieken", "geen",
    ),
    "en": (
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
        "eighty", "ninety", "hundred", "thousand", "million", "half", "dozen", "none",
        "fiver", "tenner", "quid", "bucks",
    ),
}
NUMBER_WORD_JOINERS: tuple[str, ...] = ("en", "ën", "and")
# fmt: on

_STEMS = sorted({s for stems in NUMBER_WORD_STEMS.values() for s in stems}, key=len, reverse=True)
_STEM_RE = "|".join(re.escape(s) for s in _STEMS)
_JOIN_RE = "|".join(re.escape(j) for j in NUMBER_WORD_JOINERS)
_NUMBER_WORD = re.compile(rf"(?:{_STEM_RE})(?:{_STEM_RE}|{_JOIN_RE})*")
_LETTERS = re.compile(r"[^\W\d_]+")
_SPACES = re.compile(r"\s+")
_COUNT = re.compile(r"(?P<sign>[-−–—+]?)\s*(?P<digits>[0-9]+)\.?")


def normalize_typed(text: str) -> str:
    """Fold typed text to one canonical form so the parsers see one spelling per thing.

    NFKC turns full-width digits and no-break spaces into plain ones; format characters
    (zero-width spaces, direction marks, BOM) are invisible to the person, so we drop them.
    """
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return _SPACES.sub(" ", visible.casefold()).strip()


def contains_number_word(text: str) -> bool:
    """Tell whether normalized ``text`` spells a number out ("twaalf", "twenty-five")."""
    return any(
        _NUMBER_WORD.fullmatch(token) and token not in NUMBER_WORD_JOINERS
        for token in _LETTERS.findall(text)
    )


def _strip_affixes(text: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> str:
    """Remove any of the given leading/trailing words (repeatedly) from normalized text."""
    changed = True
    while changed and text:
        changed = False
        for prefix in prefixes:
            if text.startswith(prefix) and not _glued_word(prefix, text[len(prefix) :]):
                text, changed = text[len(prefix) :].lstrip(), True
        for suffix in suffixes:
            if text.endswith(suffix) and not _glued_word(suffix, text[: -len(suffix)], end=True):
                text, changed = text[: -len(suffix)].rstrip(), True
    return text


def _glued_word(affix: str, rest: str, *, end: bool = False) -> bool:
    """True if removing a word affix would cut a longer word in half ("rond" in "rondje")."""
    if not rest or not affix[-1 if not end else 0].isalpha():
        return False
    neighbour = rest[-1] if end else rest[0]
    return neighbour.isalpha()


def parse_count(text: str, *, min_value: int = 1, max_value: int | None = None) -> int:
    """Read a whole count such as "20", "ongeveer 20", "±20" or "20 mensen".

    Raises ``InvalidInput`` with "number.words" (spelled out), "number.not_a_number",
    "number.too_small" (param ``min``) or "number.too_large" (param ``max``).
    """
    ceiling = HARD_MAX_COUNT if max_value is None else max_value
    cleaned = normalize_typed(text)
    if not cleaned or len(cleaned) > MAX_INPUT_CHARS:
        raise InvalidInput("number.not_a_number")
    core = _strip_affixes(cleaned, APPROXIMATION_PREFIXES, APPROXIMATION_SUFFIXES)
    core = _strip_affixes(core, (), COUNT_NOUNS)
    core = _strip_affixes(core, APPROXIMATION_PREFIXES, APPROXIMATION_SUFFIXES)
    match = _COUNT.fullmatch(core)
    if match is None:
        if contains_number_word(cleaned):
            raise InvalidInput("number.words")
        raise InvalidInput("number.not_a_number")
    digits = match["digits"].lstrip("0") or "0"
    if len(digits) > len(str(ceiling)):
        raise InvalidInput("number.too_large", max=ceiling)
    value = int(digits)
    if match["sign"] not in ("", "+") and value != 0:
        raise InvalidInput("number.too_small", min=min_value)
    if value < min_value:
        raise InvalidInput("number.too_small", min=min_value)
    if value > ceiling:
        raise InvalidInput("number.too_large", max=ceiling)
    return value
