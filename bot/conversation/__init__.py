"""Channel-neutral conversations: events in, replies out, dialogs written once.

Dialog writers need only this import::

    from bot.conversation import Context, Dialog, Option

See docs/DIALOGS.md.
"""

from bot.conversation.dialog import (
    Context,
    Dialog,
    MenuEntry,
    MenuFacts,
    Registry,
    Step,
    everyone,
)
from bot.conversation.events import (
    BUTTON_MAX_CHARS,
    MAX_OPTIONS,
    ROW_MAX_CHARS,
    Chosen,
    Contact,
    Incoming,
    Location,
    Media,
    Option,
    Photo,
    Reply,
    Text,
)
from bot.conversation.runtime import Runtime

__all__ = [
    "BUTTON_MAX_CHARS",
    "MAX_OPTIONS",
    "ROW_MAX_CHARS",
    "Chosen",
    "Contact",
    "Context",
    "Dialog",
    "Incoming",
    "Location",
    "Media",
    "MenuEntry",
    "MenuFacts",
    "Option",
    "Photo",
    "Registry",
    "Reply",
    "Runtime",
    "Step",
    "Text",
    "everyone",
]
