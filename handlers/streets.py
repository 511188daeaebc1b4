"""Streets: sign up a street ("signup") and see my streets, share their code, join one ("streets").

Sign-up asks, one question at a time: the street name (house numbers typed after it are taken
as the part of the street), the part or "whole street", the area (a paged list when the
organisation has more than 10), about how many households, Lief & Leed yes/no, and a summary
to confirm or change. Nothing is stored before the person says yes; then
``streets.sign_up_street`` decides: a new (or reopened) street waits for a project leader, and a
street that was signed up already is offered to join as co-gangmaker.

"My street" lists the person's streets with their status, shares a street's invite code as a
message to forward, and joins a street with a typed code. All rules stay in
``bot.services.streets``; this module only turns conversation into calls.
"""

from __future__ import annotations

import weakref

from bot.conversation import ROW_MAX_CHARS, Context, Dialog, Option
from bot.conversation.words import number_of
from bot.errors import InvalidInput
from bot.i18n import lazy
from bot.models import Area, Street, StreetStatus
from bot.parsing.numbers import normalize_typed, parse_count
from bot.services import codes, streets

# An area list longer than MAX_OPTIONS is shown in pages of this many, plus "more".
AREA_PAGE = 9
MAX_LIST = 10


def _fit(label: str, limit: int = ROW_MAX_CHARS) -> str:
    """Data used as an option label (street and area names) must fit a WhatsApp list row."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def street_label(street: Street) -> str:
    return f"{street.name} {street.section}" if street.section else street.name


def _retry(ctx: Context, hint: str) -> None:
    """Say what was wrong and ask the same question again; nothing is stored."""
    ctx.say(hint)
    ctx.goto(ctx.step or "")


# ==========================================================================================
# signup: sign up a street
# ==========================================================================================

signup = Dialog("signup")


def _next(ctx: Context, step: str) -> None:
    """On to ``step``, or back to the summary when the person was changing one answer."""
    ctx.goto("confirm" if ctx.data.get("editing") else step)


@signup.prompt("name")
async def ask_name(ctx: Context) -> None:
    question = ctx._("What is the name of the street you want to sign up?")
    if ctx.data.get("editing"):
        ctx.ask(question)  # changing the name: no way out of the sign-up here
        return
    options = [Option(ctx.pgettext("button", "I have a code"), "code")]
    if await streets.my_streets(ctx.session, ctx.person):
        options.append(Option(ctx.pgettext("button", "My streets"), "mine"))
    ctx.ask(
        question
        + "\n"
        + ctx._(
            "Did a neighbour give you a code? Then choose: {have_code}.", have_code=options[0].label
        ),
        options,
        free_text=True,
    )


@signup.step(
    "name",
    help=lazy._("Type only the name of the street, like Zaagmolenstraat. No names of people."),
)
async def name(ctx: Context) -> None:
    if ctx.value == "code":
        ctx.start("streets", at="code")
        return
    if ctx.value == "mine":
        ctx.start("streets")
        return
    head, numbers = streets.split_house_numbers(streets.clean_text(ctx.text or ""))
    if len(head) > streets.NAME_MAX:
        _retry(
            ctx, ctx._("That name is too long. Use at most {max} characters.", max=streets.NAME_MAX)
        )
        return
    # The service's own check, so the rule lives in one place (street.name_invalid).
    head = streets.check_name(head)
    ctx.data["name"] = head
    if numbers:
        # "Zaagmolenstraat 1-47": the numbers are the part of the street.
        ctx.data["section"] = streets.check_section(numbers)
        _next(ctx, "area")
    else:
        _next(ctx, "section")


@signup.prompt("section")
async def ask_section(ctx: Context) -> None:
    ctx.ask(
        ctx._("Do you sign up the whole street, or a part of it?")
        + "\n"
        + ctx._("For a part, type the house numbers, like 1-47."),
        [Option(ctx.pgettext("button", "Whole street"), "whole")],
        free_text=True,
    )


@signup.step(
    "section",
    help=lazy._("Type the house numbers of your part of the street, like 1-47 or 2-30 even."),
)
async def section(ctx: Context) -> None:
    ctx.data["section"] = None if ctx.value == "whole" else streets.check_section(ctx.text)
    _next(ctx, "area")


@signup.prompt("area")
async def ask_area(ctx: Context) -> None:
    areas = await streets.areas_of(ctx.session, ctx.organisation.id)
    if not areas:
        ctx.say(
            ctx._(
                "Signing up is not possible yet. Please contact {organisation}.",
                organisation=ctx.organisation.name,
            )
        )
        ctx.finish()
        return
    if len(areas) == 1:
        ctx.data["area_id"] = areas[0].id
        _next(ctx, "households")
        return
    options: list[Option]
    if len(areas) <= MAX_LIST:
        options = [Option(_fit(a.name), str(a.id)) for a in areas]
    else:
        pages = (len(areas) + AREA_PAGE - 1) // AREA_PAGE
        page = min(int(ctx.data.get("page", 0)), pages - 1)
        shown = areas[page * AREA_PAGE : (page + 1) * AREA_PAGE]
        options = [Option(_fit(a.name), str(a.id)) for a in shown]
        if page + 1 < pages:
            options.append(Option(ctx.pgettext("row", "More areas"), f"page:{page + 1}"))
        else:
            options.append(Option(ctx.pgettext("row", "Back to the start"), "page:0"))
    ctx.ask(ctx._("In which area is the street?"), options, free_text=True)


@signup.step("area", help=lazy._("Choose the part of town where your street is."))
async def area(ctx: Context) -> None:
    value = ctx.value
    if value is not None and value.startswith("page:"):
        ctx.data["page"] = int(value.removeprefix("page:"))
        ctx.goto("area")
        return
    if value is None:
        # Typed text that is no option on this page: an area name from another page, perhaps.
        typed = normalize_typed(ctx.text or "")
        areas = await streets.areas_of(ctx.session, ctx.organisation.id)
        same = [a for a in areas if normalize_typed(a.name) == typed]
        starting = [
            a for a in areas if len(typed) >= 3 and normalize_typed(a.name).startswith(typed)
        ]
        found = same or (starting if len(starting) == 1 else [])
        if not found:
            if number_of(ctx.text or "") is not None:
                hint = ctx._("Please choose one of the options. You can type its number.")
            else:
                hint = ctx._("I do not know that area. Please choose one from the list.")
            _retry(ctx, hint)
            return
        value = str(found[0].id)
    ctx.data["area_id"] = int(value)
    ctx.data.pop("page", None)
    _next(ctx, "households")


@signup.prompt("households")
async def ask_households(ctx: Context) -> None:
    ctx.ask(ctx._("About how many households live there? A guess is fine, like 40."))


@signup.step("households", help=lazy._("Count the front doors. A guess is fine, like 40."))
async def households(ctx: Context) -> None:
    try:
        count = parse_count(
            ctx.text or "", min_value=streets.HOUSEHOLDS_MIN, max_value=streets.HOUSEHOLDS_MAX
        )
    except InvalidInput as error:
        if error.key in ("number.too_small", "number.too_large"):
            raise InvalidInput(
                "street.households_out_of_range",
                min=streets.HOUSEHOLDS_MIN,
                max=streets.HOUSEHOLDS_MAX,
            ) from None
        raise
    ctx.data["households"] = count
    _next(ctx, "liefleed")


@signup.prompt("liefleed")
async def ask_liefleed(ctx: Context) -> None:
    ctx.yes_no(
        ctx._("Does your street also want to join Lief & Leed?")
        + "\n"
        + ctx._(
            "Then you get {amount} a year for small attentions for neighbours. "
            "For example flowers, a card or a visit.",
            amount=ctx.money(ctx.organisation.liefleed_pot_cents),
        )
    )


@signup.step("liefleed", accepts=())
async def liefleed(ctx: Context) -> None:
    ctx.data["liefleed"] = ctx.value == "yes"
    ctx.goto("confirm")


def _summary(ctx: Context, area_name: str) -> str:
    data = ctx.data
    lines = [
        ctx._("Please check your sign-up:"),
        "• " + ctx._("Street: {street}", street=data["name"]),
        "• "
        + (
            ctx._("House numbers: {numbers}", numbers=data["section"])
            if data.get("section")
            else ctx._("House numbers: the whole street")
        ),
        "• " + ctx._("Area: {area}", area=area_name),
        "• " + ctx._("Households: about {count}", count=data["households"]),
        "• " + (ctx._("Lief & Leed: yes") if data.get("liefleed") else ctx._("Lief & Leed: no")),
        "",
        ctx._("Is this right? Then I send it to a project leader."),
    ]
    return "\n".join(lines)


@signup.prompt("confirm")
async def ask_confirm(ctx: Context) -> None:
    ctx.data["editing"] = True
    area_row = await ctx.session.get(Area, ctx.data["area_id"])
    ctx.ask(
        _summary(ctx, area_row.name if area_row is not None else "?"),
        [
            Option(ctx.pgettext("button", "Yes, sign up"), "yes"),
            Option(ctx.pgettext("button", "Change something"), "change"),
            Option(ctx.pgettext("button", "No"), "no"),
        ],
    )


@signup.step("confirm", accepts=())
async def confirm(ctx: Context) -> None:
    if ctx.value == "change":
        ctx.goto("change")
        return
    if ctx.value != "yes":
        ctx.say(ctx._("Okay. Nothing is signed up."))
        ctx.finish()
        return
    data = ctx.data
    result = await streets.sign_up_street(
        ctx.session,
        actor=ctx.person,
        name=data["name"],
        section=data.get("section"),
        area_id=data["area_id"],
        households=data["households"],
        liefleed=bool(data.get("liefleed")),
        now=ctx.now,
    )
    street = result.street
    label = street_label(street)
    if result.created:
        if result.reopened:
            ctx.say(ctx._("Thank you! {street} is signed up again.", street=label))
        else:
            ctx.say(ctx._("Thank you! We got the sign-up of {street}.", street=label))
        ctx.say(
            ctx._("A project leader will check it soon.")
            + "\n"
            + ctx._(
                "Do neighbours want to help as gangmaker? Give them this code: {code}",
                code=street.invite_code,
            )
        )
        ctx.finish()
        return
    if result.already_member:
        ctx.say(ctx._("You are already a gangmaker of {street}.", street=label))
        ctx.finish()
        return
    ctx.data = {"street_id": street.id}
    ctx.goto("join")


@signup.prompt("join")
async def ask_join(ctx: Context) -> None:
    street = await ctx.session.get(Street, ctx.data["street_id"])
    assert street is not None
    ctx.yes_no(
        ctx._("{street} is already signed up by a neighbour.", street=street_label(street))
        + "\n"
        + ctx._("Do you want to join as gangmaker? Then you do it together."),
        yes=ctx.pgettext("button", "Yes, join"),
        no=ctx.pgettext("button", "No, thanks"),
    )


@signup.step("join", accepts=())
async def join(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.say(ctx._("Okay. Nothing has changed."))
        ctx.finish()
        return
    street = await ctx.session.get(Street, ctx.data["street_id"])
    assert street is not None
    street = await streets.join_street(
        ctx.session, actor=ctx.person, invite_code=street.invite_code, now=ctx.now
    )
    _welcome(ctx, street)
    ctx.finish()


@signup.prompt("change")
async def ask_change(ctx: Context) -> None:
    options = [
        Option(ctx.pgettext("row", "Street name"), "name"),
        Option(ctx.pgettext("row", "House numbers"), "section"),
    ]
    if len(await streets.areas_of(ctx.session, ctx.organisation.id)) > 1:
        options.append(Option(ctx.pgettext("row", "Area"), "area"))
    options += [
        Option(ctx.pgettext("row", "Households"), "households"),
        Option(ctx.pgettext("row", "Lief & Leed"), "liefleed"),
        Option(ctx.pgettext("row", "Nothing, go on"), "confirm"),
    ]
    ctx.ask(ctx._("What do you want to change?"), options)


@signup.step("change", accepts=())
async def change(ctx: Context) -> None:
    ctx.goto(ctx.value or "confirm")


# ==========================================================================================
# streets: my streets, share the code, join with a code
# ==========================================================================================

dialog = Dialog("streets")


def _welcome(ctx: Context, street: Street) -> None:
    text = ctx._("Welcome! You are now a gangmaker of {street}.", street=street_label(street))
    if street.status == StreetStatus.PENDING:
        text += "\n" + ctx._("A project leader still has to check this street.")
    ctx.say(text)


def _status_line(ctx: Context, street: Street) -> str:
    if street.status == StreetStatus.PENDING:
        return ctx._("Waiting for a project leader to check it.")
    if street.status == StreetStatus.ACTIVE:
        return ctx._("Active.")
    if street.status == StreetStatus.INACTIVE:
        return ctx._("Stopped. Sign it up again to start again.")
    if street.review_reason:
        return ctx._("Not approved. Reason: {reason}", reason=street.review_reason)
    return ctx._("Not approved.")


def _joinable(street: Street) -> bool:
    return street.status in streets.JOINABLE_STATUSES


def _more_options(ctx: Context) -> list[Option]:
    return [
        Option(ctx.pgettext("row", "Join with a code"), "join"),
        Option(ctx.pgettext("row", "Sign up a street"), "signup"),
        Option(ctx.pgettext("row", "Back to the menu"), "back"),
    ]


# The list "list" just read, handed to the "street" prompt it jumps to in the same turn (no
# write in between), so one turn reads the person's streets once.
_JUST_READ: weakref.WeakKeyDictionary[Context, list[Street]] = weakref.WeakKeyDictionary()


@dialog.prompt("list")
async def show_list(ctx: Context) -> None:
    mine = await streets.my_streets(ctx.session, ctx.person)
    if not mine:
        ctx.ask(
            ctx._("You do not have a street yet.")
            + "\n"
            + ctx._("Sign up your street. Or join a street with a code from a neighbour."),
            _more_options(ctx),
        )
        return
    if len(mine) == 1:
        ctx.data["street_id"] = mine[0].id
        _JUST_READ[ctx] = mine
        ctx.goto("street")
        return
    lines = [ctx._("Your streets:")]
    lines += [f"• {street_label(s)}: {_status_line(ctx, s)}" for s in mine]
    lines += ["", ctx._("Choose a street to see more or to share its code.")]
    shown = mine[: MAX_LIST - 3]
    ctx.ask(
        "\n".join(lines),
        [Option(_fit(street_label(s)), f"street:{s.id}") for s in shown] + _more_options(ctx),
    )


@dialog.step("list", accepts=())
async def choose_from_list(ctx: Context) -> None:
    value = ctx.value or ""
    if value.startswith("street:"):
        ctx.data["street_id"] = int(value.removeprefix("street:"))
        ctx.goto("street")
    else:
        _more(ctx, value)


def _more(ctx: Context, value: str) -> None:
    if value == "join":
        ctx.goto("code")
    elif value == "signup":
        ctx.start("signup")
    elif value == "list":
        ctx.goto("list")
    else:
        ctx.finish()


async def _my_street(ctx: Context, mine: list[Street] | None = None) -> Street | None:
    wanted = ctx.data.get("street_id")
    if mine is None:
        mine = await streets.my_streets(ctx.session, ctx.person)
    return next((s for s in mine if s.id == wanted), None)


@dialog.prompt("street")
async def show_street(ctx: Context) -> None:
    mine = _JUST_READ.pop(ctx, None) or await streets.my_streets(ctx.session, ctx.person)
    street = await _my_street(ctx, mine)
    if street is None:  # no longer a gangmaker of it
        ctx.goto("list")
        return
    several = len(mine) > 1
    options = []
    if _joinable(street):
        options.append(Option(ctx.pgettext("row", "Share the code"), "share"))
    if several:
        options.append(Option(ctx.pgettext("row", "Other streets"), "list"))
    options += _more_options(ctx)
    if ctx.data.pop("brief", False):
        ctx.ask(ctx._("What else do you want to do?"), options)
        return
    lines = [
        street_label(street),
        ctx._("Status: {status}", status=_status_line(ctx, street)),
        ctx._("Area: {area}", area=street.area.name),
    ]
    if street.households:
        lines.append(ctx._("Households: about {count}", count=street.households))
    lines.append(ctx._("Lief & Leed: yes") if street.theme_liefleed else ctx._("Lief & Leed: no"))
    count = await streets.count_gangmakers(ctx.session, street.id)
    lines.append(ctx.ngettext("{n} gangmaker", "{n} gangmakers", count))
    if _joinable(street):
        lines.append(ctx._("Invite code for neighbours: {code}", code=street.invite_code))
    ctx.ask("\n".join(lines), options)


@dialog.step("street", accepts=())
async def choose_for_street(ctx: Context) -> None:
    if ctx.value != "share":
        _more(ctx, ctx.value or "")
        return
    street = await _my_street(ctx)
    if street is None or not _joinable(street):
        ctx.goto("list")
        return
    ctx.say(ctx._("Forward the next message to neighbours who want to help:"))
    ctx.say(
        ctx._(
            "Join our street {street} on the gangmaker chat! Choose '{signup}', then "
            "'{have_code}', and type the code {code}.",
            street=street_label(street),
            signup=ctx.pgettext("row", "Sign up a street"),
            have_code=ctx.pgettext("button", "I have a code"),
            code=street.invite_code,
        )
    )
    ctx.data["brief"] = True
    ctx.goto("street")


@dialog.prompt("code")
async def ask_code(ctx: Context) -> None:
    ctx.ask(
        ctx._("Type the code of the street. A gangmaker of that street can give it to you."),
        [Option(ctx.pgettext("button", "Back"), "back")],
        free_text=True,
    )


@dialog.step(
    "code",
    help=lazy._("The code has 6 letters and numbers, like K7MX3P. Capitals and spaces are fine."),
)
async def code(ctx: Context) -> None:
    if ctx.value == "back":
        ctx.goto("list")
        return
    typed = codes.normalise_code(ctx.text or "")
    # "code: K7MX3P" -> "K7MX3P" (a real code has no O, so it never starts with "CODE").
    typed = typed.removeprefix("CODE") if len(typed) > 4 else typed
    street = await streets.join_street(
        ctx.session, actor=ctx.person, invite_code=typed, now=ctx.now
    )
    _welcome(ctx, street)
    ctx.finish()
