"""Words that work anywhere in a conversation, in every shipped language, and input clean-up.

A global word is recognised when it is the whole message, case-insensitively and ignoring
punctuation, emoji and a leading "/" around it ("Menu!", "/help", "STOP 🛑"). Every shipped
language has a line per command (``tests/test_i18n.py`` checks it); all languages' words work for
everyone, because people mix languages.
"""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from pathlib import Path

from bot.config import SHIPPED_LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent.parent / "locales"


class Command(enum.StrEnum):
    MENU = "menu"
    HELP = "help"
    CANCEL = "cancel"  # stop the current dialog, back to the menu
    LANGUAGE = "language"
    STOP = "stop"  # no more announcements (opt-out); not the same as cancel
    RESUME = "resume"  # announcements again (the way back from STOP)
    ASSIST = "assist"  # "voor een buur": act for a neighbour on this phone (handlers/assisted.py)
    DONE = "done"  # "klaar": end acting for a neighbour (only then; otherwise an ordinary word)


# Data, not code: ``locales/<lang>/words.json`` holds each language's words, so a translator
# adds a language without touching Python. The first word of each command is the one shown in
# help texts.
def _load_words() -> tuple[
    dict[str, dict[Command, tuple[str, ...]]],
    dict[str, tuple[str, ...]],
    dict[str, tuple[str, ...]],
]:
    commands: dict[str, dict[Command, tuple[str, ...]]] = {}
    yes: dict[str, tuple[str, ...]] = {}
    no: dict[str, tuple[str, ...]] = {}
    for language in SHIPPED_LANGUAGES:
        path = LOCALES_DIR / language / "words.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        commands[language] = {Command(k): tuple(v) for k, v in data["commands"].items()}
        yes[language] = tuple(data["yes"])
        no[language] = tuple(data["no"])
    return commands, yes, no


COMMAND_WORDS, YES_WORDS, NO_WORDS = _load_words()
YES_EMOJI = frozenset({"👍", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "✅", "✔️", "✔"})
NO_EMOJI = frozenset({"👎", "👎🏻", "👎🏼", "👎🏽", "👎🏾", "👎🏿", "❌"})

# A lone question mark asks for help too.
HELP_MARKS = frozenset({"?", "??", "???", "❓"})

_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"(?:nr\.?|no\.?|#)?\s*([0-9]{1,3})")


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("L", "N")


def normalize(text: str) -> str:
    """Fold for matching: NFKC, case-folded, single spaces, no punctuation/emoji at the ends."""
    # Casefolding the Turkish capital İ leaves "i" plus a combining dot: drop the dot.
    folded = unicodedata.normalize("NFKC", text).casefold().replace("i\u0307", "i")
    start, end = 0, len(folded)
    while start < end and not _is_word_char(folded[start]):
        start += 1
    while end > start and not _is_word_char(folded[end - 1]):
        end -= 1
    return _SPACES.sub(" ", folded[start:end]).strip()


def _index(table: dict[str, dict[Command, tuple[str, ...]]]) -> dict[str, Command]:
    index: dict[str, Command] = {}
    for words in table.values():
        for command, spellings in words.items():
            for spelling in spellings:
                index.setdefault(normalize(spelling), command)
    return index


_COMMANDS = _index(COMMAND_WORDS)
_YES = {normalize(w) for words in YES_WORDS.values() for w in words}
_NO = {normalize(w) for words in NO_WORDS.values() for w in words}


def command_of(text: str) -> Command | None:
    """The global command this whole message is, if any."""
    if text.strip() in HELP_MARKS:
        return Command.HELP
    return _COMMANDS.get(normalize(text))


def command_word(command: Command, language: str) -> str:
    """The word to show for ``command`` in a help text in ``language``."""
    words = COMMAND_WORDS.get(language) or COMMAND_WORDS[SHIPPED_LANGUAGES[0]]
    return words[command][0]


def yes_no_of(text: str) -> str | None:
    """Return "yes", "no" or None for a typed answer ("Ja!", "nope", "👍")."""
    stripped = text.strip()
    if stripped in YES_EMOJI:
        return "yes"
    if stripped in NO_EMOJI:
        return "no"
    word = normalize(text)
    if word in _YES:
        return "yes"
    if word in _NO:
        return "no"
    return None


def number_of(text: str) -> int | None:
    """The option number a message is ("3", "3.", " 3) ", "nr 3", "3️⃣", full-width digits)."""
    match = _NUMBER.fullmatch(normalize(text))
    return int(match[1]) if match else None
