"""The aiohttp server of `gangmaker serve`: health now; webhooks and the dashboard mount here."""
