"""Typed domain errors.

Services never raise bare exceptions for things a person can get wrong. Each error carries a
message *key* (stable, for translation) and parameters; the conversation layer turns the key into
a sentence in the person's language (see ``bot/i18n/error_texts.py``).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every rule violation a person can cause."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.key!r}, {self.params!r})"


class InvalidInput(DomainError):
    """What was typed cannot be understood or is out of range."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this person)."""


class NotAllowed(DomainError):
    """The person has no right to do this."""


class Conflict(DomainError):
    """The action clashes with the current state (e.g. already redeemed, already exists)."""


class IllegalTransition(Conflict):
    """A status change that the life cycle does not allow."""
