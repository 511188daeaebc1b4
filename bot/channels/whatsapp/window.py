"""The 24-hour window: free-form text or an approved template, per recipient. Pure rules.

WhatsApp lets a business write freely only within 24 hours after the person's last message
(the *customer service window*); outside it only an approved *template* may open a
conversation. Templates are approved per name and language, and configured per kind of message
(``WHATSAPP_TEMPLATES``, JSON)::

    {"announcement": {"name": "gangmaker_news", "languages": ["nl", "en", "tr"],
                      "fallback": "nl"},
     "reminder": {"name": "gangmaker_reminder", "languages": ["nl"], "fallback": "nl"},
     "notice": {"name": "gangmaker_update", "languages": ["nl", "en"]}}

Each template has one body parameter, ``{{1}}``, that carries our text. A person whose language
has no approved template gets the ``fallback`` language's template (and text); without a
fallback the message is skipped with the reason ``no_template`` (the leader sees it counted).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

WINDOW = dt.timedelta(hours=24)
# A little margin: a message that leaves at 23:59:58 may arrive after the window closed.
MARGIN = dt.timedelta(minutes=5)
KINDS = ("announcement", "reminder", "notice")
PARAMETER_MAX = 1024


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    languages: frozenset[str]
    fallback: str | None = None


@dataclass(frozen=True, slots=True)
class Form:
    kind: Literal["free", "template", "skip"]
    template: str | None = None
    language: str | None = None
    reason: str | None = None


class Templates:
    def __init__(self, by_kind: dict[str, Template] | None = None) -> None:
        self.by_kind = by_kind or {}

    @classmethod
    def parse(cls, raw: str | dict[str, Any] | None) -> Templates:
        """From the JSON of ``WHATSAPP_TEMPLATES``; ValueError says what is wrong."""
        if not raw:
            return cls()
        data = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object of kinds")
        by_kind = {}
        for kind, spec in data.items():
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}; expected {', '.join(KINDS)}")
            if not isinstance(spec, dict) or not spec.get("name") or not spec.get("languages"):
                raise ValueError(f"{kind} needs a name and languages")
            languages = frozenset(str(code) for code in spec["languages"])
            fallback = spec.get("fallback")
            if fallback is not None and fallback not in languages:
                raise ValueError(f"{kind}: fallback {fallback!r} is not among its languages")
            by_kind[kind] = Template(str(spec["name"]), languages, fallback)
        return cls(by_kind)

    def __bool__(self) -> bool:
        return bool(self.by_kind)


def window_open(last_inbound_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_inbound_at is not None and now - last_inbound_at < WINDOW - MARGIN


def form_for(
    *,
    last_inbound_at: dt.datetime | None,
    now: dt.datetime,
    language: str,
    kind: str,
    templates: Templates,
) -> Form:
    """How a message of ``kind`` reaches a person in ``language`` who last wrote then."""
    if window_open(last_inbound_at, now):
        return Form("free")
    template = templates.by_kind.get(kind)
    if template is None:
        return Form("skip", reason=f"no_template: no template for {kind}")
    if language in template.languages:
        return Form("template", template.name, language)
    if template.fallback:
        return Form("template", template.name, template.fallback)
    return Form("skip", reason=f"no_template: {template.name} has no {language}")


def template_parameter(text: str) -> str:
    """Our text as a template parameter: Meta refuses new lines, tabs and runs of spaces."""
    flat = " · ".join(line.strip() for line in text.splitlines() if line.strip())
    flat = " ".join(flat.replace("\t", " ").split())
    return flat if len(flat) <= PARAMETER_MAX else flat[: PARAMETER_MAX - 1] + "…"
