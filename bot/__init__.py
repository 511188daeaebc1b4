"""gangmaker-bot: a chat assistant for Rotterdam's street gangmakers."""

__version__ = "0.1.0"
