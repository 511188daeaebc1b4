"""A gangmaker's street news: invite neighbours (link, QR code, printable card) or send news.

News is a pre-translated template with its slots (date, time, place) or an own text; the
gangmaker sees a preview in their language and how many neighbours get it, and confirms. Each
neighbour then gets it in their own language through the outbox (``bot/services/street_news``).
"""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.conversation import Context, Dialog, Media, Option
from bot.i18n import lazy
from bot.models import Street, StreetStatus
from bot.parsing.dates import parse_date
from bot.services import neighbours, street_news, streets
from bot.services.neighbours import street_label
from bot.services.street_news import TEMPLATES
from handlers.settings import parse_clock_time

dialog = Dialog("street_news")

FREE = "free"


async def _street(ctx: Context) -> Street:
    street = await ctx.session.get(Street, int(ctx.data["street_id"]))
    assert street is not None
    return street


@dialog.prompt("street")
async def ask_street(ctx: Context) -> None:
    mine = await streets.my_streets(
        ctx.session, ctx.person, statuses=[StreetStatus.ACTIVE, StreetStatus.PENDING]
    )
    if not mine:
        ctx.say(ctx._("You are not a gangmaker of a street yet."))
        ctx.finish()
        return
    if len(mine) == 1:
        ctx.data["street_id"] = mine[0].id
        ctx.goto("what")
        return
    ctx.ask(
        ctx._("For which street?"), [Option(street_label(s)[:24], str(s.id)) for s in mine[:10]]
    )


@dialog.step("street", accepts=())
async def street(ctx: Context) -> None:
    ctx.data["street_id"] = int(ctx.value or 0)
    ctx.goto("what")


@dialog.prompt("what")
async def ask_what(ctx: Context) -> None:
    street = await _street(ctx)
    count = await street_news.count_recipients(ctx.session, street.id, exclude=ctx.person.id)
    ctx.ask(
        ctx.ngettext(
            "{street}: {n} neighbour gets the street news. What would you like to do?",
            "{street}: {n} neighbours get the street news. What would you like to do?",
            count,
            street=street_label(street),
        ),
        [
            Option(ctx.pgettext("button", "Send street news"), "news"),
            Option(ctx.pgettext("button", "Invite neighbours"), "invite"),
        ],
    )


@dialog.step("what", accepts=())
async def what(ctx: Context) -> None:
    if ctx.value == "invite":
        ctx.goto("invite")
        return
    count = await street_news.count_recipients(
        ctx.session, int(ctx.data["street_id"]), exclude=ctx.person.id
    )
    if count == 0:
        ctx.say(
            ctx._(
                "No neighbour gets the street news yet. First invite your neighbours: share"
                " the link or print the card."
            )
        )
        ctx.goto("what")
        return
    ctx.goto("template")


# --- invite ------------------------------------------------------------------------------


@dialog.prompt("invite")
async def invite(ctx: Context) -> None:
    street = await _street(ctx)
    invitation = await neighbours.street_invite(
        ctx.session, actor=ctx.person, street=street, now=ctx.now
    )
    settings = neighbours.link_settings()
    link = neighbours.invite_link(invitation.code, settings.bot_username)
    # Drawing the card takes about a second: not on the event loop other chats share.
    png, pdf = await asyncio.to_thread(
        neighbours.write_invite_files, link=link, street=street, directory=settings.media_dir
    )
    ctx.say(
        "\n\n".join(
            [
                ctx._("Share this link with your neighbours: {link}", link=link),
                ctx._(
                    "With it, neighbours get the street news in their own language and can send"
                    " you a tip. It does not make them a gangmaker."
                ),
            ]
        )
    )
    ctx.say(
        ctx._("The QR code: neighbours scan it with their phone camera."),
        # No caption: Telegram shows the text with the picture, the terminal chat the path.
        media=Media("photo", str(png)),
    )
    ctx.say(
        ctx._("The card to print (A5), with the QR code and a few words in several languages."),
        media=Media("document", str(pdf)),
    )
    ctx.finish()


# --- news ----------------------------------------------------------------------------------


