"""Mark texts at import time, translate them later in the person's language.

Module-level texts (menu labels, step help, error texts) cannot be translated when the module is
imported: the language is only known per turn. These helpers only *mark* the text, so that
``pybabel extract`` finds it (the function names are Babel's default keywords), and return a
:class:`LazyText` that ``ctx.tr(...)`` or ``Translator.tr(...)`` translates later::

    from bot.i18n import lazy

    LABEL = lazy.pgettext("row", "Lief & Leed")   # an option label, list-row context
    HINT = lazy._("Type an amount, like 12,50.")

For plain strings without a context, ``bot.i18n.N_`` (returns the msgid itself) works too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LazyText:
    msgid: str
    context: str | None = None


def _(msgid: str) -> LazyText:
    return LazyText(msgid)


def pgettext(context: str, msgid: str) -> LazyText:
    return LazyText(msgid, context)
