"""A neighbour's side of the street invite: subscribe to street news, send a tip, stop.

Opened by the invite link (``/start n-<code>``, data ``{"code": ...}``; a new person first
chooses a language and agrees in the start dialog), or from the menu ("My street news") by a
resident. No name and no house number are asked: the person, the street and their language are
all we keep.

In assisted mode ("voor een buur", ``handlers/assisted.py``) "My street news" is done for a
neighbour without a chat app: the helper picks one of their own streets or types the code from
the street's card (step ``helped``), and the news comes to the helper's phone in the
neighbour's language. Stopping it there deletes the neighbour's subscription (and, when nothing
else of them is left, the neighbour's data when the help ends).
"""

from __future__ import annotations

from bot.conversation import Context, Dialog, Option
from bot.conversation.words import Command, command_word
from bot.errors import DomainError
from bot.i18n import lazy
from bot.i18n.error_texts import error_text
from bot.models import Street
from bot.services import neighbours
from bot.services.neighbours import street_label

dialog = Dialog("neighbour", entry="open")


# --- from the invite link ------------------------------------------------------------------


@dialog.prompt("open")
async def show_invite(ctx: Context) -> None:
    try:
        street = await neighbours.street_of_code(
            ctx.session, organisation_id=ctx.organisation.id, code=str(ctx.data.get("code") or "")
        )
    except DomainError as error:
        ctx.say(error_text(ctx.t, error))
        ctx.finish()
        return
    label = street_label(street)
    if await neighbours.is_subscribed(ctx.session, ctx.person, street.id):
        ctx.say(ctx._("You already get the street news of {street}.", street=label))
        ctx.finish()
        return
    ctx.data["street_id"] = street.id
    ctx.say(
        "\n".join(
            [
                ctx._("Street news of {street}", street=label),
                "• "
                + ctx._(
                    "You get short messages from the gangmakers of your street, in your own"
                    " language: a street party, a clean-up day, a meeting."
                ),
                "• "
                + ctx._("We keep only your chat address and your language. No name, no address."),
                "• "
                + ctx._(
                    "You can stop at any time: send {stop}.",
                    stop=command_word(Command.STOP, ctx.language).upper(),
                ),
            ]
        )
    )
    ctx.yes_no(
        ctx._("Do you want the street news?"),
        yes=ctx.pgettext("button", "Yes, please"),
        no=ctx.pgettext("button", "No, thanks"),
    )


