"""WhatsApp Cloud API, on pywa (async), through the webhook of ``gangmaker serve``.

- ``render``: a channel-neutral ``Reply`` as text, reply buttons (≤ 3) or a list (≤ 10 rows);
- ``adapter``: :class:`WhatsAppChannel`, updates in, runtime turns, replies out;
- ``store``: message ids already handled, delivery statuses (where a chat stands, the button
  ids, locks and retries: ``bot.channels.common``, shared with Telegram);
- ``runner``: the pywa client for the configured Graph API server, the webhook route;
- ``sender``: the outbox sender (free-form inside the 24-hour window, a template outside).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.channels.whatsapp.adapter import WhatsAppChannel
    from bot.channels.whatsapp.runner import (
        StartupError,
        make_channel,
        make_client,
        mount_webhook,
    )

__all__ = ["StartupError", "WhatsAppChannel", "make_channel", "make_client", "mount_webhook"]


def __getattr__(name: str) -> Any:
    """Loaded on first use: the worker's sender and window rules need neither pywa nor aiogram."""
    if name == "WhatsAppChannel":
        return importlib.import_module("bot.channels.whatsapp.adapter").WhatsAppChannel
    if name in __all__:
        return getattr(importlib.import_module("bot.channels.whatsapp.runner"), name)
    raise AttributeError(name)
