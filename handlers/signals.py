"""Pass on a concern about a neighbour (a signal) to the welfare contact of the area.

Few questions, all optional but the kind of concern and the neighbour's agreement. No names:
the note asks for none and takes at most 140 characters. The gangmaker gets an
acknowledgement and nothing to look back at; the rules live in ``bot/services/signals.py``.
"""

from __future__ import annotations

from bot.conversation import Context, Dialog, Option
from bot.i18n import lazy
from bot.models import Area, Street, StreetStatus
from bot.services import signals, streets

dialog = Dialog("signal")


def _street_name(street: Street) -> str:
    return (street.name + (f" {street.section}" if street.section else ""))[:24]


@dialog.prompt("street")
async def ask_street(ctx: Context) -> None:
    mine = await streets.my_streets(ctx.session, ctx.person, statuses=[StreetStatus.ACTIVE])
    if not mine:
        ctx.say(ctx._("You can pass on a concern once your street takes part."))
        ctx.finish()
        return
    if len(mine) == 1:
        ctx.data["street_id"] = mine[0].id
        ctx.goto("check")
        return
    ctx.ask(
        ctx._("About a neighbour in which street?"),
        [Option(_street_name(s), str(s.id)) for s in mine[:10]],
    )


@dialog.step("street", accepts=())
async def street(ctx: Context) -> None:
    ctx.data["street_id"] = int(ctx.value or 0)
    ctx.goto("check")


@dialog.prompt("check")
async def check_contact(ctx: Context) -> None:
    """An area without a welfare contact: say so at once; nothing is stored."""
    street_row = await ctx.session.get(Street, ctx.data["street_id"])
    contact = await signals.welfare_contact_for(ctx.session, street_row) if street_row else None
    if contact is None:
        area = await ctx.session.get(Area, street_row.area_id) if street_row else None
        ctx.say(
            ctx._(
                "There is no welfare contact for {area} yet, so I cannot pass on a concern. "
                "Please talk to your project leader. Nothing was saved.",
                area=area.name if area else "-",
            )
        )
        ctx.finish()
        return
    ctx.goto("concern")


@dialog.prompt("concern")
async def ask_concern(ctx: Context) -> None:
    ctx.ask(
        ctx._("Are you worried about a neighbour? I pass it on to the welfare worker of the area.")
        + "\n"
        + ctx._("What is it about?"),
        [Option(ctx.tr(label), key) for key, label in signals.CONCERNS.items()],
    )


@dialog.step("concern", accepts=())
async def concern(ctx: Context) -> None:
    ctx.data["concern"] = ctx.value
    ctx.goto("house")


@dialog.prompt("house")
async def ask_house(ctx: Context) -> None:
    ctx.ask(
        ctx._("What is the house number? You may skip this."),
        [Option(ctx.pgettext("button", "Skip"), "skip")],
        free_text=True,
    )


@dialog.step("house", help=lazy._("Type only a house number, like 12 or 12a. No names."))
async def house(ctx: Context) -> None:
    if ctx.value != "skip":
        ctx.data["house_number"] = signals.validate_house_number(ctx.text)
    ctx.goto("note")


@dialog.prompt("note")
async def ask_note(ctx: Context) -> None:
    ctx.ask(
        ctx._("Do you want to add a short note? Please do not write names."),
        [Option(ctx.pgettext("button", "No note"), "skip")],
        free_text=True,
    )


@dialog.step("note", help=lazy._("A few words are enough. No names, please."))
async def note(ctx: Context) -> None:
    if ctx.value != "skip":
        ctx.data["note"] = signals.validate_note(ctx.text)
    ctx.goto("agreed")


@dialog.prompt("agreed")
async def ask_agreed(ctx: Context) -> None:
    ctx.yes_no(ctx._("Does the neighbour agree that you pass this on?"))


@dialog.step("agreed", accepts=())
async def agreed(ctx: Context) -> None:
    data = ctx.data
    await signals.pass_on_signal(
        ctx.session,
        actor=ctx.person,
        street_id=data["street_id"],
        concern=data["concern"],
        neighbour_agreed=ctx.value == "yes",
        house_number=data.get("house_number"),
        note=data.get("note"),
        now=ctx.now,
    )
    ctx.say(
        ctx._(
            "Thank you. I passed it on to the welfare worker of your area. "
            "We delete it after {days} days.",
            days=signals.KEEP_DAYS,
        )
    )
    ctx.finish()
