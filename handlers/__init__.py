"""The dialogs, one module per dialog (see docs/DIALOGS.md).

Every module-level :class:`~bot.conversation.Dialog` in this package is registered by
:func:`load_registry`; a new module needs no other registration. Menu entries live in
``handlers/menu.py`` and appear once the dialog they name is registered.
"""

from bot.conversation.loader import load_registry

__all__ = ["load_registry"]
