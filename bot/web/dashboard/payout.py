"""Payout points redeem a code on the web: :func:`bot.services.budget.lookup_payout` and
:func:`bot.services.budget.redeem_payout` (exactly once, audited)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.errors import DomainError
from bot.models import BudgetRequest, PayoutPoint
from bot.services import budget, permissions
from bot.services.codes import normalise_code
from bot.web.dashboard.core import PAYOUT, Ctx, flash, int_or_none, page, url

routes = web.RouteTableDef()


async def _points(ctx: Ctx) -> list[PayoutPoint]:
    query = select(PayoutPoint).where(PayoutPoint.organisation_id == ctx.org.id)
    if not ctx.is_admin:
        query = query.where(PayoutPoint.id.in_(sorted(permissions.payout_point_ids(ctx.person))))
    return list(await ctx.session.scalars(query.order_by(PayoutPoint.name)))


@routes.get("/payout", name="payout")
@page(PAYOUT)
async def payout_page(ctx: Ctx) -> web.StreamResponse:
    code = normalise_code(ctx.request.query.get("code", ""))[:20]
    found: BudgetRequest | None = None
    error = None
    if code:
        try:
            found = await budget.lookup_payout(ctx.session, actor=ctx.person, code=code)
        except DomainError as refused:
            error = ctx.error(refused)
    return ctx.render(
        "dashboard/payout.html",
        title=ctx.t._("Pay out"),
        code=code,
        found=found,
        error=error,
        points=await _points(ctx),
    )


@routes.post("/payout", name="payout_redeem")
@page(PAYOUT)
async def redeem(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.request.post()
    code = normalise_code(str(form.get("code") or ""))[:20]
    try:
        async with ctx.session.begin_nested():
            request = await budget.redeem_payout(
                ctx.session,
                actor=ctx.person,
                code=code,
                payout_point_id=int_or_none(form.get("point")),
                now=ctx.now,
            )
    except DomainError as error:
        await flash(ctx.request, "error", ctx.error(error))
        raise web.HTTPSeeOther(url(ctx, "payout", query={"code": code})) from None
    await flash(
        ctx.request,
        "ok",
        ctx.t._(
            "Paid out: {amount} for {reference}.",
            amount=ctx.t.money(request.awarded_cents or 0),
            reference=request.reference,
        ),
    )
    raise web.HTTPSeeOther(url(ctx, "payout"))
