"""The shipped catalogs are complete and fit the channels; the loader and formatting work.

Fails when a shipped catalog has an untranslated or fuzzy entry, a placeholder that differs from
its msgid's, a "button" text over 20 or a "row" text over 24 characters, or when a message
extracted from the code (``pybabel extract -F babel.cfg ... bot handlers``) is missing from a
catalog. Fix with ``gangmaker i18n update`` and translate (docs/DIALOGS.md).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import SHIPPED_LANGUAGES
from bot.conversation.events import BUTTON_MAX_CHARS, ROW_MAX_CHARS
from bot.conversation.words import COMMAND_WORDS, NO_WORDS, YES_WORDS, Command, normalize
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.i18n import LANGUAGE_NAMES, Translator, load_translations
from bot.i18n.catalog import LOCALES_DIR, po_path
from bot.i18n.error_texts import ERROR_TEXTS, error_text
from handlers.settings import REMINDER_LABELS

ROOT = Path(__file__).resolve().parent.parent
LIMITS = {"button": BUTTON_MAX_CHARS, "row": ROW_MAX_CHARS}
# Error keys that only the command line shows, never a chat.
CLI_ONLY_KEY_PREFIXES = ("demo.",)


def load(language: str) -> Catalog:
    with po_path(language).open("rb") as fp:
        return read_po(fp, locale=language)


def entries(catalog: Catalog):
    return [m for m in catalog if m.id]


def forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    return {language: load(language) for language in SHIPPED_LANGUAGES}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        CommandLineInterface().run(
            ["pybabel", "-q", "extract", "-F", "babel.cfg", "-o", str(pot), "bot", "handlers"]
        )
    finally:
        os.chdir(cwd)
    with pot.open("rb") as fp:
        return read_po(fp)


def describe(message) -> str:
    context = f"[{message.context}] " if message.context else ""
    return f"{context}{forms(message.id)[0]!r}"


# --- the catalogs ----------------------------------------------------------------------------


def test_every_shipped_language_has_a_catalog_and_a_name() -> None:
    for language in SHIPPED_LANGUAGES:
        assert po_path(language).exists(), f"missing {po_path(language)}"
        assert language in LANGUAGE_NAMES


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_no_untranslated_or_fuzzy_entries(catalogs, language) -> None:
    problems = []
    for message in entries(catalogs[language]):
        if message.fuzzy:
            problems.append(f"fuzzy: {describe(message)}")
        elif not all(f.strip() for f in forms(message.string)) or not message.string:
            problems.append(f"untranslated: {describe(message)}")
    assert not problems, f"{language}: " + "\n".join(problems)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_placeholders_match_the_msgid(catalogs, language) -> None:
    problems = []
    for message in entries(catalogs[language]):
        try:
            wanted = set().union(*(placeholders(i) for i in forms(message.id)))
            found = [placeholders(s) for s in forms(message.string)]
        except ValueError as exc:  # unbalanced braces
            problems.append(f"{describe(message)}: {exc}")
            continue
        if isinstance(message.id, tuple):
            # A plural form may leave out {n} ("one street"), never add a placeholder.
            ok = all(f <= wanted for f in found) and set().union(*found) == wanted
        else:
            ok = found[0] == wanted
        if not ok:
            problems.append(f"{describe(message)}: {sorted(wanted)} vs {found}")
    assert not problems, f"{language}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_buttons_and_rows_fit(catalogs, language) -> None:
    problems = []
    for message in entries(catalogs[language]):
        limit = LIMITS.get(message.context or "")
        if limit is None:
            continue
        for text in (*forms(message.id), *forms(message.string)):
            if len(text) > limit:
                problems.append(f"{describe(message)}: {text!r} is {len(text)} > {limit}")
    assert not problems, f"{language}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_reminder_rows_leave_room_for_the_on_off_mark(catalogs, language) -> None:
    for label in REMINDER_LABELS.values():
        text = catalogs[language].get(label.msgid, context=label.context).string
        assert len(text) <= ROW_MAX_CHARS - 2, text


def test_every_extracted_message_is_in_every_catalog(catalogs, extracted) -> None:
    problems = []
    for message in entries(extracted):
        for language, catalog in catalogs.items():
            found = catalog.get(message.id, context=message.context)
            if found is None or forms(found.id) != forms(message.id):
                problems.append(f"{language}: missing {describe(message)}")
    assert not problems, "run `gangmaker i18n update` and translate:\n" + "\n".join(problems)


# --- global words --------------------------------------------------------------------------


def test_every_language_has_every_global_word() -> None:
    owners: dict[str, set[Command]] = {}
    for language in SHIPPED_LANGUAGES:
        words = COMMAND_WORDS.get(language)
        assert words is not None, f"no global words for {language}"
        assert set(words) == set(Command), f"{language}: {set(Command) - set(words)}"
        assert YES_WORDS.get(language) and NO_WORDS.get(language), language
        for command, spellings in words.items():
            for spelling in spellings:
                owners.setdefault(normalize(spelling), set()).add(command)
    clashes = {word: cmds for word, cmds in owners.items() if len(cmds) > 1}
    assert not clashes, f"a word means two things: {clashes}"


# --- the loader ----------------------------------------------------------------------------


def copy_catalog(tmp_path: Path, language: str = "nl") -> Path:
    target = tmp_path / language / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True)
    shutil.copy(po_path(language), target)
    return target


def test_loader_reads_the_po_when_nothing_is_compiled(tmp_path) -> None:
    copy_catalog(tmp_path)
    t = load_translations("nl", tmp_path)
    assert t.gettext("What would you like to do?") == "Wat wil je doen?"
    assert t.pgettext("row", "Settings") == "Instellingen"
    assert t.ngettext("{n} reminder", "{n} reminders", 2) == "{n} herinneringen"


def test_loader_prefers_a_fresh_mo_and_ignores_a_stale_one(tmp_path) -> None:
    po = copy_catalog(tmp_path)
    with po.open("rb") as fp:
        catalog = read_po(fp, locale="nl")
    catalog.get("What would you like to do?").string = "Uit de mo"
    mo = po.with_suffix(".mo")
    with mo.open("wb") as fp:
        write_mo(fp, catalog)
    os.utime(po, (1_000_000, 1_000_000))
    assert load_translations("nl", tmp_path).gettext("What would you like to do?") == "Uit de mo"
    os.utime(mo, (1_000, 1_000))  # the .po was edited after compiling
    assert load_translations("nl", tmp_path).gettext("What would you like to do?") == (
        "Wat wil je doen?"
    )


def test_loader_skips_fuzzy_entries(tmp_path) -> None:
    po = copy_catalog(tmp_path)
    text = po.read_text(encoding="utf-8")
    text = text.replace(
        'msgid "What would you like to do?"', '#, fuzzy\nmsgid "What would you like to do?"'
    )
    po.write_text(text, encoding="utf-8")
    t = load_translations("nl", tmp_path)
    assert t.gettext("What would you like to do?") == "What would you like to do?"


def test_unknown_language_falls_back_to_dutch() -> None:
    assert Translator("xx").gettext("What would you like to do?") == "Wat wil je doen?"
    assert load_translations("so", LOCALES_DIR).gettext("Help") == "Help"


# --- money, dates and times ------------------------------------------------------------------

NBSP = "\u00a0"


def test_money_per_locale() -> None:
    nl, en = Translator("nl"), Translator("en")
    assert nl.money(1250) == f"€{NBSP}12,50"
    assert nl.money(25000) == f"€{NBSP}250,00"
    assert nl.money(123456) == f"€{NBSP}1.234,56"
    assert en.money(1250) == "€12.50"
    assert en.money(5) == "€0.05"


def test_dates_in_the_organisations_time_zone() -> None:
    nl, en = Translator("nl"), Translator("en")
    assert nl.date(dt.date(2026, 5, 12)) == "12 mei 2026"
    assert en.date(dt.date(2026, 5, 12)) == "May 12, 2026"
    late = dt.datetime(2026, 5, 12, 22, 30, tzinfo=dt.UTC)  # 00:30 on 13 May in Amsterdam
    assert nl.date(late) == "13 mei 2026"
    assert nl.time(late) == "00:30"
    assert nl.time(19 * 60) == "19:00"
    assert Translator("nl", "UTC").date(late) == "12 mei 2026"


def test_plurals_and_placeholders() -> None:
    nl = Translator("nl")
    assert nl.ngettext("{n} reminder", "{n} reminders", 1) == "1 herinnering"
    assert nl.ngettext("{n} reminder", "{n} reminders", 3) == "3 herinneringen"
    assert nl._("Now: {time}", time="19:00") == "Nu: 19:00"


# --- error texts -----------------------------------------------------------------------------


def test_error_texts_fill_in_money_dates_status_and_plurals() -> None:
    nl, en = Translator("nl"), Translator("en")
    assert error_text(nl, InvalidInput("budget.amount_over_max", max_cents=25000)) == (
        f"Dat is meer dan deze ronde geeft. Het kan hooguit €{NBSP}250,00 zijn."
    )
    assert error_text(en, InvalidInput("budget.amount_over_max", max_cents=25000)) == (
        "That is more than this round gives. The most is €250.00."
    )
    assert error_text(nl, Conflict("street.not_joinable", street="Kade", status="pending")) == (
        "Je kunt nu niet meedoen met Kade. De straat is nog niet goedgekeurd."
    )
    assert error_text(nl, InvalidInput("liefleed.date_too_old", earliest=dt.date(2025, 5, 12))) == (
        "Dat is te lang geleden. Typ een datum vanaf 12 mei 2025."
    )
    mismatch = InvalidInput("date.weekday_mismatch", weekday=5, date=dt.date(2026, 5, 12))
    assert error_text(nl, mismatch) == "12 mei 2026 is geen zaterdag. Kijk de datum nog eens na."
    assert error_text(en, Conflict("liefleed.edit_window_passed", days=1)) == (
        "You can change an entry only for 1 day."
    )
    assert error_text(nl, Conflict("liefleed.edit_window_passed", days=7)) == (
        "Je kunt een notitie maar 7 dagen lang veranderen."
    )
    known = InvalidInput("person.unknown_language", language="de", known=["nl", "en"])
    assert error_text(nl, known) == "Die taal ken ik niet. Kies uit: Nederlands, English."


def test_error_texts_never_fail() -> None:
    nl = Translator("nl")
    assert error_text(nl, NotFound("x.y")) == "Ik kan dat niet vinden."
    assert error_text(nl, NotAllowed("x.y")) == "Sorry, dat mag je niet doen."
    assert error_text(nl, Conflict("x.y")) == "Dat kan nu niet."
    assert error_text(nl, InvalidInput("x.y")) == "Daar kan ik niets mee. Probeer het nog eens."
    # A known key raised without the parameters its text needs: the general sentence.
    assert error_text(nl, InvalidInput("money.too_large")) == (
        "Daar kan ik niets mee. Probeer het nog eens."
    )


def test_every_error_key_in_the_code_has_a_text() -> None:
    pattern = re.compile(
        r"(?:InvalidInput|NotFound|NotAllowed|Conflict|IllegalTransition)\(\s*\"([a-z_.]+)\""
        r"|error_key=\"([a-z_.]+)\""
    )
    keys: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                keys.add(match[1] or match[2])
    missing = sorted(
        k for k in keys if k not in ERROR_TEXTS and not k.startswith(CLI_ONLY_KEY_PREFIXES)
    )
    assert not missing, "add these keys to bot/i18n/error_texts.py: " + ", ".join(missing)


def test_error_text_catalog_entries_render_in_every_language() -> None:
    for language in SHIPPED_LANGUAGES:
        t = Translator(language)
        for key, entry in ERROR_TEXTS.items():
            params = {name: 1 for name in placeholders(entry.text.msgid)}
            params |= {name: 1 for name in placeholders(entry.plural or "")}
            assert error_text(t, InvalidInput(key, **params)), key
