"""My data: the privacy notice in plain words, and everything we store as a file.

The settings dialog (``handlers/settings.py``) and first contact (``handlers/start.py``) show
these; the rules are in ``bot/services/privacy.py`` (what is stored, exported and deleted) and
``bot/services/retention.py`` (how long).
"""

from __future__ import annotations

from bot.conversation import Context, Media
from bot.conversation.words import Command, command_word
from bot.services import privacy, retention


def privacy_notice(ctx: Context) -> str:
    """The longer privacy notice, in the person's language."""
    return "\n\n".join(
        [
            ctx._("How we handle your data"),
            ctx._(
                "What we store: your chat address, your first name, your language and what "
                "you tell us about your street: sign-ups, requests and Lief & Leed."
            ),
            ctx._(
                "Why: to run this chat, the activities in your street and the contributions. "
                "We do not sell or share your data. A welfare worker only gets a concern that "
                "a gangmaker chooses to pass on."
            ),
            ctx._(
                "How long: Lief & Leed notes {liefleed_years} years, concerns about neighbours "
                "{signal_days} days, an unfinished conversation {state_days} days. Money "
                "matters of the street stay, without your name.",
                liefleed_years=retention.LIEFLEED_YEARS,
                signal_days=retention.SIGNAL_DAYS,
                state_days=retention.STATE_DAYS,
            ),
            ctx._(
                "Helping a neighbour on your phone: we store only their initials, house number "
                "and language."
            ),
            ctx._(
                "A neighbour without a phone of their own: the person who helps them can stop "
                "their street news or delete all their data. Type {assist}, give the same "
                "initials and house number, and choose “Delete their data”.",
                assist=command_word(Command.ASSIST, ctx.language),
            ),
            ctx._(
                "See or delete your data: go to Settings, then My data. You get a file with "
                "everything, or you delete it all."
            ),
        ]
    )


async def send_export(ctx: Context) -> None:
    """Everything we store about the person, as a JSON file (a document on Telegram; the
    terminal chat shows its path)."""
    data = await privacy.export_person(ctx.session, ctx.person, now=ctx.now)
    path = privacy.write_export(data)
    ctx.say(
        ctx._("Here is everything we store about you, as a file."),
        media=Media("document", str(path)),
    )
