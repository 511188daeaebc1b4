"""Help: what this chat does, in plain words, the words that always work, and who to ask."""

from __future__ import annotations

from bot.conversation import Context, Dialog
from bot.conversation.words import Command, command_word
from bot.models import Role
from bot.services import people, streets

dialog = Dialog("help")


def _word(ctx: Context, command: Command) -> str:
    return command_word(command, ctx.language)


@dialog.prompt("show")
async def show_help(ctx: Context) -> None:
    roles = await people.effective_roles(ctx.session, ctx.person)
    lines = [ctx._("I help you do things for your street, in a chat.")]
    if Role.GANGMAKER in roles:
        lines.append(
            ctx._(
                "You can ask for a contribution for a street activity and keep track of "
                "Lief & Leed."
            )
        )
    elif not roles & {Role.LEADER, Role.THEME_LEAD, Role.PAYOUT, Role.ADMIN}:
        lines.append(
            ctx._("Do you want to do something nice with your neighbours? Sign up your street.")
        )
    if roles & {Role.LEADER, Role.THEME_LEAD, Role.ADMIN}:
        lines.append(ctx._("As a project leader you check requests and new streets."))
    if roles & {Role.PAYOUT, Role.ADMIN}:
        lines.append(ctx._("As a payout point you cash the codes of gangmakers."))
    lines.append(ctx._("Choose something from the menu: type its number."))
    lines.append(
        ctx._(
            "These words always work: {menu}, {help}, {cancel} (stop what you are doing), "
            "{language} and {stop} (no more news messages).",
            menu=_word(ctx, Command.MENU),
            help=_word(ctx, Command.HELP),
            cancel=_word(ctx, Command.CANCEL),
            language=_word(ctx, Command.LANGUAGE),
            stop=_word(ctx, Command.STOP).upper(),
        )
    )

    contacts: list[str] = []
    for street in await streets.my_streets(ctx.session, ctx.person):
        contact = await streets.area_contact(ctx.session, street)
        if contact and contact not in contacts:
            contacts.append(contact)
    if contacts:
        lines.append(ctx._("Questions? Ask your project leader:") + "\n" + "\n".join(contacts))
    else:
        lines.append(
            ctx._("Questions? Contact {organisation}.", organisation=ctx.organisation.name)
        )
    ctx.say("\n\n".join(lines))
    ctx.finish()
