"""Telegram, on aiogram 3: long polling (``gangmaker run``) or a webhook (``gangmaker serve``).

- ``render``: a channel-neutral ``Reply`` as HTML-escaped text, inline keyboards and media;
- ``callbacks``: button data ``v1|<state token>|<value>`` (≤ 64 bytes) and its checks;
- ``adapter``: :class:`TelegramChannel`, updates in, runtime turns, replies out, send retries;
- ``store``: the chat's open question (for tokens) and reachability in the database;
- ``runner``: the Bot for the configured API server, polling, the webhook route.
"""

from bot.channels.telegram.adapter import RetryPolicy, TelegramChannel
from bot.channels.telegram.runner import make_bot, mount_webhook, poll, run_polling

__all__ = ["RetryPolicy", "TelegramChannel", "make_bot", "mount_webhook", "poll", "run_polling"]
