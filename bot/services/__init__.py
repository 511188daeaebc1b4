"""Domain services: every rule lives here, with the database as the only I/O.

Conventions: functions take an ``AsyncSession`` first and keyword arguments after; they
``flush`` but never ``commit`` (the caller owns the transaction); time comes in as ``now`` so
tests can move the clock; rule violations raise :mod:`bot.errors` types with a message key.
"""
