"""Streets: pending sign-ups to approve or reject, search, and a street's details.

Approving and rejecting is :func:`bot.services.streets.review_street`; the gangmakers are told
with the chat's own message (:func:`bot.i18n.decisions.street_text`) through the outbox.
"""

from __future__ import annotations

from functools import partial

from aiohttp import web
from sqlalchemy import or_, select

from bot.errors import DomainError
from bot.i18n.decisions import STREET_REASONS, reason_text, street_text
from bot.models import AuditEntry, BudgetRequest, Street
from bot.services import permissions, streets
from bot.web.dashboard.core import (
    LEADER,
    Ctx,
    flash,
    forbidden,
    not_found,
    page,
    status_word,
    tell_gangmakers,
    url,
)
from bot.web.dashboard.review import visible_areas

routes = web.RouteTableDef()


@routes.get("/streets", name="streets")
@page(LEADER)
async def street_list(ctx: Ctx) -> web.StreamResponse:
    term = " ".join(ctx.request.query.get("q", "").split())[:100]
    pending = await streets.pending_streets(ctx.session, actor=ctx.person)
    found: list[Street] = []
    if term:
        key = streets.normalise_street_name(term) or term.lower()
        query = select(Street).where(
            ctx.scope.streets(),
            or_(Street.name_key.contains(key), Street.invite_code == term.upper()),
        )
        found = list(await ctx.session.scalars(query.order_by(Street.name).limit(200)))
    return ctx.render(
        "dashboard/streets.html",
        title=ctx.t._("Streets"),
        pending=pending,
        found=found,
        term=term,
        reasons=[(key, ctx.t.tr(row)) for key, (row, _s) in STREET_REASONS.items()],
        areas=await visible_areas(ctx),
    )


async def _visible_street(ctx: Ctx, street_id: int) -> Street | web.Response:
    street = await ctx.session.get(Street, street_id)
    if street is None or street.organisation_id != ctx.org.id:
        return not_found(ctx)
    if not permissions.can_lead_street(ctx.person, street):
        return forbidden(ctx)
    return street


@routes.get("/streets/{street_id:\\d+}", name="street")
@page(LEADER)
async def street_detail(ctx: Ctx) -> web.StreamResponse:
    street = await _visible_street(ctx, int(ctx.request.match_info["street_id"]))
    if isinstance(street, web.Response):
        return street
    requests = list(
        await ctx.session.scalars(
            select(BudgetRequest)
            .where(BudgetRequest.street_id == street.id)
            .order_by(BudgetRequest.created_at.desc())
        )
    )
    history = list(
        await ctx.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.organisation_id == ctx.org.id,
                or_(
                    AuditEntry.street_id == street.id,
                    (AuditEntry.object_type == "street") & (AuditEntry.object_id == street.id),
                    (AuditEntry.object_type == "budget_request")
                    & AuditEntry.object_id.in_([r.id for r in requests] or [-1]),
                ),
            )
            .order_by(AuditEntry.at.desc())
            .limit(100)
        )
    )
    return ctx.render(
        "dashboard/street.html",
        title=street.name,
        street=street,
        gangmakers=await streets.gangmakers_of(ctx.session, street.id),
        requests=requests,
        history=history,
        reasons=[(key, ctx.t.tr(row)) for key, (row, _s) in STREET_REASONS.items()],
    )


@routes.post("/streets/{street_id:\\d+}/review", name="street_review")
@page(LEADER)
async def street_review(ctx: Ctx) -> web.StreamResponse:
    street = await _visible_street(ctx, int(ctx.request.match_info["street_id"]))
    if isinstance(street, web.Response):
        return street
    form = await ctx.request.post()
    approve = form.get("decision") == "approve"
    reason_key = str(form.get("reason_key") or "")
    reason = " ".join(str(form.get("reason") or "").split())
    if reason_key in STREET_REASONS and not reason:
        reason = ctx.t.tr(STREET_REASONS[reason_key][1])
    else:
        reason_key = ""
    try:
        async with ctx.session.begin_nested():
            street = await streets.review_street(
                ctx.session,
                actor=ctx.person,
                street_id=street.id,
                approve=approve,
                reason=None if approve else reason,
                now=ctx.now,
            )
    except DomainError as error:
        await flash(ctx.request, "error", ctx.error(error))
        raise web.HTTPSeeOther(url(ctx, "streets")) from None
    text = partial(
        street_text,
        street=street,
        contact=await streets.area_contact(ctx.session, street),
        reason=partial(
            reason_text,
            presets=STREET_REASONS,
            data={"reason_key": reason_key or None, "reason": reason},
        ),
    )
    stamp = int(ctx.now.timestamp())
    told = await tell_gangmakers(
        ctx.session, street, f"street:{street.id}:{street.status}:{stamp}", text, now=ctx.now
    )
    await flash(
        ctx.request,
        "ok",
        ctx.t._("{street}: {status}.", street=street.name, status=status_word(ctx.t, street.status))
        + " "
        + ctx.t.ngettext(
            "The gangmaker gets a message.", "The {n} gangmakers get a message.", told
        ),
    )
    raise web.HTTPSeeOther(url(ctx, "streets"))
