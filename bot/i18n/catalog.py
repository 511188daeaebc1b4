"""Load the gettext catalogs under ``locales/<lang>/LC_MESSAGES/messages.po``.

A compiled ``messages.mo`` is used when it is at least as new as its ``.po``; otherwise the
``.po`` is read directly with Babel, so a fresh clone (or a catalog edited after the last
``gangmaker i18n compile``) works without a compile step. Fuzzy entries are never used.
"""

from __future__ import annotations

import gettext
import io
import logging
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import SHIPPED_LANGUAGES

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent.parent
LOCALES_DIR = ROOT / "locales"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "nl"

# Every language shown in its own name (never translated), so a person finds their own.
# More than we ship: adding a catalog is all a new language needs.
LANGUAGE_NAMES: dict[str, str] = {
    "nl": "Nederlands",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "pl": "Polski",
    "bg": "Български",
    "ro": "Română",
    "pap": "Papiamentu",
    "es": "Español",
    "pt": "Português",
    "uk": "Українська",
    "so": "Soomaali",
}

# Languages written right to left; channels may need to know.
RTL_LANGUAGES: frozenset[str] = frozenset({"ar", "fa", "he", "ur"})


def shipped_languages() -> tuple[str, ...]:
    return SHIPPED_LANGUAGES


def po_path(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def load_translations(language: str, locales_dir: Path = LOCALES_DIR) -> gettext.NullTranslations:
    """The translations of one language: .mo if fresh, else the .po, else none (msgids)."""
    po, mo = po_path(language, locales_dir), mo_path(language, locales_dir)
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    if po.exists():
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    if language != "en":
        log.warning(
            "no catalog for language %r in %s; showing English msgids", language, locales_dir
        )
    return gettext.NullTranslations()


@lru_cache(maxsize=32)
def translations(language: str) -> gettext.NullTranslations:
    """Cached :func:`load_translations` for the shipped catalogs."""
    return load_translations(language)
