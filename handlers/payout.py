"""Payout points: cash a gangmaker's payout code (dialog ``redeem``).

The person at the desk types the code from the gangmaker's message (spaces, dashes and lower
case are fine), sees the street, the amount and whether it was paid already, and confirms; the
code can be cashed once (``bot.services.budget.redeem_payout``). Someone who works at several
payout points first says at which one.
"""

from __future__ import annotations

from bot.conversation import Context, Dialog, Option
from bot.i18n import lazy
from bot.i18n.error_texts import status_word
from bot.models import BudgetRequest, PayoutPoint
from bot.services import budget, permissions
from handlers.leader import shorten, street_label

dialog = Dialog("redeem", entry="point")


async def _my_points(ctx: Context) -> list[PayoutPoint]:
    ids = permissions.require_payout_point(ctx.person)
    points = [await ctx.session.get(PayoutPoint, point_id) for point_id in sorted(ids)]
    return sorted(
        (p for p in points if p is not None and p.organisation_id == ctx.organisation.id),
        key=lambda p: (p.name, p.id),
    )


@dialog.prompt("point")
async def ask_point(ctx: Context) -> None:
    points = await _my_points(ctx)  # NotAllowed for anyone but a payout point or an admin
    if len(points) <= 1:
        # One point, or an admin without one: nothing to choose.
        ctx.data["point_id"] = points[0].id if points else None
        ctx.goto("code")
        return
    ctx.ask(
        ctx._("At which payout point are you?"),
        [Option(shorten(p.name), f"p{p.id}") for p in points[:10]],
    )


@dialog.step("point", accepts=())
async def choose_point(ctx: Context) -> None:
    ctx.data["point_id"] = int((ctx.value or "p0")[1:])
    ctx.data["several"] = True
    ctx.goto("code")


@dialog.prompt("code")
async def ask_code(ctx: Context) -> None:
    lines = []
    if ctx.data.get("several") and ctx.data.get("point_id"):
        point = await ctx.session.get(PayoutPoint, ctx.data["point_id"])
        if point is not None:
            lines.append(ctx._("Payout point: {name}", name=point.name))
    lines.append(ctx._("Type the payout code. The gangmaker has it in a message."))
    ctx.ask(
        "\n".join(lines),
        [Option(ctx.pgettext("button", "Back to the menu"), "menu")],
        free_text=True,
    )


@dialog.step(
    "code", help=lazy._("Type the code of 8 letters and numbers, like K7M2QX8A. Spaces are fine.")
)
async def take_code(ctx: Context) -> None:
    if ctx.value == "menu":
        ctx.finish()
        return
    # payout.code_unknown for a code we do not know: the runtime says so, we stay here.
    request = await budget.lookup_payout(ctx.session, actor=ctx.person, code=ctx.text or "")
    ctx.data["code"] = request.payout_code
    ctx.goto("check")


def _summary(ctx: Context, request: BudgetRequest) -> list[str]:
    street = request.street
    return [
        ctx._("Code: {code}", code=request.payout_code),
        ctx._("Street: {street} ({area})", street=street_label(street), area=street.area.name),
        ctx._("Amount: {amount}", amount=ctx.money(request.awarded_cents or 0)),
        ctx._("Status: {status}", status=status_word(ctx.t, request.status)),
    ]


@dialog.prompt("check")
async def show_code(ctx: Context) -> None:
    request = await budget.lookup_payout(ctx.session, actor=ctx.person, code=ctx.data["code"])
    lines = _summary(ctx, request)
    if request.paid_at is not None:
        lines += [
            "",
            ctx._("Already paid on {date}. Do not pay again.", date=ctx.date(request.paid_at)),
        ]
        ctx.ask(
            "\n".join(lines),
            [
                Option(ctx.pgettext("button", "Another code"), "other"),
                Option(ctx.pgettext("button", "Back to the menu"), "menu"),
            ],
        )
        return
    lines += [
        "",
        ctx._("Give {amount} to the gangmaker?", amount=ctx.money(request.awarded_cents or 0)),
    ]
    ctx.ask(
        "\n".join(lines),
        [
            Option(ctx.pgettext("button", "Yes, paid out"), "yes"),
            Option(ctx.pgettext("button", "Another code"), "other"),
            Option(ctx.pgettext("button", "Back to the menu"), "menu"),
        ],
    )


@dialog.step("check", accepts=())
async def pay(ctx: Context) -> None:
    if ctx.value == "menu":
        ctx.finish()
        return
    if ctx.value != "yes":
        ctx.goto("code")
        return
    # Cashed elsewhere a moment ago: payout.already_redeemed, said by the runtime.
    request = await budget.redeem_payout(
        ctx.session,
        actor=ctx.person,
        code=ctx.data["code"],
        payout_point_id=ctx.data.get("point_id"),
        now=ctx.now,
    )
    ctx.say(
        ctx._(
            "Paid. Give {amount} to the gangmaker.",
            amount=ctx.money(request.awarded_cents or 0),
        )
    )
    ctx.goto("code")