@dialog.step("open", accepts=())
async def answer_invite(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.say(ctx._("Okay, you get no street news. Nothing was saved."))
        ctx.finish()
        return
    street = await ctx.session.get(Street, int(ctx.data["street_id"]))
    assert street is not None
    await neighbours.subscribe(ctx.session, person=ctx.person, street=street, now=ctx.now)
    lines = [
        ctx._("Done! You now get the street news of {street}.", street=street_label(street)),
        ctx._(
            "Do you know about a birth, an illness or a sad loss in the street? Send your"
            " gangmakers a tip: choose “My street news” in the menu."
        ),
    ]
    if ctx.person.announcements_opt_out:
        lines.append(
            ctx._(
                "You sent STOP before, so messages are off. Send {resume} to turn them on.",
                resume=command_word(Command.RESUME, ctx.language).upper(),
            )
        )
    ctx.say("\n\n".join(lines))
    ctx.finish()


# --- from the menu ----------------------------------------------------------------------


@dialog.prompt("mine")
async def ask_street(ctx: Context) -> None:
    mine = await neighbours.my_subscriptions(ctx.session, ctx.person)
    if not mine and ctx.acting is not None:
        ctx.goto("helped")  # a neighbour on a helper's phone: subscribe them
        return
    if not mine:
        ctx.say(
            ctx._(
                "You get no street news yet. Ask the gangmakers of your street for the link,"
                " or scan the QR code on their card."
            )
        )
        ctx.finish()
        return
    if len(mine) == 1:
        ctx.data["street_id"] = mine[0].id
        ctx.goto("action")
        return
    ctx.ask(
        ctx._("For which street?"), [Option(street_label(s)[:24], str(s.id)) for s in mine[:10]]
    )


@dialog.step("mine", accepts=())
async def choose_street(ctx: Context) -> None:
    ctx.data["street_id"] = int(ctx.value or 0)
    ctx.goto("action")


@dialog.prompt("action")
async def ask_action(ctx: Context) -> None:
    street = await ctx.session.get(Street, int(ctx.data["street_id"]))
    assert street is not None
    options = [
        Option(ctx.pgettext("button", "Send a tip"), "tip"),
        Option(ctx.pgettext("button", "Stop street news"), "stop"),
    ]
    if ctx.acting is not None:
        options.append(Option(ctx.pgettext("button", "Another street"), "add"))
    ctx.ask(
        ctx._("Street news of {street}. What would you like to do?", street=street_label(street)),
        options,
    )


@dialog.step("action", accepts=())
async def action(ctx: Context) -> None:
    ctx.goto({"tip": "tip", "add": "helped"}.get(ctx.value or "", "stop"))


# --- for a neighbour on a helper's phone (assisted mode) ----------------------------------


@dialog.prompt("helped")
async def ask_helped_street(ctx: Context) -> None:
    if ctx.acting is None:  # only in assisted mode
        ctx.finish()
        return
    initials = ctx.acting.initials
    streets = await neighbours.streets_to_offer(
        ctx.session, helper=ctx.acting.helper, person=ctx.person
    )
    lines = [
        ctx._(
            "Which street news should {initials} get? It comes to this phone, in the language"
            " of {initials}.",
            initials=initials,
        )
    ]
    if streets:
        lines.append(ctx._("Choose the street, or type the code from the street's card."))
    else:
        lines.append(ctx._("Type the code from the street's card. For example: ABCD2345."))
    ctx.ask(
        "\n".join(lines),
        [Option(street_label(s)[:24], str(s.id)) for s in streets],
        free_text=True,
    )


HELPED_HELP = lazy._(
    "Type the code that is on the street's card, under the QR code. Ask the gangmakers of the"
    " street for it."
)


@dialog.step("helped", help=HELPED_HELP)
async def helped(ctx: Context) -> None:
    if ctx.acting is None:  # pragma: no cover - the prompt already left
        ctx.finish()
        return
    if ctx.value is not None:
        street = await ctx.session.get(Street, int(ctx.value))
        assert street is not None
    else:
        code = neighbours.code_of_payload(ctx.text or "") or (ctx.text or "")
        street = await neighbours.street_of_code(
            ctx.session, organisation_id=ctx.organisation.id, code=code
        )
    label = street_label(street)
    if not await neighbours.subscribe(ctx.session, person=ctx.person, street=street, now=ctx.now):
        ctx.say(
            ctx._(
                "{initials} already gets the street news of {street}.",
                initials=ctx.acting.initials,
                street=label,
            )
        )
        ctx.finish()
        return
    ctx.say(
        "\n\n".join(
            [
                ctx._(
                    "Done! {initials} now gets the street news of {street}, on this phone.",
                    initials=ctx.acting.initials,
                    street=label,
                ),
                ctx._(
                    "To stop it: type {assist}, give the same initials and house number, and"
                    " choose “My street news”.",
                    assist=command_word(Command.ASSIST, ctx.language),
                ),
            ]
        )
    )
    ctx.finish()


TIP_HELP = lazy._(
    "Write what the gangmakers should know, without names. For example: “a baby at number 12”."
)


@dialog.prompt("tip")
async def ask_tip(ctx: Context) -> None:
    ctx.ask(
        "\n".join(
            [
                ctx._(
                    "Write your tip for the gangmakers. For example: “A baby was born at number"
                    " 12” or “the neighbour at number 5 is in hospital”."
                ),
                ctx._(
                    "Please do not write names. At most {max} characters.",
                    max=neighbours.TIP_MAX,
                ),
            ]
        )
    )


@dialog.step("tip", help=TIP_HELP)
async def tip(ctx: Context) -> None:
    await neighbours.send_tip(
        ctx.session,
        person=ctx.person,
        street_id=int(ctx.data["street_id"]),
        text=ctx.text or "",
        now=ctx.now,
    )
    ctx.say(ctx._("Thank you! Your tip went to the gangmakers of your street."))
    ctx.finish()


@dialog.prompt("stop")
async def ask_stop(ctx: Context) -> None:
    street = await ctx.session.get(Street, int(ctx.data["street_id"]))
    assert street is not None
    ctx.yes_no(
        ctx._("Stop the street news of {street}?", street=street_label(street)),
        yes=ctx.pgettext("button", "Yes, stop"),
        no=ctx.pgettext("button", "No"),
    )


@dialog.step("stop", accepts=())
async def stop(ctx: Context) -> None:
    if ctx.value == "yes":
        await neighbours.unsubscribe(
            ctx.session, person=ctx.person, street_id=int(ctx.data["street_id"])
        )
        if ctx.acting is not None:
            ctx.say(
                ctx._(
                    "Done. {initials} gets no more street news from this street. What we kept"
                    " for it is deleted.",
                    initials=ctx.acting.initials,
                )
            )
        else:
            ctx.say(ctx._("Done. You get no more street news from this street."))
    ctx.finish()
