"""Input sanity before any dialog sees a message.

Control and invisible format characters (zero-width spaces, direction marks, BOM) are removed:
people never see them, parsers trip over them. Text longer than :data:`MAX_TEXT_CHARS` is not
passed on at all; the runtime answers it kindly and changes nothing.
"""

from __future__ import annotations

import unicodedata

MAX_TEXT_CHARS = 1000

_KEEP = {"\n"}


def clean_text(text: str) -> str:
    """Drop control (except newline) and format characters; tabs become spaces; trim."""
    out = []
    for ch in text.replace("\r\n", "\n").replace("\t", " "):
        if ch in _KEEP:
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs") and ch != "\u200d":
            continue
        out.append(ch)
    # A zero-width joiner only means something between two visible characters (emoji).
    return "".join(out).strip().strip("\u200d").strip()


def too_long(text: str) -> bool:
    return len(text) > MAX_TEXT_CHARS
