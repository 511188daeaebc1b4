"""Languages: gettext catalogs, per-person translators, money and date formatting.

msgids are English; Dutch is the default language. See docs/DIALOGS.md for how to write texts.
"""

from bot.i18n.catalog import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LOCALES_DIR,
    RTL_LANGUAGES,
    load_translations,
    shipped_languages,
)
from bot.i18n.lazy import LazyText
from bot.i18n.translator import Translator, translator


def N_(msgid: str) -> str:
    """Mark a plain text for extraction without translating it now."""
    return msgid


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGE_NAMES",
    "LOCALES_DIR",
    "N_",
    "RTL_LANGUAGES",
    "LazyText",
    "Translator",
    "language_name",
    "load_translations",
    "shipped_languages",
    "translator",
]
