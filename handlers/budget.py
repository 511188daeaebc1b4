"""Bijdrage: ask a round's contribution for a street activity, see my requests, report back.

The conversation, step by step::

    choose ──ask──> street ─> round ─> activity ─> date ─> participants ─> amount ─> plan ─> confirm
       │                                   ▲                                              │
       │                                   └──────────────── change <─────────────────────┘
       ├─status──> the person's requests (newest 10), then back to choose
       └─report──> report_which ─> report_people ─> report_photos ─> report_confirm

Street and round are skipped when there is only one to choose. Every typed answer is read with
``bot.parsing`` and checked at its own step (with the service's limits), so a wrong answer is
answered at once and nothing is stored; ``budget.submit_request`` and
``budget.report_activity`` stay the judges of every rule when the request is finally sent.
"""

from __future__ import annotations

import datetime as dt

from bot.conversation import ROW_MAX_CHARS, Context, Dialog, Option
from bot.conversation.words import normalize
from bot.errors import InvalidInput
from bot.i18n import lazy
from bot.i18n.error_texts import status_word
from bot.models import BudgetRequest, PayoutPoint, RequestStatus, Round, Street, StreetStatus
from bot.parsing.dates import check_date_window, parse_date
from bot.parsing.money import parse_money
from bot.parsing.numbers import parse_count
from bot.services import budget, rounds, streets
from bot.services.payout_points import payout_points_for_street

dialog = Dialog("budget")

S = RequestStatus

# Typical activities, offered as options; the person may type any other.
ACTIVITIES = {
    "street_party": lazy.pgettext("row", "Street party"),
    "clean_up": lazy.pgettext("row", "Clean-up"),
    "greening": lazy.pgettext("row", "Greening"),
    "children": lazy.pgettext("row", "Children's activity"),
}

# What people type to say they have sent all their photos (any shipped language).
DONE_WORDS = frozenset(
    {"klaar", "ik ben klaar", "gereed", "dat was het", "done", "ready", "finished", "that's it"}
)

STATUS_SHOWN = 10  # requests in the status view, newest first

HELP_DATE = lazy._("Type a date, like 23-5 or Saturday 23 May.")
HELP_AMOUNT = lazy._("Type only the amount in euros, like 75 or 75.50.")
HELP_PHOTOS = lazy._("Send a photo from your phone. Type done when you have sent them all.")

# Fields that can be changed from the summary, in the order they are asked.
CHANGEABLE = ("activity", "date", "participants", "amount", "plan")


# --- small helpers -------------------------------------------------------------------------


