"""The review queue: filter requests, approve, partly approve or reject them.

The rules are :func:`bot.services.budget.review_request`'s; the gangmakers are told with the
chat's own message (:func:`bot.i18n.decisions.decision_text`) through the outbox, each in their
own language, exactly as when a leader decides in the chat.
"""

from __future__ import annotations

from functools import partial

from aiohttp import web
from sqlalchemy import select

from bot.errors import DomainError
from bot.i18n.decisions import BUDGET_REASONS, decision_text, reason_text, street_label
from bot.models import Area, RequestStatus, Round
from bot.services import budget, streets
from bot.services.payout_points import payout_points_for_street
from bot.web.dashboard.core import (
    LEADER,
    Ctx,
    flash,
    forbidden,
    int_or_none,
    page,
    parse_euros,
    status_word,
    tell_gangmakers,
    url,
)

routes = web.RouteTableDef()
STATUSES = [s.value for s in RequestStatus]
PAGE = 100


async def visible_areas(ctx: Ctx) -> list[Area]:
    areas = await streets.areas_of(ctx.session, ctx.org.id)
    allowed = ctx.area_ids
    return [a for a in areas if allowed is None or a.id in allowed]


async def rounds_of_org(ctx: Ctx) -> list[Round]:
    return list(
        await ctx.session.scalars(
            select(Round)
            .where(Round.organisation_id == ctx.org.id)
            .order_by(Round.opens_at.desc(), Round.id.desc())
        )
    )


@routes.get("/review", name="review")
@page(LEADER)
async def queue(ctx: Ctx) -> web.StreamResponse:
    query = ctx.request.query
    round_id = int_or_none(query.get("round"))
    area_id = int_or_none(query.get("area"))
    status = query.get("status") or "submitted"
    if status not in (*STATUSES, "all"):
        status = "submitted"
    areas = await visible_areas(ctx)
    if area_id is not None and area_id not in {a.id for a in areas}:
        return forbidden(ctx)
    page_number = max(int_or_none(query.get("page")) or 1, 1)
    offset = (page_number - 1) * PAGE
    # One row more than a page: tells whether there is a next page without counting them all.
    requests = await budget.review_queue(
        ctx.session,
        actor=ctx.person,
        round_id=round_id,
        area_id=area_id,
        status=status,  # type: ignore[arg-type]
        limit=PAGE + 1,
        offset=offset,
    )
    filters = {"round": round_id, "area": area_id, "status": status}
    return ctx.render(
        "dashboard/review.html",
        title=ctx.t._("Review queue"),
        requests=requests[:PAGE],
        offset=offset,
        next_url=url(ctx, "review", filters | {"page": page_number + 1})
        if len(requests) > PAGE
        else None,
        previous_url=url(ctx, "review", filters | {"page": page_number - 1})
        if page_number > 1
        else None,
        rounds=await rounds_of_org(ctx),
        areas=areas,
        statuses=STATUSES,
        selected={"round": round_id, "area": area_id, "status": status},
        reasons=[(key, ctx.t.tr(row)) for key, (row, _s) in BUDGET_REASONS.items()],
    )


@routes.post("/review/{request_id:\\d+}", name="review_decide")
@page(LEADER)
async def decide(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.request.post()
    request_id = int(ctx.request.match_info["request_id"])
    decision = str(form.get("decision") or "")
    reason_key = str(form.get("reason_key") or "")
    reason = " ".join(str(form.get("reason") or "").split())
    if reason_key in BUDGET_REASONS and not reason:
        reason = ctx.t.tr(BUDGET_REASONS[reason_key][1])
    else:
        reason_key = ""
    awarded = parse_euros(str(form.get("amount") or "")) if decision == "partly" else None
    back = str(form.get("back") or url(ctx, "review"))
    if not back.startswith("/dashboard"):
        back = url(ctx, "review")
    if decision == "partly" and awarded is None:
        await flash(ctx.request, "error", ctx.t._("Give the amount in euros, e.g. 150 or 150,50."))
        raise web.HTTPSeeOther(back)
    try:
        async with ctx.session.begin_nested():
            request = await budget.review_request(
                ctx.session,
                actor=ctx.person,
                request_id=request_id,
                decision=decision,  # type: ignore[arg-type]
                awarded_cents=awarded,
                reason=reason if decision != "approve" else None,
                now=ctx.now,
            )
    except DomainError as error:
        if getattr(error, "key", "") == "perm.not_leader_of_area":
            return forbidden(ctx)
        await flash(ctx.request, "error", ctx.error(error))
        raise web.HTTPSeeOther(back) from None
    street = request.street
    text = partial(
        decision_text,
        request=request,
        street=street_label(street),
        points=await payout_points_for_street(ctx.session, street),
        contact=await streets.area_contact(ctx.session, street),
        reason=partial(
            reason_text,
            presets=BUDGET_REASONS,
            data={"reason_key": reason_key or None, "reason": reason},
        ),
    )
    told = await tell_gangmakers(
        ctx.session, street, f"budget:{request.id}:decided", text, now=ctx.now
    )
    await flash(
        ctx.request,
        "ok",
        ctx.t._(
            "{reference}: {status}.",
            reference=request.reference,
            status=status_word(ctx.t, request.status),
        )
        + " "
        + ctx.t.ngettext(
            "The gangmaker gets a message.", "The {n} gangmakers get a message.", told
        ),
    )
    raise web.HTTPSeeOther(back)
