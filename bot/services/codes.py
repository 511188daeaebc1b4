"""Short codes people read aloud and type on a phone: invite codes, payout codes, references."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: they are mixed up when typed from paper or read over the phone.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_invite_code() -> str:
    return new_code(6)


def new_payout_code() -> str:
    # 8 symbols of 31: about 8.5e11 possibilities, unguessable for a code redeemed once.
    return new_code(8)


def new_reference() -> str:
    return "B-" + new_code(6)


def normalise_code(text: str) -> str:
    """Forgive what people do when typing a code: spaces, dashes, dots and lower case."""
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())[:32]
