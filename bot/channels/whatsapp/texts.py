"""What the WhatsApp channel says itself (everything else comes from the dialogs).

Translations live in ``locales/fragments/whatsapp.<lang>.po``; the stale-button sentence is the
Telegram channel's msgid too (one sentence, one translation).
"""

from __future__ import annotations

from bot.i18n import lazy

STALE_BUTTON = lazy._("This button is no longer valid. Please use the newest message.")
# The button that opens a list of 4-10 options (at most 20 characters).
LIST_BUTTON = lazy.pgettext("button", "Choose")

# The body of a second or later list of options when a question has more than 10.
MORE_CHOICES = lazy._("More choices ({first}–{last})")

__all__ = ["LIST_BUTTON", "MORE_CHOICES", "STALE_BUTTON"]
