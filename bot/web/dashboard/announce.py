"""The announcement composer: texts per language, audience with a live count, preview,
schedule, and a live progress bar while the worker delivers.

Only calls :mod:`bot.services.announcements` (create, preview, schedule, cancel, counts).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiMapping
from sqlalchemy import select

from bot.config import SHIPPED_LANGUAGES
from bot.errors import DomainError, NotFound
from bot.i18n import language_name
from bot.models import Announcement, Role, Theme
from bot.services import announcements as ann
from bot.services import streets
from bot.web.dashboard.core import LEADER, Ctx, flash, int_or_none, not_found, page, url
from bot.web.dashboard.rounds import parse_local

routes = web.RouteTableDef()
AUDIENCE_ROLES = (Role.GANGMAKER.value, Role.RESIDENT.value, Role.LEADER.value, Role.PAYOUT.value)


def audience_from(values: MultiMapping[Any]) -> ann.Audience:
    return ann.Audience(
        area_ids=tuple(a for a in (int_or_none(v) for v in values.getall("area", [])) if a),
        themes=tuple(str(v) for v in values.getall("theme", [])),
        roles=tuple(str(v) for v in values.getall("role", [])),
        languages=tuple(str(v) for v in values.getall("language", [])),
    )


async def _choices(ctx: Ctx) -> dict[str, Any]:
    return {
        "languages": [(code, language_name(code)) for code in SHIPPED_LANGUAGES],
        "areas": await streets.areas_of(ctx.session, ctx.org.id),
        "themes": [t.value for t in Theme],
        "roles": AUDIENCE_ROLES,
    }


@routes.get("/announcements", name="announcements")
@page(LEADER)
async def listing(ctx: Ctx) -> web.StreamResponse:
    items = list(
        await ctx.session.scalars(
            select(Announcement)
            .where(Announcement.organisation_id == ctx.org.id)
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
            .limit(100)
        )
    )
    return ctx.render("dashboard/announcements.html", title=ctx.t._("Announcements"), items=items)


@routes.get("/announcements/new", name="announcement_new")
@page(LEADER)
async def compose(ctx: Ctx) -> web.StreamResponse:
    return ctx.render(
        "dashboard/compose.html",
        title=ctx.t._("New announcement"),
        form={},
        selected={"area": [], "theme": [], "role": [], "language": []},
        **await _choices(ctx),
    )


@routes.post("/announcements/new")
@page(LEADER)
async def create(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.request.post()
    texts = {code: str(form.get(f"text_{code}") or "") for code in SHIPPED_LANGUAGES}
    try:
        async with ctx.session.begin_nested():
            item = await ann.create_announcement(
                ctx.session,
                organisation_id=ctx.org.id,
                actor=ctx.person,
                texts=texts,
                audience=audience_from(form),
                now=ctx.now,
            )
    except DomainError as error:
        ctx.flashes.append(("error", ctx.error(error)))
        return ctx.render(
            "dashboard/compose.html",
            status=400,
            title=ctx.t._("New announcement"),
            form={k: form.get(k) for k in form},
            selected={k: form.getall(k, []) for k in ("area", "theme", "role", "language")},
            **await _choices(ctx),
        )
    raise web.HTTPSeeOther(url(ctx, "announcement", announcement_id=item.id))


@routes.get("/announcements/count.json", name="announcement_count")
@page(LEADER)
async def count(ctx: Ctx) -> web.StreamResponse:
    """How many people the audience in the query reaches now (the composer's live count)."""
    try:
        audience = await ann.clean_audience(
            ctx.session, ctx.org.id, audience_from(ctx.request.query)
        )
    except DomainError as error:
        return web.json_response({"error": ctx.error(error)}, status=400)
    counted = await ann.count_audience(ctx.session, ctx.org.id, audience)
    return web.json_response(
        {
            "recipients": counted.recipients,
            "opted_out": counted.opted_out,
            "unreachable": counted.unreachable,
            "no_consent": counted.no_consent,
            "languages": list(counted.languages),
            "label": ctx.t.ngettext(
                "{n} person gets this message.",
                "{n} people get this message.",
                counted.recipients,
            ),
        }
    )


async def _get(ctx: Ctx) -> Announcement | None:
    try:
        return await ann.get_announcement(
            ctx.session,
            organisation_id=ctx.org.id,
            announcement_id=int(ctx.request.match_info["announcement_id"]),
        )
    except NotFound:
        return None


@routes.get("/announcements/{announcement_id:\\d+}", name="announcement")
@page(LEADER)
async def detail(ctx: Ctx) -> web.StreamResponse:
    item = await _get(ctx)
    if item is None:
        return not_found(ctx)
    preview = await ann.preview_announcement(ctx.session, announcement=item)
    counts = await ann.delivery_counts(ctx.session, announcement_id=item.id, now=ctx.now)
    return ctx.render(
        "dashboard/announcement.html",
        title=ctx.t._("Announcement {id}", id=item.id),
        item=item,
        preview=preview,
        counts=counts,
        missing=[
            (code, language_name(code)) for code in SHIPPED_LANGUAGES if code not in item.texts
        ],
        language_name=language_name,
    )


@routes.post("/announcements/{announcement_id:\\d+}/schedule", name="announcement_schedule")
@page(LEADER)
async def schedule(ctx: Ctx) -> web.StreamResponse:
    item = await _get(ctx)
    if item is None:
        return not_found(ctx)
    form = await ctx.request.post()
    when_text = str(form.get("send_at") or "").strip()
    send_at = parse_local(ctx, when_text) if when_text else None
    if when_text and send_at is None:
        await flash(ctx.request, "error", ctx.t._("Give a date and time, e.g. 2026-05-01 09:00."))
        raise web.HTTPSeeOther(url(ctx, "announcement", announcement_id=item.id))
    try:
        async with ctx.session.begin_nested():
            await ann.schedule_announcement(
                ctx.session, announcement=item, actor=ctx.person, send_at=send_at, now=ctx.now
            )
    except DomainError as error:
        await flash(ctx.request, "error", ctx.error(error))
    else:
        await flash(
            ctx.request,
            "ok",
            ctx.t._("Scheduled for {time}.", time=ctx.t.datetime(item.send_at or ctx.now)),
        )
    raise web.HTTPSeeOther(url(ctx, "announcement", announcement_id=item.id))


@routes.post("/announcements/{announcement_id:\\d+}/cancel", name="announcement_cancel")
@page(LEADER)
async def cancel(ctx: Ctx) -> web.StreamResponse:
    item = await _get(ctx)
    if item is None:
        return not_found(ctx)
    try:
        async with ctx.session.begin_nested():
            await ann.cancel_announcement(ctx.session, announcement=item, actor=ctx.person)
    except DomainError as error:
        await flash(ctx.request, "error", ctx.error(error))
    else:
        await flash(ctx.request, "ok", ctx.t._("The announcement is cancelled."))
    raise web.HTTPSeeOther(url(ctx, "announcement", announcement_id=item.id))


@routes.get("/announcements/{announcement_id:\\d+}/progress.json", name="announcement_progress")
@page(LEADER)
async def progress(ctx: Ctx) -> web.StreamResponse:
    item = await _get(ctx)
    if item is None:
        return web.json_response({"error": "not found"}, status=404)
    counts = await ann.delivery_counts(ctx.session, announcement_id=item.id, now=ctx.now)
    expected = int(item.audience_counts.get("recipients", 0)) or counts.total
    return web.json_response(
        {
            "status": item.status.value,
            "total": expected,
            "sent": counts.sent,
            "failed": counts.failed,
            "skipped": counts.skipped,
            "queued": counts.queued,
            "finished": counts.finished,
            "percent": round(100 * counts.finished / expected) if expected else 0,
        }
    )
