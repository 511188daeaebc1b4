"""What the Telegram channel says itself (everything else comes from the dialogs).

Marked for extraction here, translated per person with ``translator(language).tr(...)``;
translations live in ``locales/fragments/telegram.<lang>.po``.
"""

from __future__ import annotations

from bot.i18n import LazyText, lazy

STALE_BUTTON = lazy._("This button is no longer valid. Please use the newest message.")
GROUP_POINTER = lazy._(
    "I do not talk about streets and people in a group. Chat with me in private: {link}"
)
EDITED_MESSAGE = lazy._(
    "I do not read changed messages. Please send your answer again as a new message."
)
JOINED_STREET = lazy._("Welcome! You are now a gangmaker of {street}.")
STREET_PENDING = lazy._("A project leader still has to check this street.")

# The command menu (setMyCommands), per language; each command is also a global word.
COMMANDS: tuple[tuple[str, LazyText], ...] = (
    ("start", lazy.pgettext("command", "Start the chat")),
    ("menu", lazy.pgettext("command", "Main menu")),
    ("help", lazy.pgettext("command", "Help")),
    ("language", lazy.pgettext("command", "Choose your language")),
    ("stop", lazy.pgettext("command", "No more news messages")),
)
