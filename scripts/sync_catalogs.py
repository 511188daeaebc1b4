#!/usr/bin/env python3
"""Rebuild every shipped catalog from the code, keeping translations, adding fragments.

Several people writing dialogs at once cannot all edit ``messages.po``: each writes the
translations of its own new texts to ``locales/fragments/<name>.<lang>.po`` and runs this
script, which extracts the msgids from ``bot/`` and ``handlers/`` and writes, per language,
``messages.po`` = every extracted message, translated from the fragments or the old catalog.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.config import SHIPPED_LANGUAGES  # noqa: E402
from bot.i18n.catalog import po_path  # noqa: E402

KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}
FRAGMENTS = ROOT / "locales" / "fragments"


def extracted() -> Catalog:
    pot = Catalog()
    for folder in ("bot", "handlers"):
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            pot.add(message, context=context)
    return pot


def read(path: Path, language: str) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=language)


def sync(language: str, pot: Catalog) -> int:
    sources = []
    if po_path(language).exists():
        sources.append(read(po_path(language), language))
    sources += [read(p, language) for p in sorted(FRAGMENTS.glob(f"*.{language}.po"))]
    known: dict[tuple[object, str | None], object] = {}
    for source in sources:  # later sources (fragments) win
        for message in source:
            if message.id and message.string and not message.fuzzy:
                known[(message.id, message.context)] = message.string
    old = sources[0] if sources else Catalog(locale=language)
    catalog = Catalog(locale=language, project="gangmaker-bot", version="0.1.0", fuzzy=False)
    catalog.plural_forms  # noqa: B018  (babel fills it from the locale)
    missing = 0
    for message in pot:
        if not message.id:
            continue
        string = known.get((message.id, message.context), "")
        if not string:
            missing += 1
        catalog.add(message.id, string, context=message.context)
    catalog.header_comment = old.header_comment
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        sort_output=True,
        omit_header=False,
        ignore_obsolete=True,
        include_previous=False,
        width=100,
    )
    po_path(language).parent.mkdir(parents=True, exist_ok=True)
    po_path(language).write_bytes(buffer.getvalue())
    return missing


def main() -> int:
    pot = extracted()
    status = 0
    for language in SHIPPED_LANGUAGES:
        missing = sync(language, pot)
        print(f"{language}: {len([m for m in pot if m.id])} messages, {missing} untranslated")
        status = status or (1 if missing else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
