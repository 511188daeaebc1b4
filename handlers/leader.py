"""Project leaders: review requests for a contribution, check new streets, see a round.

Three dialogs, each a menu entry for leaders and admins (``handlers/menu.py``):

- ``review``: the requests waiting in the leader's areas, oldest first; details; approve in
  full, in part (an amount below the one asked, and a reason) or reject (a reason); after the
  confirmation every gangmaker of the street gets a message in their own language, with the
  payout code and where to cash it, or with the reason.
- ``pending_streets``: new sign-ups in the leader's areas; approve, or reject with a reason;
  the street's gangmakers are told.
- ``overview``: a round's requests counted per status and per area.

Rules (who may decide, which amounts, which transitions) live in ``bot.services``; this module
turns the conversation into calls and tells the people involved (``bot.services.notify``), with
the texts of ``bot/i18n/decisions.py``, which the web dashboard uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

from bot.conversation import MAX_OPTIONS, ROW_MAX_CHARS, Context, Dialog, Option
from bot.errors import IllegalTransition, InvalidInput
from bot.i18n import Translator, lazy
from bot.i18n.decisions import (  # noqa: F401  (the decision texts, shared with the web)
    BUDGET_REASONS,
    STREET_REASONS,
    _point_lines,
    _questions,
    _reason_text,
    decision_text,
    street_label,
    street_text,
)
from bot.i18n.error_texts import error_text, status_word
from bot.i18n.lazy import LazyText
from bot.models import (
    BudgetRequest,
    Person,
    RequestStatus,
    Round,
    Street,
)
from bot.parsing.money import parse_money
from bot.services import budget, notify, overview, permissions, rounds, streets
from bot.services.payout_points import payout_points_for_street

T = TypeVar("T")
S = RequestStatus

# --- shared pieces ---------------------------------------------------------------------------


def shorten(text: str, limit: int = ROW_MAX_CHARS) -> str:
    """Data shown as an option label (a street name) cut to fit a list row."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _has_text(text: str) -> bool:
    # A reason made only of emoji or punctuation tells the gangmakers nothing.
    return any(ch.isalnum() for ch in text)


class Pager:
    """A long list in pages that fit one question: at most 10 options in all, so a page holds
    10 rows when everything fits, and one less for each "previous" / "next" option.

    The offsets of earlier pages are kept in ``ctx.data`` under ``offset`` and ``back``.
    """

    PREV, NEXT, MENU = "prev", "next", "menu"

    def __init__(self, ctx: Context, total: int) -> None:
        offset = int(ctx.data.get("offset", 0))
        if offset >= total:  # the list got shorter (another leader was busy): start again
            offset = 0
            ctx.data["back"] = []
        self.total = total
        self.offset = offset
        self.has_prev = offset > 0
        slots = MAX_OPTIONS - self.has_prev
        self.has_next = total - offset > slots
        self.count = min(slots - self.has_next, total - offset)
        ctx.data["offset"] = offset

    def rows(self, items: Sequence[T]) -> Sequence[T]:
        return items[self.offset : self.offset + self.count]

    def navigation(self, ctx: Context) -> list[Option]:
        options = []
        if self.has_prev:
            options.append(Option(ctx.pgettext("row", "◂ Previous"), self.PREV))
        if self.has_next:
            options.append(Option(ctx.pgettext("row", "Next ▸"), self.NEXT))
        if self.count + len(options) < MAX_OPTIONS:
            options.append(Option(ctx.pgettext("row", "Back to the menu"), self.MENU))
        return options

    def range_line(self, ctx: Context) -> str | None:
        if not (self.has_prev or self.has_next):
            return None
        return ctx._(
            "You see {first} to {last} of {total}.",
            first=self.offset + 1,
            last=self.offset + self.count,
            total=self.total,
        )

    @classmethod
    def turn(cls, ctx: Context) -> bool:
        """Handle a navigation choice; True when it was one (the step then shows the list)."""
        if ctx.value == cls.NEXT:
            ctx.data["back"] = [*ctx.data.get("back", []), int(ctx.data.get("offset", 0))]
            ctx.data["offset"] = int(ctx.data.get("offset", 0)) + int(ctx.data.get("count", 0))
            return True
        if ctx.value == cls.PREV:
            back = list(ctx.data.get("back", []))
            ctx.data["offset"] = back.pop() if back else 0
            ctx.data["back"] = back
            return True
        return False