def _fit(text: str, limit: int = ROW_MAX_CHARS) -> str:
    """An option label from data (a street or round name) cut to what a list row shows."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _street_name(street: Street) -> str:
    return f"{street.name} {street.section}" if street.section else street.name


def _day(ctx: Context, day: dt.date) -> str:
    """ "zaterdag 23 mei" (with the year when it is not this year)."""
    pattern = "EEEE d MMMM" if day.year == ctx.today.year else "EEEE d MMMM y"
    return ctx.date(day, pattern)


def _has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _retry(ctx: Context, hint: str) -> None:
    """Say what was wrong and ask the question of this step again; nothing is stored."""
    ctx.say(hint)
    ctx.goto(ctx.step or "choose")


def _next(ctx: Context, step: str) -> None:
    """On to the next question, or back to the summary when the person is changing a field."""
    ctx.goto("confirm" if ctx.data.get("editing") else step)


async def _round(ctx: Context) -> Round:
    return await rounds.get_round(ctx.session, actor=ctx.person, round_id=ctx.data["round_id"])


# --- what do you want to do ----------------------------------------------------------------


@dialog.prompt("choose")
async def ask_choose(ctx: Context) -> None:
    # Labels stay within 20 characters: with three options they may become buttons.
    options = [
        Option(ctx.pgettext("row", "New request"), "ask"),
        Option(ctx.pgettext("row", "My requests"), "status"),
    ]
    if await budget.reportable_requests(ctx.session, ctx.person, today=ctx.today):
        options.append(Option(ctx.pgettext("row", "Report back"), "report"))
    options.append(Option(ctx.pgettext("row", "Back to the menu"), "back"))
    ctx.ask(
        ctx._("Here you ask for a contribution for an activity in your street.")
        + "\n"
        + ctx._("What do you want to do?"),
        options,
    )


@dialog.step("choose", accepts=())
async def choose(ctx: Context) -> None:
    if ctx.value == "ask":
        ctx.data.clear()
        ctx.goto("street")
    elif ctx.value == "status":
        ctx.goto("status")
    elif ctx.value == "report":
        ctx.data.clear()
        ctx.goto("report_which")
    else:
        ctx.finish()


# --- ask: street and round -------------------------------------------------------------------


@dialog.prompt("street")
async def ask_street(ctx: Context) -> None:
    mine = await streets.my_streets(ctx.session, ctx.person)
    active = [s for s in mine if s.status == StreetStatus.ACTIVE]
    if not active:
        if any(s.status == StreetStatus.PENDING for s in mine):
            ctx.say(
                ctx._("Your street is not approved yet. A project leader must approve it first.")
                + "\n"
                + ctx._("After that you can ask for a contribution.")
            )
        elif mine:
            ctx.say(
                ctx._("Your street is not active now. So you cannot ask for a contribution.")
                + "\n"
                + ctx._("Please ask your project leader.")
            )
        else:
            ctx.say(ctx._("You do not have a street yet. First sign up your street."))
        ctx.finish()
        return

    if not await rounds.open_rounds(ctx.session, ctx.organisation.id, ctx.now):
        upcoming = await rounds.next_round(ctx.session, ctx.organisation.id, ctx.now)
        if upcoming is not None:
            ctx.say(
                ctx._(
                    "No round is open now. The next round, {round}, opens on {date}.",
                    round=upcoming.name(ctx.language),
                    date=ctx.date(upcoming.opens_at),
                )
            )
        else:
            ctx.say(ctx._("No round is open now. Please look again later."))
        ctx.finish()
        return

    if len(active) == 1:
        ctx.data["street_id"] = active[0].id
        ctx.goto("round")
        return
    ctx.ask(
        ctx._("For which street?"),
        [Option(_fit(_street_name(s)), str(s.id)) for s in active[:10]],
    )


@dialog.step("street", accepts=())
async def street(ctx: Context) -> None:
    ctx.data["street_id"] = int(ctx.value or 0)
    ctx.goto("round")


@dialog.prompt("round")
async def ask_round(ctx: Context) -> None:
    street_id = ctx.data["street_id"]
    open_now = await rounds.open_rounds(ctx.session, ctx.organisation.id, ctx.now)
    if not open_now:  # closed while the street was being chosen
        ctx.say(ctx._("No round is open now. Please look again later."))
        ctx.finish()
        return
    # The service refuses more requests in a round than the organisation allows; say so now,
    # not after all the questions.
    taken: dict[int, list[str]] = {}
    for request in await budget.requests_of_person(ctx.session, ctx.person):
        if request.street_id == street_id and request.status in budget.COUNTING_STATUSES:
            taken.setdefault(request.round_id, []).append(request.reference)  # newest first
    limit = ctx.organisation.max_open_requests_per_round
    free = [r for r in open_now if len(taken.get(r.id, [])) < limit]
    if not free:
        street_ = await ctx.session.get(Street, street_id)
        name = _street_name(street_) if street_ is not None else ""
        ctx.say(
            "\n".join(
                ctx._(
                    "{street} already asked for a contribution in {round}. "
                    "The number is {reference}.",
                    street=name,
                    round=r.name(ctx.language),
                    reference=taken[r.id][0],
                )
                for r in open_now
            )
            + "\n"
            + ctx._("You can find it under My requests.")
        )
        ctx.goto("choose")
        return
    if len(free) == 1:
        ctx.data["round_id"] = free[0].id
        ctx.goto("activity")
        return
    lines = [ctx._("For which round?")]
    for r in free:
        lines.append(
            "• "
            + ctx._(
                "{round}: open until {date}, at most {amount}",
                round=r.name(ctx.language),
                date=ctx.date(r.closes_at - dt.timedelta(seconds=1)),
                amount=ctx.money(r.max_amount_cents),
            )
        )
    ctx.ask("\n".join(lines), [Option(_fit(r.name(ctx.language)), str(r.id)) for r in free[:10]])


@dialog.step("round", accepts=())
async def round_chosen(ctx: Context) -> None:
    ctx.data["round_id"] = int(ctx.value or 0)
    ctx.goto("activity")


# --- ask: the activity and its details -------------------------------------------------------


@dialog.prompt("activity")
async def ask_activity(ctx: Context) -> None:
    ctx.ask(
        ctx._(
            "What are you going to do? Choose one, or type it yourself. For example: a barbecue."
        ),
        [Option(ctx.tr(label), key) for key, label in ACTIVITIES.items()],
        free_text=True,
    )


@dialog.step("activity")
async def activity(ctx: Context) -> None:
    if ctx.value in ACTIVITIES:
        ctx.data["activity"] = ctx.tr(ACTIVITIES[ctx.value])
        _next(ctx, "date")
        return
    text = " ".join((ctx.text or "").split())
    if not _has_words(text):
        _retry(ctx, ctx._("Please tell me in words what you are going to do."))
        return
    if not budget.ACTIVITY_MIN <= len(text) <= budget.ACTIVITY_MAX:
        raise InvalidInput(
            "budget.activity_length", min=budget.ACTIVITY_MIN, max=budget.ACTIVITY_MAX
        )
    ctx.data["activity"] = text
    _next(ctx, "date")


@dialog.prompt("date")
async def ask_date(ctx: Context) -> None:
    ctx.ask(ctx._("On which day is it? For example: 23-5 or Saturday 23 May."))


@dialog.step("date", help=HELP_DATE)
async def date(ctx: Context) -> None:
    day = parse_date(ctx.text or "", today=ctx.today, lang=ctx.language)
    check_date_window(day, today=ctx.today, allow_past=False, max_days_ahead=budget.DAYS_AHEAD_MAX)
    ctx.data["date"] = day.isoformat()
    ctx.say(ctx._("Okay: {date}.", date=_day(ctx, day)))
    _next(ctx, "participants")


@dialog.prompt("participants")
async def ask_participants(ctx: Context) -> None:
    ctx.ask(ctx._("How many people do you think will join? For example: 30."))


@dialog.step("participants")
async def participants(ctx: Context) -> None:
    ctx.data["participants"] = parse_count(
        ctx.text or "", min_value=budget.PARTICIPANTS_MIN, max_value=budget.PARTICIPANTS_MAX
    )
    _next(ctx, "amount")


@dialog.prompt("amount")
async def ask_amount(ctx: Context) -> None:
    round_ = await _round(ctx)
    ctx.ask(
        ctx._(
            "How much money do you need? The most is {max}.",
            max=ctx.money(round_.max_amount_cents),
        )
    )


@dialog.step("amount", help=HELP_AMOUNT)
async def amount(ctx: Context) -> None:
    round_ = await _round(ctx)
    cents = parse_money(ctx.text or "", max_cents=round_.max_amount_cents)
    if cents <= 0:
        raise InvalidInput("budget.amount_not_positive")
    ctx.data["cents"] = cents
    _next(ctx, "plan")


@dialog.prompt("plan")
async def ask_plan(ctx: Context) -> None:
    ctx.ask(
        ctx._("Tell us your plan in one sentence. You can also skip this."),
        [Option(ctx.pgettext("button", "Skip"), "skip")],
        free_text=True,
    )


@dialog.step("plan")
async def plan(ctx: Context) -> None:
    if ctx.value == "skip":
        ctx.data["plan"] = None
        ctx.goto("confirm")
        return
    text = " ".join((ctx.text or "").split())
    if not _has_words(text):
        _retry(ctx, ctx._("Please write your plan in words, or choose Skip."))
        return
    if len(text) > budget.PLAN_MAX:
        raise InvalidInput("budget.plan_too_long", max=budget.PLAN_MAX)
    ctx.data["plan"] = text
    ctx.goto("confirm")


# --- ask: check and send ---------------------------------------------------------------------


@dialog.prompt("confirm")
async def ask_confirm(ctx: Context) -> None:
    ctx.data.pop("editing", None)
    data = ctx.data
    street_ = await ctx.session.get(Street, data["street_id"])
    round_ = await _round(ctx)
    lines = [
        ctx._("This is your request:"),
        "• " + ctx._("Street: {street}", street=_street_name(street_) if street_ else "-"),
        "• " + ctx._("Round: {round}", round=round_.name(ctx.language)),
        "• " + ctx._("Activity: {activity}", activity=data["activity"]),
        "• " + ctx._("Date: {date}", date=_day(ctx, dt.date.fromisoformat(data["date"]))),
        "• " + ctx._("People: {n}", n=data["participants"]),
        "• " + ctx._("Amount: {amount}", amount=ctx.money(data["cents"])),
    ]
    if data.get("plan"):
        lines.append("• " + ctx._("Plan: {plan}", plan=data["plan"]))
    lines += ["", ctx._("Shall I send it?")]
    ctx.ask(
        "\n".join(lines),
        [
            Option(ctx.pgettext("button", "Yes, send it"), "yes"),
            Option(ctx.pgettext("button", "Change something"), "change"),
            Option(ctx.pgettext("button", "No, do not send"), "no"),
        ],
    )


@dialog.step("confirm", accepts=())
async def confirm(ctx: Context) -> None:
    if ctx.value == "change":
        ctx.goto("change")
        return
    if ctx.value != "yes":
        ctx.say(ctx._("Okay. I did not send your request."))
        ctx.finish()
        return
    data = ctx.data
    request = await budget.submit_request(
        ctx.session,
        actor=ctx.person,
        street_id=data["street_id"],
        round_id=data["round_id"],
        activity=data["activity"],
        activity_date=dt.date.fromisoformat(data["date"]),
        expected_participants=data["participants"],
        amount_cents=data["cents"],
        plan=data.get("plan"),
        now=ctx.now,
    )
    ctx.say(
        ctx._(
            "Your request is in. Your number is {reference}. A project leader will look at it.",
            reference=request.reference,
        )
    )
    ctx.finish()


@dialog.prompt("change")
async def ask_change(ctx: Context) -> None:
    ctx.ask(
        ctx._("What do you want to change?"),
        [
            Option(ctx.pgettext("row", "Activity"), "activity"),
            Option(ctx.pgettext("row", "Date"), "date"),
            Option(ctx.pgettext("row", "Number of people"), "participants"),
            Option(ctx.pgettext("row", "Amount"), "amount"),
            Option(ctx.pgettext("row", "Plan"), "plan"),
            Option(ctx.pgettext("row", "Nothing"), "confirm"),
        ],
    )


@dialog.step("change", accepts=())
async def change(ctx: Context) -> None:
    if ctx.value in CHANGEABLE:
        ctx.data["editing"] = True
    ctx.goto(ctx.value or "confirm")


# --- status: my requests -----------------------------------------------------------------------


def _point_line(ctx: Context, point: PayoutPoint) -> str:
    parts = [point.name]
    if point.address:
        parts.append(point.address)
    line = ", ".join(parts)
    if point.opening_hours:
        line += " " + ctx._("(open: {hours})", hours=point.opening_hours)
    return "  " + line


async def _describe(ctx: Context, request: BudgetRequest) -> str:
    street_ = request.street
    lines = [
        f"{request.reference} · {_street_name(street_)} · {request.round.name(ctx.language)}",
        ctx._(
            "{activity} on {date}",
            activity=request.activity,
            date=_day(ctx, request.activity_date),
        ),
        ctx._("Asked for: {amount}", amount=ctx.money(request.amount_cents)),
        ctx._("Status: {status}", status=status_word(ctx.t, request.status)),
    ]
    if request.status == S.REJECTED:
        if request.decision_reason:
            lines.append(ctx._("Reason: {reason}", reason=request.decision_reason))
        return "\n".join(lines)
    if request.awarded_cents:
        lines.append(ctx._("You get: {amount}", amount=ctx.money(request.awarded_cents)))
        if request.status == S.PARTLY_APPROVED and request.decision_reason:
            lines.append(ctx._("Reason: {reason}", reason=request.decision_reason))
        if request.paid_at is not None:
            lines.append(ctx._("Paid out on {date}.", date=ctx.date(request.paid_at)))
        elif request.payout_code:
            lines.append(ctx._("Your payout code: {code}", code=request.payout_code))
            points = await payout_points_for_street(ctx.session, street_)
            if points:
                lines.append(ctx._("Collect the money at:"))
                lines += [_point_line(ctx, point) for point in points]
            else:
                lines.append(ctx._("Your project leader tells you where to get the money."))
    elif request.status == S.SUBMITTED:
        lines.append(ctx._("A project leader will look at it."))
    return "\n".join(lines)


@dialog.prompt("status")
async def show_status(ctx: Context) -> None:
    requests = await budget.requests_of_person(ctx.session, ctx.person)
    if not requests:
        ctx.say(ctx._("You have not asked for a contribution yet."))
    else:
        shown = requests[:STATUS_SHOWN]
        if len(requests) > STATUS_SHOWN:
            head = ctx._("Your {n} newest requests:", n=len(shown))
        else:
            head = ctx.ngettext("Your request:", "Your requests:", len(shown))
        blocks = [await _describe(ctx, request) for request in shown]
        ctx.say(head + "\n\n" + "\n\n".join(blocks))
    ctx.goto("choose")


# --- report after the activity -------------------------------------------------------------------


@dialog.prompt("report_which")
async def ask_report_which(ctx: Context) -> None:
    reportable = await budget.reportable_requests(ctx.session, ctx.person, today=ctx.today)
    if not reportable:
        ctx.say(ctx._("There is nothing to report right now."))
        ctx.goto("choose")
        return
    if len(reportable) == 1:
        ctx.data["request_id"] = reportable[0].id
        ctx.goto("report_people")
        return
    ctx.ask(
        ctx._("Which activity do you want to report on?"),
        [Option(_fit(f"{r.reference} {r.activity}"), str(r.id)) for r in reportable[:10]],
    )


@dialog.step("report_which", accepts=())
async def report_which(ctx: Context) -> None:
    ctx.data["request_id"] = int(ctx.value or 0)
    ctx.goto("report_people")


@dialog.prompt("report_people")
async def ask_report_people(ctx: Context) -> None:
    request = await ctx.session.get(BudgetRequest, ctx.data["request_id"])
    assert request is not None
    ctx.ask(
        ctx._(
            "How many people took part in {activity} on {date}?",
            activity=request.activity,
            date=_day(ctx, request.activity_date),
        )
    )


@dialog.step("report_people")
async def report_people(ctx: Context) -> None:
    ctx.data["participants"] = parse_count(
        ctx.text or "", min_value=budget.PARTICIPANTS_MIN, max_value=budget.PARTICIPANTS_MAX
    )
    ctx.data["photos"] = []
    ctx.goto("report_photos")


def _ask_photos(ctx: Context, text: str) -> None:
    ctx.ask(text, [Option(ctx.pgettext("button", "Done"), "done")], free_text=True)


@dialog.prompt("report_photos")
async def ask_report_photos(ctx: Context) -> None:
    _ask_photos(
        ctx,
        ctx._("Send photos of the activity. You can send up to {max}.", max=budget.PHOTOS_MAX)
        + "\n"
        + ctx._("Type done when you are ready. No photos? Then type done too."),
    )


@dialog.step("report_photos", accepts=("photo", "text"), help=HELP_PHOTOS)
async def report_photos(ctx: Context) -> None:
    if ctx.value == "done" or (ctx.text is not None and normalize(ctx.text) in DONE_WORDS):
        ctx.goto("report_confirm")
        return
    if ctx.photo is None:
        _ask_photos(ctx, ctx._("Please send a photo, or type done when you are ready."))
        return
    photos: list[str] = ctx.data.setdefault("photos", [])
    if ctx.photo.ref not in photos:
        photos.append(ctx.photo.ref)
    if len(photos) >= budget.PHOTOS_MAX:
        ctx.say(ctx._("That is {max} photos, the most you can send.", max=budget.PHOTOS_MAX))
        ctx.goto("report_confirm")
        return
    _ask_photos(
        ctx,
        ctx.ngettext(
            "Thank you, I have {n} photo. Send more, or type done.",
            "Thank you, I have {n} photos. Send more, or type done.",
            len(photos),
        ),
    )


@dialog.prompt("report_confirm")
async def ask_report_confirm(ctx: Context) -> None:
    request = await ctx.session.get(BudgetRequest, ctx.data["request_id"])
    assert request is not None
    photos = len(ctx.data.get("photos", []))
    ctx.yes_no(
        ctx._("Your report for {reference}:", reference=request.reference)
        + "\n• "
        + ctx.ngettext("{n} person took part", "{n} people took part", ctx.data["participants"])
        + "\n• "
        + ctx.ngettext("{n} photo", "{n} photos", photos)
        + "\n\n"
        + ctx._("Shall I send it?"),
        yes=ctx.pgettext("button", "Yes, send it"),
        no=ctx.pgettext("button", "No, do not send"),
    )


@dialog.step("report_confirm", accepts=())
async def report_confirm(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.say(ctx._("Okay. I did not send your report."))
        ctx.finish()
        return
    await budget.report_activity(
        ctx.session,
        actor=ctx.person,
        request_id=ctx.data["request_id"],
        participants=ctx.data["participants"],
        photos=ctx.data.get("photos", []),
        now=ctx.now,
    )
    ctx.say(ctx._("Thank you for your report! Great that you did this for your street."))
    ctx.finish()