@dialog.prompt("template")
async def ask_template(ctx: Context) -> None:
    options = [Option(ctx.tr(t.label), key) for key, t in TEMPLATES.items()]
    options.append(Option(ctx.pgettext("row", "Own text"), FREE))
    ctx.ask(ctx._("What is the news about?"), options)


@dialog.step("template", accepts=())
async def template(ctx: Context) -> None:
    if ctx.value == FREE:
        ctx.data.update(template=None, slots={})
        ctx.goto("free")
        return
    ctx.data.update(template=ctx.value, slots={})
    _next_slot(ctx)


def _next_slot(ctx: Context) -> None:
    wanted = street_news.template_of(ctx.data["template"]).slots
    missing = [slot for slot in wanted if slot not in ctx.data["slots"]]
    ctx.goto(missing[0] if missing else "confirm")


DATE_HELP = lazy._("Type a date, for example: 14 June, or saturday.")


@dialog.prompt("date")
async def ask_date(ctx: Context) -> None:
    ctx.ask(ctx._("On which day? For example: 14 June, or saturday."))


@dialog.step("date", help=DATE_HELP)
async def date(ctx: Context) -> None:
    day = parse_date(ctx.text or "", today=ctx.today, lang=ctx.language)
    street_news.check_date(day, today=ctx.today)
    ctx.data["slots"]["date"] = day.isoformat()
    _next_slot(ctx)


@dialog.prompt("time")
async def ask_time(ctx: Context) -> None:
    ctx.ask(ctx._("At what time? For example: 14:00."))


@dialog.step("time")
async def time(ctx: Context) -> None:
    ctx.data["slots"]["time"] = parse_clock_time(ctx.text or "")
    _next_slot(ctx)


@dialog.prompt("place")
async def ask_place(ctx: Context) -> None:
    ctx.ask(ctx._("Where? For example: at number 12, or on the square."))


@dialog.step("place")
async def place(ctx: Context) -> None:
    ctx.data["slots"]["place"] = street_news.clean_place(ctx.text or "")
    _next_slot(ctx)


@dialog.prompt("free")
async def ask_free(ctx: Context) -> None:
    ctx.ask(
        ctx._(
            "Type your message. It is sent as you write it, not translated. Please do not write"
            " names of neighbours."
        )
    )


@dialog.step("free")
async def free(ctx: Context) -> None:
    ctx.data["free_text"] = street_news.clean_free_text(ctx.text or "")
    ctx.goto("confirm")


@dialog.prompt("confirm")
async def ask_confirm(ctx: Context) -> None:
    street = await _street(ctx)
    slots = dict(ctx.data.get("slots") or {})
    if "date" in slots:  # a day that passed while the dialog waited
        street_news.check_date(dt.date.fromisoformat(slots["date"]), today=ctx.today)
    preview = street_news.render(
        ctx.t,
        street=street_label(street),
        template=ctx.data.get("template"),
        slots=slots,
        free_text=ctx.data.get("free_text"),
    )
    count = await street_news.count_recipients(ctx.session, street.id, exclude=ctx.person.id)
    ctx.say(ctx._("This is how it looks:") + "\n\n" + preview)
    ctx.yes_no(
        ctx.ngettext(
            "Send it to {n} neighbour? Each gets it in their own language.",
            "Send it to {n} neighbours? Each gets it in their own language.",
            count,
        ),
        yes=ctx.pgettext("button", "Yes, send"),
        no=ctx.pgettext("button", "No"),
    )


@dialog.step("confirm", accepts=())
async def confirm(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.say(ctx._("Okay, nothing was sent."))
        ctx.finish()
        return
    news = await street_news.send_news(
        ctx.session,
        actor=ctx.person,
        street=await _street(ctx),
        template=ctx.data.get("template"),
        slots=ctx.data.get("slots") or {},
        free_text=ctx.data.get("free_text"),
        today=ctx.today,
        now=ctx.now,
    )
    ctx.say(
        ctx.ngettext(
            "Sent! {n} neighbour gets the news.",
            "Sent! {n} neighbours get the news.",
            news.recipients,
        )
    )
    ctx.finish()