def _ask_page(
    ctx: Context,
    intro: str,
    items: Sequence[T],
    label: Callable[[T], str],
    value: Callable[[T], str],
) -> None:
    pager = Pager(ctx, len(items))
    ctx.data["count"] = pager.count
    lines = [intro]
    if (line := pager.range_line(ctx)) is not None:
        lines.append(line)
    options = [Option(label(item), value(item)) for item in pager.rows(items)]
    ctx.ask("\n".join(lines), [*options, *pager.navigation(ctx)])


def _ask_reason(ctx: Context, question: str, presets: dict[str, tuple[LazyText, LazyText]]) -> None:
    ctx.ask(
        question,
        [Option(ctx.tr(row), key) for key, (row, _sentence) in presets.items()],
        free_text=True,
    )


def _take_reason(
    ctx: Context,
    presets: dict[str, tuple[LazyText, LazyText]],
    *,
    max_chars: int,
    required: InvalidInput,
    too_long: InvalidInput,
) -> None:
    """Store a chosen preset or a typed reason; refuse an empty or too long one (with the
    service's own errors, said now instead of after the confirmation)."""
    if ctx.value in presets:
        ctx.data["reason_key"] = ctx.value
        ctx.data["reason"] = ctx.tr(presets[ctx.value][1])
        return
    text = " ".join((ctx.text or "").split())
    if not _has_text(text):
        raise required
    if len(text) > max_chars:
        raise too_long
    ctx.data["reason_key"] = None
    ctx.data["reason"] = text


async def _tell_gangmakers(
    ctx: Context, street: Street, key: str, text: Callable[[Translator], str]
) -> int:
    """Queue ``text`` for every gangmaker of the street, each in their own language."""
    people: list[Person] = await streets.gangmakers_of(ctx.session, street.id)
    for person in people:
        await notify.notify(
            ctx.session, person=person, key=f"{key}:{person.id}", text=text, now=ctx.now
        )
    return len(people)


def _done(ctx: Context, told: int) -> None:
    if told:
        ctx.say(
            ctx.ngettext(
                "Done. The gangmaker gets a message.",
                "Done. The {n} gangmakers get a message.",
                told,
            )
        )
    else:
        ctx.say(ctx._("Done. This street has no gangmaker to tell."))


# =============================================================================================
# review: requests for a contribution
# =============================================================================================

review = Dialog("review", entry="queue")


def _request_row(ctx: Context, request: BudgetRequest) -> str:
    return f"{request.reference} · {shorten(street_label(request.street), 18)} · " + ctx.money(
        request.amount_cents
    )


@review.prompt("queue")
async def ask_queue(ctx: Context) -> None:
    queue = await budget.review_queue(ctx.session, actor=ctx.person)
    if not queue:
        ctx.say(ctx._("No requests are waiting for you. Well done!"))
        ctx.finish()
        return
    intro = ctx.ngettext(
        "{n} request is waiting for you. Choose it to check it.",
        "{n} requests are waiting for you, oldest first. Choose one to check it.",
        len(queue),
    )
    _ask_page(ctx, intro, queue, partial(_request_row, ctx), lambda r: r.reference)


@review.step("queue", accepts=())
async def choose_request(ctx: Context) -> None:
    if Pager.turn(ctx):
        ctx.goto("queue")
    elif ctx.value == Pager.MENU:
        ctx.finish()
    else:
        ctx.data["reference"] = ctx.value
        ctx.goto("request")


