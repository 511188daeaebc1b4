"""Settings: language, reminder time, quiet hours, which reminders, news on/off, my data.

All changes go through ``bot.services.people``; this module only turns conversation into calls.
Times are typed the way people write them ("19:00", "19.00", "19u", "7 uur 's avonds", "7pm");
anything that is not a real time is refused with an ``InvalidInput`` so nothing changes.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from bot.conversation import Context, Dialog, Option
from bot.errors import InvalidInput
from bot.i18n import language_name, lazy, shipped_languages
from bot.i18n.error_texts import status_word
from bot.models import ChannelIdentity
from bot.parsing.numbers import normalize_typed
from bot.services import linking, people
from handlers.mydata import privacy_notice, send_export

dialog = Dialog("settings")

# --- typed clock times -------------------------------------------------------------------

_PM_WORDS = (
    "p.m.", "p.m", "pm", "'s avonds", "’s avonds", "s avonds", "savonds", "'s middags",
    "’s middags", "s middags", "in the evening", "in the afternoon", "avond", "evening",
)  # fmt: skip
_AM_WORDS = (
    "a.m.", "a.m", "am", "'s ochtends", "’s ochtends", "s ochtends", "'s morgens", "’s morgens",
    "s morgens", "in the morning", "ochtend", "morning",
)  # fmt: skip
_PREFIXES = ("om", "at", "rond", "rondom", "around", "ongeveer", "about", "vanaf")
_TIME = re.compile(
    r"(?P<h>[0-9]{1,2})(?:\s*[:.hu]\s*(?P<m>[0-9]{2}))?\s*(?:uur|u|h|hr|hrs|o'?clock)?"
)
_COMPACT = re.compile(r"(?P<h>[0-9]{2})(?P<m>[0-9]{2})")
_RANGE_PREFIXES = ("van", "from", "tussen", "between")
_RANGE_SPLIT = re.compile(r"\s*(?:-|–|—|t/m|\b(?:tot en met|tot|to|until|till|en|and)\b)\s*")


def parse_clock_time(text: str) -> int:
    """Minutes after midnight for a typed time. Raises ``InvalidInput`` "time.not_understood"
    or "time.invalid" (params ``hour``, ``minute``: e.g. 25:99)."""
    s = normalize_typed(text).rstrip("!?").strip()
    if len(s) > 40:
        raise InvalidInput("time.not_understood")
    shift = None
    for words, name in ((_PM_WORDS, "pm"), (_AM_WORDS, "am")):
        for word in words:
            if s.endswith(word) and (len(s) == len(word) or not s[-len(word) - 1].isalpha()):
                s, shift = s[: -len(word)].strip(), name
                break
        if shift:
            break
    s = s.rstrip(".").strip()
    for prefix in _PREFIXES:
        if s.startswith(prefix + " "):
            s = s[len(prefix) + 1 :].strip()
    match = _TIME.fullmatch(s) or _COMPACT.fullmatch(s)
    if match is None:
        raise InvalidInput("time.not_understood")
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if shift == "pm" and 1 <= hour < 12:
        hour += 12
    elif shift == "am" and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InvalidInput("time.invalid", hour=hour, minute=minute)
    return hour * 60 + minute


def parse_time_range(text: str) -> tuple[int, int]:
    """Two typed times ("22:00-08:00", "van 22 tot 8", "10pm to 7am") as minutes."""
    s = normalize_typed(text)
    for prefix in _RANGE_PREFIXES:
        if s.startswith(prefix + " "):
            s = s[len(prefix) + 1 :]
    parts = [p for p in _RANGE_SPLIT.split(s) if p.strip()]
    if len(parts) != 2:
        raise InvalidInput("time.range_not_understood")
    try:
        return parse_clock_time(parts[0]), parse_clock_time(parts[1])
    except InvalidInput as error:
        if error.key == "time.invalid":
            raise
        raise InvalidInput("time.range_not_understood") from None


# --- texts -------------------------------------------------------------------------------

REMINDER_LABELS = {
    # Row labels get a "✅ "/"⬜ " in front: keep them at most 22 characters.
    "round_opened": lazy.pgettext("row", "A round opens"),
    "round_closing": lazy.pgettext("row", "A round closes soon"),
    "activity_tomorrow": lazy.pgettext("row", "Activity tomorrow"),
    "report_due": lazy.pgettext("row", "Report back"),
    "payout_unredeemed": lazy.pgettext("row", "Money not collected"),
    "liefleed_untouched": lazy.pgettext("row", "Lief & Leed pot"),
    "check_street": lazy.pgettext("row", "Check your street"),
}
ON, OFF = "✅", "⬜"

ROLE_WORDS = {
    "gangmaker": lazy.pgettext("role", "gangmaker"),
    "leader": lazy.pgettext("role", "project leader"),
    "payout": lazy.pgettext("role", "payout point"),
    "resident": lazy.pgettext("role", "resident"),
    "admin": lazy.pgettext("role", "administrator"),
}
CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp", "console": "Console", "web": "Web"}


def _time_setting(ctx: Context) -> str:
    minute = ctx.person.reminder_minute
    return ctx._("standard time") if minute is None else ctx.time(minute)


def _quiet_setting(ctx: Context) -> str:
    start, end = ctx.person.quiet_start_minute, ctx.person.quiet_end_minute
    own = start is not None and end is not None
    if not own:
        start, end = ctx.organisation.quiet_start_minute, ctx.organisation.quiet_end_minute
    assert start is not None and end is not None
    if start == end:
        return ctx._("none")
    text = f"{ctx.time(start)}–{ctx.time(end)}"
    return text if own else ctx._("{times} (standard)", times=text)


# --- the settings list -------------------------------------------------------------------


@dialog.prompt("choose")
async def ask_choose(ctx: Context) -> None:
    person = ctx.person
    news = ctx._("off") if person.announcements_opt_out else ctx._("on")
    summary = "\n".join(
        [
            ctx._("Your settings:"),
            "• " + ctx._("Language: {language}", language=language_name(ctx.language)),
            "• " + ctx._("Reminder time: {time}", time=_time_setting(ctx)),
            "• " + ctx._("Quiet hours: {times}", times=_quiet_setting(ctx)),
            "• " + ctx._("News messages: {on_off}", on_off=news),
            "",
            ctx._("What do you want to change?"),
        ]
    )
    ctx.ask(
        summary,
        [
            Option(ctx.pgettext("row", "Language"), "language"),
            Option(ctx.pgettext("row", "Reminder time"), "time"),
            Option(ctx.pgettext("row", "Quiet hours"), "quiet"),
            Option(ctx.pgettext("row", "Which reminders"), "reminders"),
            Option(ctx.pgettext("row", "News messages on/off"), "news"),
            Option(ctx.pgettext("row", "My data"), "mydata"),
            Option(ctx.pgettext("row", "Link another app"), "link"),
            Option(ctx.pgettext("row", "Privacy"), "privacy"),
            Option(ctx.pgettext("row", "Back to the menu"), "back"),
        ],
    )


@dialog.step("choose", accepts=())
async def choose(ctx: Context) -> None:
    if ctx.value == "back":
        ctx.finish()
    elif ctx.value == "news":
        if ctx.person.announcements_opt_out:
            await people.opt_in_announcements(ctx.session, ctx.person)
            ctx.say(ctx._("Done. You get our news messages again."))
        else:
            await people.opt_out_announcements(ctx.session, ctx.person)
            ctx.say(ctx._("Done. You get no more news messages."))
        ctx.goto("choose")
    else:
        ctx.goto(ctx.value or "choose")


# --- language ------------------------------------------------------------------------------


@dialog.prompt("language")
async def ask_language(ctx: Context) -> None:
    ctx.ask(
        ctx._("Which language do you want?"),
        [Option(language_name(code), code) for code in shipped_languages()],
    )


@dialog.step("language", accepts=())
async def set_language(ctx: Context) -> None:
    await people.set_language(ctx.session, ctx.person, language=ctx.value or "")
    # ctx._ follows the new language at once.
    ctx.say(ctx._("Okay, from now on I write in {language}.", language=language_name(ctx.language)))
    ctx.finish()


# --- reminder time and quiet hours ---------------------------------------------------------


@dialog.prompt("time")
async def ask_time(ctx: Context) -> None:
    ctx.ask(
        ctx._("At what time do you want reminders? Type a time, like 19:00.")
        + "\n"
        + ctx._("Now: {time}", time=_time_setting(ctx)),
        [Option(ctx.pgettext("button", "Standard time"), "default")],
        free_text=True,
    )


@dialog.step("time")
async def set_time(ctx: Context) -> None:
    minute = None if ctx.value == "default" else parse_clock_time(ctx.text or "")
    await people.set_reminder_minute(ctx.session, ctx.person, minute=minute)
    ctx.say(ctx._("Done. Reminder time: {time}", time=_time_setting(ctx)))
    ctx.goto("choose")


@dialog.prompt("quiet")
async def ask_quiet(ctx: Context) -> None:
    ctx.ask(
        ctx._("Between which times should I send no messages? Type two times, like 22:00-08:00.")
        + "\n"
        + ctx._("Now: {time}", time=_quiet_setting(ctx)),
        [
            Option(ctx.pgettext("button", "Standard times"), "default"),
            Option(ctx.pgettext("button", "No quiet hours"), "none"),
        ],
        free_text=True,
    )


@dialog.step("quiet")
async def set_quiet(ctx: Context) -> None:
    if ctx.value == "default":
        start, end = None, None
    elif ctx.value == "none":
        start, end = 0, 0
    else:
        start, end = parse_time_range(ctx.text or "")
    await people.set_quiet_hours(ctx.session, ctx.person, start_minute=start, end_minute=end)
    ctx.say(ctx._("Done. Quiet hours: {times}", times=_quiet_setting(ctx)))
    ctx.goto("choose")


# --- which reminders -----------------------------------------------------------------------


@dialog.prompt("reminders")
async def ask_reminders(ctx: Context) -> None:
    options = []
    for category in people.REMINDER_CATEGORIES:
        mark = ON if people.reminder_enabled(ctx.person, category) else OFF
        label = REMINDER_LABELS.get(category)
        options.append(Option(f"{mark} {ctx.tr(label) if label else category}", category))
    options.append(Option(ctx.pgettext("row", "Done"), "done"))
    ctx.ask(
        ctx._(
            "Which reminders do you want? Choose one to switch it on ({on}) or off ({off}).",
            on=ON,
            off=OFF,
        ),
        options,
    )


@dialog.step("reminders", accepts=())
async def toggle_reminder(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.goto("choose")
        return
    category = ctx.value or ""
    enabled = people.reminder_enabled(ctx.person, category)
    await people.set_reminder_category(
        ctx.session, ctx.person, category=category, enabled=not enabled
    )
    ctx.goto("reminders")


# --- my data -----------------------------------------------------------------------------


def _when(ctx: Context, iso: str | None) -> str:
    return ctx.date(dt.datetime.fromisoformat(iso)) if iso else "-"


@dialog.prompt("mydata")
async def show_my_data(ctx: Context) -> None:
    data = await people.my_data(ctx.session, ctx.person)
    me = data["person"]
    lines = [ctx._("This is what we store about you:")]
    if me.get("first_name"):
        lines.append("• " + ctx._("Name: {name}", name=me["first_name"]))
    lines.append("• " + ctx._("Language: {language}", language=language_name(me["language"])))
    if me.get("consent_at"):
        lines.append("• " + ctx._("Privacy agreed on: {date}", date=_when(ctx, me["consent_at"])))
    for identity in data["identities"]:
        channel = CHANNEL_NAMES.get(identity["channel"], identity["channel"])
        lines.append(
            "• " + ctx._("Chat: {channel} {address}", channel=channel, address=identity["address"])
        )
    for grant in data["roles"]:
        word = ROLE_WORDS.get(grant["role"])
        lines.append("• " + ctx._("Role: {role}", role=ctx.tr(word) if word else grant["role"]))
    for street in data["streets"]:
        name = street["name"] + (f" {street['section']}" if street.get("section") else "")
        lines.append(
            "• "
            + ctx._(
                "Street: {street} ({status})",
                street=name,
                status=status_word(ctx.t, street["status"]),
            )
        )
    counts = [
        (
            len(data["budget_requests"]),
            ctx.ngettext(
                "{n} request for a contribution",
                "{n} requests for a contribution",
                len(data["budget_requests"]),
            ),
        ),
        (
            len(data["liefleed_attentions"]),
            ctx.ngettext(
                "{n} Lief & Leed entry", "{n} Lief & Leed entries", len(data["liefleed_attentions"])
            ),
        ),
        (
            len(data["reminders"]),
            ctx.ngettext("{n} reminder", "{n} reminders", len(data["reminders"])),
        ),
        (
            len(data["deliveries"]),
            ctx.ngettext(
                "{n} message sent to you", "{n} messages sent to you", len(data["deliveries"])
            ),
        ),
    ]
    lines.extend("• " + text for n, text in counts if n)
    ctx.ask(
        "\n".join(lines),
        [
            Option(ctx.pgettext("button", "Delete my data"), "delete"),
            Option(ctx.pgettext("button", "Send as a file"), "export"),
            Option(ctx.pgettext("button", "Back"), "back"),
        ],
    )


@dialog.step("mydata", accepts=())
async def my_data_choice(ctx: Context) -> None:
    if ctx.value == "export":
        await send_export(ctx)
        ctx.goto("choose")
        return
    ctx.goto("delete" if ctx.value == "delete" else "choose")


@dialog.prompt("privacy")
async def show_privacy(ctx: Context) -> None:
    ctx.say(privacy_notice(ctx))
    ctx.goto("choose")


@dialog.prompt("delete")
async def ask_delete(ctx: Context) -> None:
    ctx.yes_no(
        ctx._(
            "Are you sure? We delete your data for good. What you did for your street stays, "
            "without your name. You cannot undo this."
        ),
        yes=ctx.pgettext("button", "Yes, delete"),
        no=ctx.pgettext("button", "No, keep it"),
    )


@dialog.step("delete", accepts=())
async def delete(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.say(ctx._("Good. Nothing is deleted."))
        ctx.goto("choose")
        return
    # Say goodbye in their language before the person (and their language) is gone.
    goodbye = ctx._("Your data is deleted. Goodbye! Send a message if you want to start again.")
    await people.forget_person(ctx.session, ctx.person, now=ctx.now)
    ctx.say(goodbye)
    ctx.finish(menu=False)


# --- one person, two chat apps ---------------------------------------------------------------

APP_NAMES = {"whatsapp": "WhatsApp", "telegram": "Telegram", "console": "Terminal", "web": "Web"}


async def _my_identities(ctx: Context) -> list[ChannelIdentity]:
    rows = await ctx.session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.person_id == ctx.person.id)
        .order_by(ChannelIdentity.id)
    )
    return list(rows)


@dialog.prompt("link")
async def ask_link(ctx: Context) -> None:
    mine = await _my_identities(ctx)
    options = [
        Option(ctx.pgettext("row", "Get a code"), "code"),
        Option(ctx.pgettext("row", "I have a code"), "enter"),
    ]
    text = ctx._(
        "You can use me in two apps, for example WhatsApp and Telegram. Get a code here and "
        "type it in the other app. Or type a code you got in the other app."
    )
    if len(mine) > 1:
        preferred = next((i for i in mine if i.preferred), mine[0])
        app = APP_NAMES.get(preferred.channel.value, preferred.channel.value)
        text += "\n\n" + ctx._("We send our messages to {app}.", app=app)
        for identity in mine:
            if identity.id != preferred.id:
                name = APP_NAMES.get(identity.channel.value, identity.channel.value)
                label = ctx._("Messages to {app}", app=name)
                options.append(Option(label, f"prefer:{identity.id}"))
    options.append(Option(ctx.pgettext("button", "Back"), "back"))
    ctx.ask(text, options)


@dialog.step("link", accepts=())
async def link(ctx: Context) -> None:
    value = ctx.value or ""
    if value == "code":
        code = await linking.new_link_code(ctx.session, person=ctx.person, now=ctx.now)
        ctx.say(
            ctx._(
                "Your code is {code}. Open me in your other app, go to Settings, Link another "
                "app, and type this code. It works for {minutes} minutes.",
                code=code.code,
                minutes=linking.CODE_MINUTES,
            )
        )
        ctx.goto("choose")
    elif value == "enter":
        ctx.goto("link_enter")
    elif value.startswith("prefer:"):
        identity_id = int(value.removeprefix("prefer:"))
        await linking.set_preferred(ctx.session, person=ctx.person, identity_id=identity_id)
        ctx.goto("link")
    else:
        ctx.goto("choose")


@dialog.prompt("link_enter")
async def ask_link_code(ctx: Context) -> None:
    ctx.ask(ctx._("Type the code from your other app."))


@dialog.step("link_enter")
async def link_enter(ctx: Context) -> None:
    await linking.redeem_link_code(
        ctx.session, person=ctx.person, identity=ctx.identity, code=ctx.text or "", now=ctx.now
    )
    ctx.say(
        ctx._(
            "Done! Your apps are linked. Our messages still go to your first app; you can "
            "change that in Settings, Link another app."
        )
    )
    # This chat now belongs to the person of the first app: the next message starts there.
    ctx.finish(menu=False)
