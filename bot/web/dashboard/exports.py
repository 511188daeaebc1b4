"""Exports for the finance department (CSV and XLSX) and the audit log, filterable.

A leader's export holds only the streets they oversee (their areas, a theme lead's theme).
Every export is written to the audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from openpyxl import Workbook
from sqlalchemy import func, or_, select

from bot.models import (
    Area,
    Attention,
    AuditEntry,
    BudgetRequest,
    LiefLeedPot,
    PayoutPoint,
    Round,
    Street,
)
from bot.services import audit, streets
from bot.services.liefleed import current_year
from bot.web.dashboard.core import LEADER, Ctx, forbidden, int_or_none, page
from bot.web.dashboard.review import rounds_of_org, visible_areas

routes = web.RouteTableDef()
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
Table = tuple[list[str], list[list[Any]]]


def _euros(cents: int | None) -> float | None:
    return None if cents is None else round(cents / 100, 2)


def _local(ctx: Ctx, value: dt.datetime | None) -> str:
    return value.astimezone(ctx.t.tz).strftime("%Y-%m-%d %H:%M") if value else ""


def _streets_query(ctx: Ctx) -> Any:
    return select(Street.id).where(Street.organisation_id == ctx.org.id, ctx.scope.streets())


async def requests_table(ctx: Ctx, round_id: int) -> Table:
    points = {p.id: p.name for p in await ctx.session.scalars(select(PayoutPoint))}
    # Plain columns, not ORM objects: thousands of rows for the finance department.
    r = BudgetRequest
    rows = await ctx.session.execute(
        select(
            r.reference, Area.name, Street.name, Street.section, r.activity, r.activity_date,
            r.expected_participants, r.amount_cents, r.status, r.awarded_cents,
            r.decision_reason, r.decided_at, r.paid_at, r.paid_at_point_id, r.reported_at,
        )
        .join(Street, Street.id == r.street_id)
        .join(Area, Area.id == Street.area_id)
        .where(r.round_id == round_id, r.street_id.in_(_streets_query(ctx)))
        .order_by(r.created_at, r.id)
    )  # fmt: skip
    header = [
        "reference", "area", "street", "section", "activity", "activity_date", "participants",
        "asked_eur", "status", "awarded_eur", "reason", "decided_at", "paid_eur", "paid_at",
        "payout_point", "reported_at",
    ]  # fmt: skip
    body = [
        [
            ref, area, street, section or "", activity, day.isoformat(), participants,
            _euros(asked), status.value, _euros(awarded), reason or "", _local(ctx, decided_at),
            _euros(awarded) if paid_at else None, _local(ctx, paid_at),
            points.get(point_id or 0, ""), _local(ctx, reported_at),
        ]
        for (ref, area, street, section, activity, day, participants, asked, status, awarded,
             reason, decided_at, paid_at, point_id, reported_at) in rows
    ]  # fmt: skip
    return header, body


async def liefleed_table(ctx: Ctx, year: int) -> Table:
    spent = (
        select(
            LiefLeedPot.street_id,
            LiefLeedPot.amount_cents,
            func.count(Attention.id).label("attentions"),
            func.coalesce(func.sum(Attention.cost_cents), 0).label("spent"),
        )
        .join(Attention, Attention.pot_id == LiefLeedPot.id, isouter=True)
        .where(LiefLeedPot.year == year, LiefLeedPot.street_id.in_(_streets_query(ctx)))
        .group_by(LiefLeedPot.street_id, LiefLeedPot.amount_cents)
        .subquery()
    )
    rows = await ctx.session.execute(
        select(Street.name, Street.section, Area.name, spent.c.amount_cents, spent.c.attentions,
               spent.c.spent)
        .join(spent, spent.c.street_id == Street.id)
        .join(Area, Area.id == Street.area_id)
        .order_by(Area.name, Street.name)
    )  # fmt: skip
    header = ["year", "area", "street", "section", "pot_eur", "attentions", "spent_eur", "left_eur"]
    body = [
        [year, area, name, section or "", _euros(pot), count, _euros(used), _euros(pot - used)]
        for name, section, area, pot, count, used in rows
    ]
    return header, body


async def streets_table(ctx: Ctx) -> Table:
    rows = await ctx.session.scalars(
        select(Street).where(Street.id.in_(_streets_query(ctx))).order_by(Street.name)
    )
    header = ["id", "area", "street", "section", "status", "households", "liefleed", "green",
              "clean", "signed_up", "reviewed_at"]  # fmt: skip
    body = [
        [s.id, s.area.name, s.name, s.section or "", s.status.value, s.households,
         s.theme_liefleed, s.theme_green, s.theme_clean, _local(ctx, s.created_at),
         _local(ctx, s.reviewed_at)]
        for s in rows
    ]  # fmt: skip
    return header, body


def to_csv(header: Sequence[str], body: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    # Semicolons and a BOM: Dutch Excel opens it with the columns right.
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    for row in body:
        writer.writerow(["" if v is None else _safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe_cell(value: Any) -> Any:
    # No formulas from typed text (CSV injection): a leading = + - @ is quoted.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_xlsx(title: str, header: Sequence[str], body: Sequence[Sequence[Any]]) -> bytes:
    book = Workbook(write_only=True)  # streams rows: much faster and leaner for big sheets
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    sheet.append(list(header))
    for row in body:
        sheet.append([_safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@routes.get("/exports", name="exports")
@page(LEADER)
async def exports_page(ctx: Ctx) -> web.StreamResponse:
    return ctx.render(
        "dashboard/exports.html",
        title=ctx.t._("Exports"),
        rounds=await rounds_of_org(ctx),
        year=current_year(ctx.org, ctx.now),
    )


@routes.get("/exports/{what:requests|liefleed|streets}.{fmt:csv|xlsx}", name="export")
@page(LEADER)
async def export(ctx: Ctx) -> web.StreamResponse:
    what, fmt = ctx.request.match_info["what"], ctx.request.match_info["fmt"]
    query = ctx.request.query
    if what == "requests":
        round_id = int_or_none(query.get("round"))
        round_ = await ctx.session.get(Round, round_id) if round_id else None
        if round_ is None or round_.organisation_id != ctx.org.id:
            return forbidden(ctx) if round_ else web.Response(status=404, text="no such round")
        header, body = await requests_table(ctx, round_.id)
        name = f"requests-round-{round_.id}"
    elif what == "liefleed":
        year = int_or_none(query.get("year")) or current_year(ctx.org, ctx.now)
        header, body = await liefleed_table(ctx, year)
        name = f"liefleed-{year}"
    else:
        header, body = await streets_table(ctx)
        name = "streets"
    await audit.record(
        ctx.session,
        actor=ctx.person,
        action="export",
        object_type=what,
        object_id=None,
        format=fmt,
        rows=len(body),
        query=dict(query),
    )
    data = to_csv(header, body) if fmt == "csv" else to_xlsx(name, header, body)
    return web.Response(
        body=data,
        headers={
            "Content-Type": FORMATS[fmt],
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
        },
    )


@routes.get("/audit", name="audit")
@page(LEADER)
async def audit_page(ctx: Ctx) -> web.StreamResponse:
    query = ctx.request.query
    action = query.get("action", "").strip()[:48]
    object_type = query.get("object_type", "").strip()[:32]
    area_id = int_or_none(query.get("area"))
    areas = await visible_areas(ctx)
    if area_id is not None and area_id not in {a.id for a in areas}:
        return forbidden(ctx)
    stmt = select(AuditEntry).where(AuditEntry.organisation_id == ctx.org.id)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if area_id is not None:
        stmt = stmt.where(AuditEntry.area_id == area_id)
    if not ctx.is_admin:
        stmt = stmt.where(_visible_entries(ctx))
    entries = list(await ctx.session.scalars(stmt.order_by(AuditEntry.at.desc()).limit(300)))
    actions = list(
        await ctx.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.organisation_id == ctx.org.id)
            .distinct()
            .order_by(AuditEntry.action)
        )
    )
    return ctx.render(
        "dashboard/audit.html",
        title=ctx.t._("Audit log"),
        entries=entries,
        actions=actions,
        selected={"action": action, "object_type": object_type, "area": area_id},
        areas=areas,
        area_names={a.id: a.name for a in await streets.areas_of(ctx.session, ctx.org.id)},
    )


def _visible_entries(ctx: Ctx) -> Any:
    """What a leader reads: every entry of the areas they lead, of the streets with a theme
    they lead (a theme lead), and their own actions. Entries of other areas stay hidden: they
    name what happened to other streets."""
    scope = ctx.scope
    ways = [AuditEntry.actor_person_id == ctx.person.id]
    if scope.area_ids:
        ways.append(AuditEntry.area_id.in_(sorted(scope.area_ids)))
    if scope.themes:
        ways.append(AuditEntry.street_id.in_(select(Street.id).where(scope.streets())))
    return or_(*ways)