async def _current_request(ctx: Context) -> BudgetRequest | None:
    """The request being reviewed, or None (after saying so) when it was handled already."""
    request = await budget.request_by_reference(
        ctx.session, actor=ctx.person, reference=ctx.data.get("reference", "")
    )
    if request.status != S.SUBMITTED:
        ctx.say(
            ctx._(
                "{reference} was already handled. It is {status} now.",
                reference=request.reference,
                status=status_word(ctx.t, request.status),
            )
        )
        ctx.goto("queue")
        return None
    return request


@review.prompt("request")
async def show_request(ctx: Context) -> None:
    request = await _current_request(ctx)
    if request is None:
        return
    street, round_ = request.street, request.round
    lines = [
        f"{request.reference} · {street_label(street)}",
        ctx._("Area: {area}", area=street.area.name),
        ctx._("Round: {round}", round=round_.name(ctx.language)),
        ctx._("Activity: {activity}", activity=request.activity),
        ctx._("Date: {date}", date=ctx.date(request.activity_date)),
        ctx._("Expected: {n} people", n=request.expected_participants),
        ctx._(
            "Asked: {amount} (the round gives at most {max})",
            amount=ctx.money(request.amount_cents),
            max=ctx.money(round_.max_amount_cents),
        ),
    ]
    if request.plan:
        lines.append(ctx._("Plan: {plan}", plan=request.plan))
    if street.households:
        lines.append(ctx._("Households in the street: {n}", n=street.households))
    lines.append(ctx._("Sent in on {date}.", date=ctx.date(request.created_at)))
    lines += ["", ctx._("What do you decide?")]
    ctx.ask(
        "\n".join(lines),
        [
            Option(ctx.pgettext("row", "Approve in full"), "approve"),
            Option(ctx.pgettext("row", "Approve in part"), "partly"),
            Option(ctx.pgettext("row", "Reject"), "reject"),
            Option(ctx.pgettext("row", "Back to the list"), "back"),
        ],
    )


@review.step("request", accepts=())
async def decide(ctx: Context) -> None:
    ctx.data.update(decision=ctx.value, awarded=None, reason=None, reason_key=None)
    if ctx.value == "approve":
        ctx.goto("confirm")
    elif ctx.value == "partly":
        ctx.goto("amount")
    elif ctx.value == "reject":
        ctx.goto("reason")
    else:
        ctx.goto("queue")


@review.prompt("amount")
async def ask_amount(ctx: Context) -> None:
    request = await _current_request(ctx)
    if request is None:
        return
    ctx.ask(
        ctx._(
            "How much do you give? It must be less than the {asked} asked. For example: 100",
            asked=ctx.money(request.amount_cents),
        )
    )


@review.step(
    "amount", help=lazy._("Type the amount the street gets, less than the amount it asked.")
)
async def take_amount(ctx: Context) -> None:
    request = await _current_request(ctx)
    if request is None:
        return
    cents = parse_money(ctx.text or "")
    if not 0 < cents < request.amount_cents:
        # Said now rather than after the reason; the service checks it again on confirming.
        raise InvalidInput("budget.partly_amount_invalid", asked_cents=request.amount_cents)
    ctx.data["awarded"] = cents
    ctx.goto("reason")


@review.prompt("reason")
async def ask_reason(ctx: Context) -> None:
    if ctx.data.get("decision") == "partly":
        question = ctx._("Why less? Choose a reason or type your own. The gangmakers read it.")
    else:
        question = ctx._("Why not? Choose a reason or type your own. The gangmakers read it.")
    _ask_reason(ctx, question, BUDGET_REASONS)


@review.step("reason", help=lazy._("Choose a reason, or type a short reason in your own words."))
async def take_reason(ctx: Context) -> None:
    _take_reason(
        ctx,
        BUDGET_REASONS,
        max_chars=budget.REASON_MAX,
        required=InvalidInput("budget.reason_required"),
        too_long=InvalidInput("budget.reason_too_long", max=budget.REASON_MAX),
    )
    ctx.goto("confirm")


