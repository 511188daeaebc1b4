"""Translation catalog tasks (Babel): extract, update, compile, init a new language, check.

`gangmaker i18n compile` runs at install time and in CI so the .mo files are never the only
copy in git; the .po files are the source.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"


def _pybabel(*args: str) -> int:
    cmd = [sys.executable, "-m", "babel.messages.frontend", *args]
    return subprocess.call(cmd, cwd=ROOT)


def extract() -> int:
    return _pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_",
        "-k",
        "N_",
        "-k",
        "pgettext:1c,2",
        "-k",
        "npgettext:1c,2,3",
        "-k",
        "ngettext:1,2",
        "--no-location",
        "--sort-output",
        "-o",
        str(POT),
        "bot",
        "handlers",
    )


def run_task(task: str, language: str | None = None) -> int:
    if task == "extract":
        return extract()
    if task == "update":
        return extract() or _pybabel(
            "update", "-i", str(POT), "-d", str(LOCALES), "--no-fuzzy-matching", "--ignore-obsolete"
        )
    if task == "compile":
        if not any(LOCALES.glob("*/LC_MESSAGES/*.po")):
            print("no catalogs to compile")
            return 0
        return _pybabel("compile", "-d", str(LOCALES), "--statistics")
    if task == "init":
        if not language:
            print("gangmaker i18n init needs a language code, e.g. `gangmaker i18n init so`")
            return 2
        return extract() or _pybabel("init", "-i", str(POT), "-d", str(LOCALES), "-l", language)
    if task == "check":
        return subprocess.call(
            [sys.executable, "-m", "pytest", "-q", str(ROOT / "tests" / "test_i18n.py")], cwd=ROOT
        )
    return 2
