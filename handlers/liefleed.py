"""Lief & Leed: see the street's pot, log a small attention, see the last ones, undo one.

The common case is six answers after choosing Lief & Leed in the menu: "log an attention",
the occasion, what was given or done, the cost, the day, and "save". A house number and a note
are optional extras, offered at the end but never asked. Every rule (who may log, amounts,
dates, what a house number looks like, the undo window) lives in ``bot.services.liefleed``:
answers are checked with its validators at the step where they are typed, so a wrong answer is
refused there and nothing is stored until the person says "save".

Privacy: no neighbour names. The dialog asks for a house number at most, and the list of last
entries shows the house number but never the note.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.conversation import Context, Dialog, Option, Text
from bot.conversation.words import normalize, yes_no_of
from bot.errors import Conflict, InvalidInput, NotFound
from bot.i18n import lazy
from bot.i18n.lazy import LazyText
from bot.models import AttentionKind, Street, StreetStatus
from bot.parsing.dates import RELATIVE_DAYS, WEEKDAYS, parse_date
from bot.parsing.money import parse_money
from bot.services import liefleed, streets
from bot.services.liefleed import AttentionView, Balance

dialog = Dialog("liefleed")

# --- data: what the lists offer ------------------------------------------------------------

# Row labels of the occasions (service keys of ``liefleed.OCCASIONS``).
OCCASION_LABELS: dict[str, LazyText] = {
    "birth": lazy.pgettext("row", "Baby"),
    "illness": lazy.pgettext("row", "Illness"),
    "bereavement": lazy.pgettext("row", "Bereavement"),
    "birthday": lazy.pgettext("row", "Birthday"),
    "new_neighbour": lazy.pgettext("row", "New neighbour"),
    "hospital": lazy.pgettext("row", "In hospital"),
    "loneliness": lazy.pgettext("row", "Loneliness"),
    "recovery": lazy.pgettext("row", "Recovered"),
    "wedding": lazy.pgettext("row", "Wedding or jubilee"),
    "exam": lazy.pgettext("row", "Passed an exam"),
    "accident": lazy.pgettext("row", "Accident"),
    "other_lief": lazy.pgettext("row", "Other happy event"),
    "other_leed": lazy.pgettext("row", "Other sad event"),
    "other": lazy.pgettext("row", "Other reason"),
}
# The first list: the common occasions (9 rows plus "something else", the 10-option limit).
COMMON_OCCASIONS: tuple[str, ...] = (
    "birth",
    "illness",
    "bereavement",
    "birthday",
    "new_neighbour",
    "hospital",
    "loneliness",
    "recovery",
    "wedding",
)
MORE = "more"

KIND_LABELS: dict[AttentionKind, LazyText] = {
    AttentionKind.FLOWERS: lazy.pgettext("row", "Flowers"),
    AttentionKind.CARD: lazy.pgettext("row", "Card"),
    AttentionKind.GIFT: lazy.pgettext("row", "Small gift"),
    AttentionKind.FOOD: lazy.pgettext("row", "Food or a meal"),
    AttentionKind.VISIT: lazy.pgettext("row", "Visit"),
    AttentionKind.SHOPPING: lazy.pgettext("row", "Shopping"),
    # Not "Help"/"Hulp": those are global words.
    AttentionKind.HELP: lazy.pgettext("row", "Practical help"),
    AttentionKind.OTHER: lazy.pgettext("row", "Something else"),
}

# Amounts offered as options, in cents; anything else is typed.
COMMON_COSTS: tuple[int, ...] = (0, 1000, 1500, 2500)
RECENT_SHOWN = 5

# A typed answer that the runtime read as an option number but that is really an amount
# ("-5", "€ 1", "2,-"): a sign, a currency or a decimal comma tells.
_AMOUNT_MARKS = re.compile(r"[€\-−–—+,]|eur", re.IGNORECASE)
# Words before a date that change nothing, and words before a weekday that point back in
# time ("afgelopen zaterdag", "last Saturday").
_FILLERS = ("op", "on", "the")
_PAST_PREFIXES = ("afgelopen", "vorige", "jongstleden", "last", "past")

HELP_COST = lazy._("Choose what it cost, or type the amount, like 12.50. A visit is free: € 0.")
HELP_DATE = lazy._("Choose today or yesterday, or type the day, like 3 May.")
HELP_HOUSE = lazy._("Only a house number, like 12 or 12a. Never a name. Type no to remove it.")
HELP_NOTE = lazy._(
    "A short note for the gangmakers of your street. No names. Type no to remove it."
)


# --- helpers -------------------------------------------------------------------------------


async def _liefleed_streets(ctx: Context) -> list[Street]:
    active = await streets.my_streets(ctx.session, ctx.person, statuses=[StreetStatus.ACTIVE])
    return [street for street in active if street.theme_liefleed]


def _street_label(street: Street) -> str:
    name = f"{street.name} {street.section}" if street.section else street.name
    return name if len(name) <= 24 else name[:23] + "…"


def _occasion(ctx: Context, key: str) -> str:
    label = OCCASION_LABELS.get(key)
    return ctx.tr(label) if label is not None else key


def _kind(ctx: Context, kind: str) -> str:
    try:
        return ctx.tr(KIND_LABELS[AttentionKind(kind)])
    except (ValueError, KeyError):  # a kind added to the service later: show its key
        return str(kind)


def _today(ctx: Context) -> dt.date:
    return liefleed.local_today(ctx.organisation, ctx.now)


def _balance_line(ctx: Context, balance: Balance) -> str:
    if balance.over_budget:
        return ctx._(
            "Pot {year}: {pot}. Spent: {spent}. That is {over} more than the pot.",
            year=balance.year,
            pot=ctx.money(balance.pot_cents),
            spent=ctx.money(balance.spent_cents),
            over=ctx.money(-balance.left_cents),
        )
    return ctx._(
        "Pot {year}: {pot}. Spent: {spent}. Left: {left}.",
        year=balance.year,
        pot=ctx.money(balance.pot_cents),
        spent=ctx.money(balance.spent_cents),
        left=ctx.money(balance.left_cents),
    )


def _entry_line(ctx: Context, entry: AttentionView) -> str:
    params = {
        "date": ctx.date(entry.given_on),
        "occasion": _occasion(ctx, entry.occasion),
        "kind": _kind(ctx, entry.kind),
        "cost": ctx.money(entry.cost_cents),
    }
    if entry.house_number:
        return ctx._(
            "{date}: {occasion}, {kind}, {cost}, house number {number}",
            number=entry.house_number,
            **params,
        )
    return ctx._("{date}: {occasion}, {kind}, {cost}", **params)


def _typed(ctx: Context) -> str | None:
    """What the person typed, also when the runtime turned it into an option."""
    return ctx.event.text if isinstance(ctx.event, Text) else None


def _without_prefixes(text: str, prefixes: tuple[str, ...]) -> str:
    words = normalize(text).split()
    while words and words[0] in prefixes:
        words = words[1:]
    return " ".join(words)


def parse_past_date(text: str, *, today: dt.date, lang: str) -> dt.date:
    """A typed day on which something was *given*, so usually in the past.

    ``parse_date`` reads a day and month without a year ("3 mei") and a bare weekday
    ("zaterdag") as the next one; for something already done people mean the last one. A date
    with a year, "morgen" or "komende zaterdag" stay as typed: the service then says that day
    has not come yet.
    """
    if any(
        _without_prefixes(text, _FILLERS) in table for table in RELATIVE_DAYS.values()
    ):  # "morgen", "gisteren": exactly as the parser reads them
        return parse_date(text, today=today, lang=lang)
    word = _without_prefixes(text, (*_FILLERS, *_PAST_PREFIXES))
    weekday = next((table[word] for table in WEEKDAYS.values() if word in table), None)
    if weekday is not None:
        return today - dt.timedelta(days=(today.weekday() - weekday) % 7)
    mismatch: InvalidInput | None = None
    try:
        day: dt.date | None = parse_date(text, today=today, lang=lang)
    except InvalidInput as error:
        if error.key != "date.weekday_mismatch":
            raise
        day, mismatch = None, error  # "za 3/5" may fit last year's 3 May: tried below
    if day is not None and day <= today:
        return day
    # Read again from a year back: a day and month without a year then land in the past
    # year. Only accept that reading when it is the same day and month (not a moved weekday).
    try:
        past = parse_date(text, today=_year_before(today), lang=lang)
    except InvalidInput:
        past = None
    same_day = past is not None and (day is None or (past.month, past.day) == (day.month, day.day))
    if past is not None and past <= today and same_day:
        return past
    if day is None:
        assert mismatch is not None
        raise mismatch
    return day


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# --- which street --------------------------------------------------------------------------


@dialog.prompt("street")
async def ask_street(ctx: Context) -> None:
    mine = await _liefleed_streets(ctx)
    if not mine:
        ctx.say(
            ctx._("Your street does not take part in Lief & Leed.")
            + " "
            + ctx._("Do you want to join? Ask your project leader.")
        )
        ctx.finish()
        return
    if len(mine) == 1:
        ctx.data["street_id"] = mine[0].id
        ctx.goto("home")
        return
    ctx.ask(
        ctx._("For which street?"),
        [Option(_street_label(street), str(street.id)) for street in mine[:10]],
    )


@dialog.step("street", accepts=())
async def choose_street(ctx: Context) -> None:
    ctx.data["street_id"] = int(ctx.value or 0)
    ctx.goto("home")


# --- the pot and what to do ------------------------------------------------------------------


@dialog.prompt("home")
async def ask_home(ctx: Context) -> None:
    mine = await _liefleed_streets(ctx)
    street = next((s for s in mine if s.id == ctx.data.get("street_id")), None)
    if street is None:  # the street stopped or left Lief & Leed in the meantime
        ctx.data.pop("street_id", None)
        ctx.goto("street")
        return
    for key in ("occasion", "kind", "cost_cents", "given_on", "house_number", "note", "undo_id"):
        ctx.data.pop(key, None)
    if ctx.data.pop("again", False):
        text = ctx._("Anything else for Lief & Leed?")
    else:
        year = liefleed.current_year(ctx.organisation, ctx.now)
        balance = await liefleed.balance(ctx.session, street_id=street.id, year=year)
        line = _balance_line(ctx, balance)
        if len(mine) > 1:
            line = f"{_street_label(street)}. {line}"
        text = line + "\n" + ctx._("What do you want to do?")
    options = [
        Option(ctx.pgettext("row", "Log an attention"), "log"),
        Option(ctx.pgettext("row", "Last entries"), "recent"),
        Option(ctx.pgettext("row", "Undo the last one"), "undo"),
    ]
    if len(mine) > 1:
        options.append(Option(ctx.pgettext("row", "Other street"), "street"))
    options.append(Option(ctx.pgettext("row", "Back to the menu"), "back"))
    ctx.ask(text, options)


@dialog.step("home", accepts=())
async def choose_home(ctx: Context) -> None:
    if ctx.value == "back":
        ctx.finish()
    elif ctx.value == "log":
        ctx.goto("occasion")
    elif ctx.value == "recent":
        await _show_recent(ctx)
        ctx.data["again"] = True
        ctx.goto("home")
    elif ctx.value == "undo":
        ctx.goto("undo")
    else:
        ctx.data.pop("street_id", None)
        ctx.goto("street")


async def _show_recent(ctx: Context) -> None:
    entries = await liefleed.recent_attentions(
        ctx.session,
        actor=ctx.person,
        street_id=ctx.data["street_id"],
        limit=RECENT_SHOWN,
        now=ctx.now,
    )
    if not entries:
        ctx.say(ctx._("Nothing has been logged yet."))
        return
    lines = [ctx._("The last entries:")]
    lines.extend("• " + _entry_line(ctx, entry) for entry in entries)
    ctx.say("\n".join(lines))


# --- log an attention ------------------------------------------------------------------------


@dialog.prompt("occasion")
async def ask_occasion(ctx: Context) -> None:
    options = [Option(_occasion(ctx, key), key) for key in COMMON_OCCASIONS]
    options.append(Option(ctx.pgettext("row", "Something else"), MORE))
    ctx.ask(ctx._("What is the occasion?"), options)


@dialog.step("occasion", accepts=())
async def choose_occasion(ctx: Context) -> None:
    if ctx.value == MORE:
        ctx.goto("occasion_more")
        return
    ctx.data["occasion"] = ctx.value
    ctx.goto("kind")


@dialog.prompt("occasion_more")
async def ask_occasion_more(ctx: Context) -> None:
    # The rest of the service's open list, in its order.
    keys = [key for key in liefleed.OCCASIONS if key not in COMMON_OCCASIONS][:9]
    options = [Option(_occasion(ctx, key), key) for key in keys]
    options.append(Option(ctx.pgettext("row", "Back"), "back"))
    ctx.ask(ctx._("What is the occasion?"), options)


@dialog.step("occasion_more", accepts=())
async def choose_occasion_more(ctx: Context) -> None:
    if ctx.value == "back":
        ctx.goto("occasion")
        return
    ctx.data["occasion"] = ctx.value
    ctx.goto("kind")


@dialog.prompt("kind")
async def ask_kind(ctx: Context) -> None:
    ctx.ask(
        ctx._("What did you give or do?"),
        [Option(ctx.tr(label), kind.value) for kind, label in KIND_LABELS.items()],
    )


@dialog.step("kind", accepts=())
async def choose_kind(ctx: Context) -> None:
    ctx.data["kind"] = liefleed.validate_kind(ctx.value or "").value
    ctx.goto("cost")


@dialog.prompt("cost")
async def ask_cost(ctx: Context) -> None:
    options = []
    for cents in COMMON_COSTS:
        label = ctx.money(cents)
        if cents == 0:
            label = ctx.pgettext("row", "{amount} (free)", amount=label)
        options.append(Option(label, str(cents)))
    options.append(Option(ctx.pgettext("row", "Other amount"), "other"))
    ctx.ask(
        ctx._("What did it cost? Choose an amount, or type it, like 12.50."),
        options,
        free_text=True,
    )


@dialog.step("cost", help=HELP_COST)
async def choose_cost(ctx: Context) -> None:
    typed = _typed(ctx)
    if ctx.value is not None and not (typed and _AMOUNT_MARKS.search(typed)):
        if ctx.value == "other":
            ctx.goto("cost_typed")
            return
        cents = int(ctx.value)
    else:
        cents = parse_money(typed or ctx.text or "")
    ctx.data["cost_cents"] = liefleed.validate_cost(cents)
    ctx.goto("date")


@dialog.prompt("cost_typed")
async def ask_cost_typed(ctx: Context) -> None:
    ctx.ask(ctx._("Type the amount, like 12.50. Was it free? Type 0."))


@dialog.step("cost_typed", help=HELP_COST)
async def type_cost(ctx: Context) -> None:
    ctx.data["cost_cents"] = liefleed.validate_cost(parse_money(ctx.text or ""))
    ctx.goto("date")


@dialog.prompt("date")
async def ask_date(ctx: Context) -> None:
    ctx.ask(
        ctx._("When was it? Choose, or type the day, like 3 May."),
        [
            Option(ctx.pgettext("button", "Today"), "today"),
            Option(ctx.pgettext("button", "Yesterday"), "yesterday"),
        ],
        free_text=True,
    )


@dialog.step("date", help=HELP_DATE)
async def choose_date(ctx: Context) -> None:
    today = _today(ctx)
    if ctx.value == "today":
        day = today
    elif ctx.value == "yesterday":
        day = today - dt.timedelta(days=1)
    else:
        day = parse_past_date(ctx.text or "", today=today, lang=ctx.language)
    ctx.data["given_on"] = liefleed.validate_given_on(day, today=today).isoformat()
    ctx.goto("confirm")


@dialog.prompt("confirm")
async def ask_confirm(ctx: Context) -> None:
    data = ctx.data
    lines = [
        ctx._("Shall I save this?"),
        "• " + ctx._("Occasion: {occasion}", occasion=_occasion(ctx, data["occasion"])),
        "• " + ctx._("What: {kind}", kind=_kind(ctx, data["kind"])),
        "• " + ctx._("Cost: {cost}", cost=ctx.money(data["cost_cents"])),
        "• " + ctx._("Date: {date}", date=ctx.date(dt.date.fromisoformat(data["given_on"]))),
    ]
    if data.get("house_number"):
        lines.append("• " + ctx._("House number: {number}", number=data["house_number"]))
    if data.get("note"):
        lines.append("• " + ctx._("Note: {note}", note=data["note"]))
    if not (data.get("house_number") and data.get("note")):
        lines.append(ctx._("You may add a house number or a note. That is not needed."))
    ctx.ask(
        "\n".join(lines),
        [
            Option(ctx.pgettext("button", "Save"), "save"),
            Option(ctx.pgettext("button", "House number/note"), "extra"),
            Option(ctx.pgettext("button", "Don't save"), "drop"),
        ],
    )


@dialog.step("confirm", accepts=())
async def confirm(ctx: Context) -> None:
    if ctx.value == "extra":
        ctx.goto("extra")
        return
    if ctx.value == "drop":
        ctx.say(ctx._("Okay, nothing is saved."))
        ctx.data["again"] = True
        ctx.goto("home")
        return
    data = ctx.data
    result = await liefleed.log_attention(
        ctx.session,
        actor=ctx.person,
        street_id=data["street_id"],
        occasion=data["occasion"],
        kind=AttentionKind(data["kind"]),
        cost_cents=data["cost_cents"],
        given_on=dt.date.fromisoformat(data["given_on"]),
        house_number=data.get("house_number"),
        note=data.get("note"),
        now=ctx.now,
    )
    balance = result.balance
    if result.over_budget:
        ctx.say(
            ctx._("Saved.")
            + " "
            + ctx._(
                "Note: the pot of {year} is used up. You spent {over} more than the pot. "
                "That is allowed: your entry is saved.",
                year=balance.year,
                over=ctx.money(-balance.left_cents),
            )
        )
    else:
        ctx.say(ctx._("Saved.") + " " + _left_text(ctx, balance))
    ctx.data["again"] = True
    ctx.goto("home")


def _left_text(ctx: Context, balance: Balance) -> str:
    if balance.year == liefleed.current_year(ctx.organisation, ctx.now):
        return ctx._("Left in the pot: {left}.", left=ctx.money(balance.left_cents))
    return ctx._(
        "Left in the pot of {year}: {left}.", year=balance.year, left=ctx.money(balance.left_cents)
    )


# --- optional extras: house number and note --------------------------------------------------


@dialog.prompt("extra")
async def ask_extra(ctx: Context) -> None:
    ctx.ask(
        ctx._("What do you want to add?"),
        [
            Option(ctx.pgettext("button", "House number"), "house"),
            Option(ctx.pgettext("button", "Note"), "note"),
            Option(ctx.pgettext("button", "Back"), "back"),
        ],
    )


@dialog.step("extra", accepts=())
async def choose_extra(ctx: Context) -> None:
    ctx.goto({"house": "house", "note": "note"}.get(ctx.value or "", "confirm"))


@dialog.prompt("house")
async def ask_house(ctx: Context) -> None:
    ctx.ask(ctx._("Type the house number, like 12 or 12a. Only the number, no name."))


@dialog.step("house", help=HELP_HOUSE)
async def type_house(ctx: Context) -> None:
    text = ctx.text or ""
    if yes_no_of(text) == "no":
        ctx.data.pop("house_number", None)
    else:
        ctx.data["house_number"] = liefleed.validate_house_number(text)
    ctx.goto("confirm")


@dialog.prompt("note")
async def ask_note(ctx: Context) -> None:
    ctx.ask(
        ctx._(
            "Type a short note, at most {max} characters. No names, please.", max=liefleed.NOTE_MAX
        )
    )


@dialog.step("note", help=HELP_NOTE)
async def type_note(ctx: Context) -> None:
    text = ctx.text or ""
    if yes_no_of(text) == "no":
        ctx.data.pop("note", None)
    else:
        ctx.data["note"] = liefleed.validate_note(text)
    ctx.goto("confirm")


# --- undo the last one -----------------------------------------------------------------------


@dialog.prompt("undo")
async def ask_undo(ctx: Context) -> None:
    entries = await liefleed.recent_attentions(
        ctx.session,
        actor=ctx.person,
        street_id=ctx.data["street_id"],
        limit=liefleed.RECENT_MAX,
        now=ctx.now,
    )
    mine = [entry for entry in entries if entry.mine]
    if not mine:
        raise NotFound("liefleed.nothing_to_undo")
    last = max(mine, key=lambda entry: (entry.created_at, entry.id))
    if not last.editable:
        raise Conflict("liefleed.edit_window_passed", days=ctx.organisation.liefleed_edit_days)
    ctx.data["undo_id"] = last.id
    ctx.yes_no(
        "\n".join(
            [
                ctx._("Your last entry:"),
                _entry_line(ctx, last),
                ctx._("Undo it? The money then goes back into the pot."),
            ]
        ),
        yes=ctx.pgettext("button", "Yes, undo"),
        no=ctx.pgettext("button", "No, keep it"),
    )


@dialog.step("undo", accepts=())
async def undo(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.say(ctx._("Good. Nothing is changed."))
    else:
        removed = await liefleed.undo_last(
            ctx.session, actor=ctx.person, street_id=ctx.data["street_id"], now=ctx.now
        )
        if removed.attention.id != ctx.data.get("undo_id"):
            # Another entry was logged since the question: roll back, ask again.
            raise NotFound("liefleed.attention_not_found")
        ctx.say(ctx._("Undone.") + " " + _left_text(ctx, removed.balance))
    ctx.data["again"] = True
    ctx.goto("home")
