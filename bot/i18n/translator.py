"""One person's language: gettext look-ups plus money, dates and times formatted with Babel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency

from bot.i18n.catalog import DEFAULT_LANGUAGE, RTL_LANGUAGES, shipped_languages, translations
from bot.i18n.lazy import LazyText

DEFAULT_TIMEZONE = "Europe/Amsterdam"


class Translator:
    """Translate and format for one language and one time zone.

    Every text method takes the msgid (English) and optional ``str.format`` parameters, which
    are filled in *after* translation: ``t._("Hello {name}", name="Fatima")``.
    """

    def __init__(self, language: str, timezone: str = DEFAULT_TIMEZONE) -> None:
        if language not in shipped_languages():
            language = DEFAULT_LANGUAGE
        self.language = language
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.locale = Locale.parse(language)
        self._t = translations(language)

    @property
    def rtl(self) -> bool:
        return self.language in RTL_LANGUAGES

    # --- texts -------------------------------------------------------------------------

    def gettext(self, msgid: str, /, **params: Any) -> str:
        return self._fill(self._t.gettext(msgid), params)

    _ = gettext

    def pgettext(self, context: str, msgid: str, /, **params: Any) -> str:
        return self._fill(self._t.pgettext(context, msgid), params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        """Plural by ``n``; ``{n}`` is available in the text without passing it."""
        return self._fill(self._t.ngettext(singular, plural, n), {"n": n, **params})

    def npgettext(self, context: str, singular: str, plural: str, n: int, /, **params: Any) -> str:
        return self._fill(self._t.npgettext(context, singular, plural, n), {"n": n, **params})

    def tr(self, text: LazyText | str, /, **params: Any) -> str:
        """Translate a text marked earlier with ``bot.i18n.lazy`` (or a plain msgid)."""
        if isinstance(text, LazyText):
            if text.context is not None:
                return self.pgettext(text.context, text.msgid, **params)
            return self.gettext(text.msgid, **params)
        return self.gettext(text, **params)

    # --- numbers, money and time -----------------------------------------------------------

    def money(self, cents: int) -> str:
        """Integer cents as euros in this locale: 1250 -> "€ 12,50" (nl), "€12.50" (en)."""
        return format_currency(Decimal(cents).scaleb(-2), "EUR", locale=self.locale)

    def date(self, value: dt.date | dt.datetime, format: str = "long") -> str:
        """A date ("12 mei 2026"); an aware datetime is first put in the organisation's zone."""
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        return format_date(value, format=format, locale=self.locale)

    def datetime(self, value: dt.datetime, format: str = "medium") -> str:
        """Date and time in the organisation's zone."""
        return format_datetime(self.local(value), format=format, locale=self.locale)

    def time(self, value: dt.time | dt.datetime | int, format: str = "short") -> str:
        """A clock time; an int means minutes after local midnight (as stored for settings)."""
        if isinstance(value, int):
            value = dt.time(value // 60, value % 60)
        elif isinstance(value, dt.datetime):
            value = self.local(value).time()
        return format_time(value, format=format, locale=self.locale)

    def local(self, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(self.tz)

    def _fill(self, text: str, params: dict[str, Any]) -> str:
        # Always formatted, so a missing parameter fails loudly instead of showing "{max}".
        # Texts use braces for placeholders only.
        if self.rtl:
            params = {key: isolate(value) for key, value in params.items()}
        return text.format(**params)


FSI, PDI = "\u2068", "\u2069"  # first-strong isolate ... pop directional isolate


def isolate(value: Any) -> str:
    """Wrap a street name, amount, date or code so right-to-left text cannot reorder it."""
    text = str(value)
    if not text or (text.startswith(FSI) and text.endswith(PDI)):
        return text
    return f"{FSI}{text}{PDI}"


@lru_cache(maxsize=64)
def translator(language: str | None, timezone: str = DEFAULT_TIMEZONE) -> Translator:
    """A (cached) translator; unknown or unshipped languages fall back to Dutch."""
    return Translator(language or DEFAULT_LANGUAGE, timezone)
