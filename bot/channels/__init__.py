"""Channels render replies and turn a messenger's updates into ``Incoming`` events.

Each channel is thin: it never decides anything (that is the runtime's and the dialogs' job).
``console`` is the terminal chat; Telegram and WhatsApp adapters render the same replies as
inline keyboards, reply buttons or list rows.
"""
