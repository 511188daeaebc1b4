#!/usr/bin/env python3
"""Check one language's catalog before it ships: `scripts/check_catalog.py tr`.

Reports untranslated or fuzzy entries, placeholders that differ from the msgid's, button texts
over 20 and list-row texts over 24 characters, and msgids of the code missing from the catalog.
The test suite runs the same checks over every shipped language (tests/test_i18n.py).
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.sync_catalogs import extracted  # noqa: E402

LIMITS = {"button": 20, "row": 24}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def problems(language: str) -> list[str]:
    path = ROOT / "locales" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fp:
        catalog = read_po(fp, locale=language)
    found: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        label = f"{message.context + '|' if message.context else ''}{ids[0]!r}"
        if message.fuzzy:
            found.append(f"fuzzy: {label}")
        if not all(strings):
            found.append(f"untranslated: {label}")
            continue
        if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
            found.append(f"needs {catalog.num_plurals} plural forms: {label}")
        wanted = set().union(*(placeholders(i) for i in ids))
        for text in strings:
            have = placeholders(text)
            # A plural form may leave the count out ("een bericht"), never add or drop others.
            if not (have <= wanted and wanted - {"n"} <= have if len(ids) > 1 else have == wanted):
                found.append(
                    f"placeholders {sorted(placeholders(text))} != {sorted(wanted)}: {label}"
                )
            limit = LIMITS.get(message.context or "")
            if limit and len(text) > limit:
                found.append(f"{len(text)} > {limit} chars: {label} -> {text!r}")
    present = {(m.id, m.context) for m in catalog if m.id}
    for message in extracted():
        if message.id and (message.id, message.context) not in present:
            found.append(f"missing: {message.id!r}")
    return found


if __name__ == "__main__":
    report = problems(sys.argv[1])
    print("\n".join(report) or "ok")
    print(f"{len(report)} problems")
    sys.exit(1 if report else 0)