@review.prompt("confirm")
async def ask_confirm(ctx: Context) -> None:
    request = await _current_request(ctx)
    if request is None:
        return
    names = {"reference": request.reference, "street": street_label(request.street)}
    decision = ctx.data.get("decision")
    if decision == "approve":
        lines = [
            ctx._(
                "Approve {reference} for {street}: {amount}?",
                amount=ctx.money(request.amount_cents),
                **names,
            )
        ]
    elif decision == "partly":
        lines = [
            ctx._(
                "Give {amount} to {street} ({reference})? They asked {asked}.",
                amount=ctx.money(int(ctx.data["awarded"])),
                asked=ctx.money(request.amount_cents),
                **names,
            ),
            ctx._("Reason: {reason}", reason=ctx.data.get("reason")),
        ]
    else:
        lines = [
            ctx._("Reject {reference} for {street}?", **names),
            ctx._("Reason: {reason}", reason=ctx.data.get("reason")),
        ]
    lines.append(ctx._("The gangmakers of the street get a message."))
    ctx.yes_no(
        "\n".join(lines),
        yes=ctx.pgettext("button", "Yes, send"),
        no=ctx.pgettext("button", "No, go back"),
    )


@review.step("confirm", accepts=())
async def confirm(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.goto("request")
        return
    request = await _current_request(ctx)
    if request is None:
        return
    decision = ctx.data["decision"]
    try:
        # Our own savepoint: another leader may have decided a moment ago.
        async with ctx.session.begin_nested():
            request = await budget.review_request(
                ctx.session,
                actor=ctx.person,
                request_id=request.id,
                decision=decision,
                awarded_cents=ctx.data.get("awarded") if decision == "partly" else None,
                reason=ctx.data.get("reason") if decision != "approve" else None,
                now=ctx.now,
            )
    except IllegalTransition as error:
        ctx.say(error_text(ctx.t, error))
        ctx.goto("queue")
        return
    street = request.street
    text = partial(
        decision_text,
        request=request,
        street=street_label(street),
        points=await payout_points_for_street(ctx.session, street),
        contact=await streets.area_contact(ctx.session, street),
        reason=partial(_reason_text, presets=BUDGET_REASONS, data=dict(ctx.data)),
    )
    told = await _tell_gangmakers(ctx, street, f"budget:{request.id}:decided", text)
    _done(ctx, told)
    ctx.data["offset"] = 0
    ctx.data["back"] = []
    ctx.goto("queue")


# =============================================================================================
# pending_streets: new sign-ups
# =============================================================================================

pending = Dialog("pending_streets", entry="list")


@pending.prompt("list")
async def ask_street(ctx: Context) -> None:
    waiting = await streets.pending_streets(ctx.session, actor=ctx.person)
    if not waiting:
        ctx.say(ctx._("No new streets are waiting for you."))
        ctx.finish()
        return
    intro = ctx.ngettext(
        "{n} new street is waiting for you. Choose it to check it.",
        "{n} new streets are waiting for you, oldest first. Choose one to check it.",
        len(waiting),
    )
    _ask_page(ctx, intro, waiting, lambda s: shorten(street_label(s)), lambda s: f"s{s.id}")


@pending.step("list", accepts=())
async def choose_street(ctx: Context) -> None:
    if Pager.turn(ctx):
        ctx.goto("list")
    elif ctx.value == Pager.MENU:
        ctx.finish()
    else:
        ctx.data["street_id"] = int((ctx.value or "s0")[1:])
        ctx.goto("street")


async def _pending_street(ctx: Context) -> Street | None:
    """The street being checked, or None (after saying so) when it is no longer pending."""
    waiting = await streets.pending_streets(ctx.session, actor=ctx.person)
    street = next((s for s in waiting if s.id == ctx.data.get("street_id")), None)
    if street is None:
        ctx.say(ctx._("This street was already handled."))
        ctx.goto("list")
    return street


@pending.prompt("street")
async def show_street(ctx: Context) -> None:
    street = await _pending_street(ctx)
    if street is None:
        return
    gangmakers = await streets.gangmakers_of(ctx.session, street.id)
    names = ", ".join(p.first_name or "?" for p in gangmakers) or "-"
    lines = [
        street.name,
        ctx._("Part of the street: {section}", section=street.section or "-"),
        ctx._("Area: {area}", area=street.area.name),
        ctx._("Households: {n}", n=street.households or "-"),
        ctx._(
            "Lief & Leed: {yes_no}", yes_no=ctx._("yes") if street.theme_liefleed else ctx._("no")
        ),
        ctx._("Signed up by: {names}", names=names),
        ctx._("Signed up on {date}.", date=ctx.date(street.created_at)),
        "",
        ctx._("What do you decide?"),
    ]
    ctx.ask(
        "\n".join(lines),
        [
            Option(ctx.pgettext("button", "Approve"), "approve"),
            Option(ctx.pgettext("button", "Reject"), "reject"),
            Option(ctx.pgettext("button", "Back to the list"), "back"),
        ],
    )


@pending.step("street", accepts=())
async def decide_street(ctx: Context) -> None:
    ctx.data.update(decision=ctx.value, reason=None, reason_key=None)
    if ctx.value == "approve":
        ctx.goto("confirm")
    elif ctx.value == "reject":
        ctx.goto("reason")
    else:
        ctx.goto("list")


@pending.prompt("reason")
async def ask_street_reason(ctx: Context) -> None:
    _ask_reason(
        ctx,
        ctx._("Why not? Choose a reason or type your own. The gangmakers read it."),
        STREET_REASONS,
    )


@pending.step("reason", help=lazy._("Choose a reason, or type a short reason in your own words."))
async def take_street_reason(ctx: Context) -> None:
    _take_reason(
        ctx,
        STREET_REASONS,
        max_chars=streets.REASON_MAX,
        required=InvalidInput("street.reason_required"),
        too_long=InvalidInput("street.reason_too_long", max=streets.REASON_MAX),
    )
    ctx.goto("confirm")


@pending.prompt("confirm")
async def ask_street_confirm(ctx: Context) -> None:
    street = await _pending_street(ctx)
    if street is None:
        return
    if ctx.data.get("decision") == "approve":
        lines = [ctx._("Approve {street}?", street=street_label(street))]
    else:
        lines = [
            ctx._("Reject {street}?", street=street_label(street)),
            ctx._("Reason: {reason}", reason=ctx.data.get("reason")),
        ]
    lines.append(ctx._("The gangmakers of the street get a message."))
    ctx.yes_no(
        "\n".join(lines),
        yes=ctx.pgettext("button", "Yes, send"),
        no=ctx.pgettext("button", "No, go back"),
    )


@pending.step("confirm", accepts=())
async def confirm_street(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.goto("street")
        return
    street = await _pending_street(ctx)
    if street is None:
        return
    approve = ctx.data.get("decision") == "approve"
    try:
        async with ctx.session.begin_nested():
            street = await streets.review_street(
                ctx.session,
                actor=ctx.person,
                street_id=street.id,
                approve=approve,
                reason=None if approve else ctx.data.get("reason"),
                now=ctx.now,
            )
    except IllegalTransition as error:
        ctx.say(error_text(ctx.t, error))
        ctx.goto("list")
        return
    text = partial(
        street_text,
        street=street,
        contact=await streets.area_contact(ctx.session, street),
        reason=partial(_reason_text, presets=STREET_REASONS, data=dict(ctx.data)),
    )
    stamp = int(ctx.now.timestamp())
    told = await _tell_gangmakers(ctx, street, f"street:{street.id}:{street.status}:{stamp}", text)
    _done(ctx, told)
    ctx.data["offset"] = 0
    ctx.data["back"] = []
    ctx.goto("list")


# =============================================================================================
# overview: a round in numbers
# =============================================================================================

overview_dialog = Dialog("overview", entry="round")

AWARDED = frozenset(overview.AWARDED_STATUSES)


async def _rounds(ctx: Context) -> list[Round]:
    """Open rounds first (closing soonest first), then the others, newest first."""
    found: list[Round] = []
    for year in (ctx.today.year, ctx.today.year - 1):
        found += await rounds.rounds_of_year(ctx.session, ctx.organisation.id, year)
    open_now = sorted((r for r in found if rounds.is_open(r, ctx.now)), key=lambda r: r.closes_at)
    others = sorted((r for r in found if r not in open_now), key=lambda r: r.opens_at, reverse=True)
    return open_now + others


@overview_dialog.prompt("round")
async def ask_round(ctx: Context) -> None:
    rounds.require_round_manager(ctx.person)
    found = await _rounds(ctx)
    if not found:
        ctx.say(ctx._("There are no rounds yet."))
        ctx.finish()
        return
    if len(found) == 1:
        ctx.data["round_id"] = found[0].id
        ctx.goto("show")
        return
    options = [
        Option(shorten(f"{r.name(ctx.language)} {r.year}"), f"round:{r.id}")
        for r in found[: MAX_OPTIONS - 1]
    ]
    options.append(Option(ctx.pgettext("row", "Back to the menu"), "menu"))
    ctx.ask(ctx._("Which round do you want to see?"), options)


@overview_dialog.step("round", accepts=())
async def choose_round(ctx: Context) -> None:
    if ctx.value == "menu":
        ctx.finish()
        return
    ctx.data["round_id"] = int((ctx.value or "round:0").partition(":")[2])
    ctx.goto("show")


def _status_line(ctx: Context, status: RequestStatus, figures: overview.Figures) -> str:
    cents = figures.awarded_cents if status in AWARDED else figures.asked_cents
    return f"• {status_word(ctx.t, status)}: {figures.count} · {ctx.money(cents)}"


@overview_dialog.prompt("show")
async def show_overview(ctx: Context) -> None:
    round_ = await rounds.get_round(ctx.session, actor=ctx.person, round_id=ctx.data["round_id"])
    numbers = await overview.round_overview(
        ctx.session, round_id=round_.id, scope=permissions.leader_scope(ctx.person)
    )
    title = f"{round_.name(ctx.language)} {round_.year}"
    if len(numbers.by_area) == 1:
        title += f" · {numbers.by_area[0].area_name}"
    lines = [title, ctx._("At most {max} per street.", max=ctx.money(round_.max_amount_cents))]
    total = numbers.total
    if not total.count:
        lines += ["", ctx._("No requests in this round yet.")]
    else:
        lines += [
            "",
            ctx.ngettext(
                "{n} request. Asked: {asked}.",
                "{n} requests. Asked: {asked}.",
                total.count,
                asked=ctx.money(total.asked_cents),
            ),
            ctx._(
                "Awarded: {awarded}. Paid out: {paid}.",
                awarded=ctx.money(total.awarded_cents),
                paid=ctx.money(total.paid_cents),
            ),
            ctx._("To review: {n}.", n=numbers.to_review),
            "",
            ctx._("Per status:"),
        ]
        lines += [
            _status_line(ctx, status, figures)
            for status, figures in numbers.by_status.items()
            if figures.count
        ]
        if len(numbers.by_area) > 1:
            lines += ["", ctx._("Per area:")]
            for area in numbers.by_area:
                lines.append(
                    "• "
                    + ctx.ngettext(
                        "{area}: {n} request, {awarded} awarded, {open} to review",
                        "{area}: {n} requests, {awarded} awarded, {open} to review",
                        area.total.count,
                        area=area.area_name,
                        awarded=ctx.money(area.total.awarded_cents),
                        open=area.by_status[S.SUBMITTED].count,
                    )
                )
    ctx.ask(
        "\n".join(lines),
        [
            Option(ctx.pgettext("button", "Another round"), "other"),
            Option(ctx.pgettext("button", "Back to the menu"), "menu"),
        ],
    )


@overview_dialog.step("show", accepts=())
async def after_overview(ctx: Context) -> None:
    if ctx.value == "other":
        ctx.goto("round")
    else:
        ctx.finish()
