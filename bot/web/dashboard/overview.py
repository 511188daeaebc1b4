"""The start page and a round in numbers, with charts drawn server-side by pygal (SVG).

The figures are :mod:`bot.services.overview`'s; a leader sees only their own areas, a theme
lead only the streets with their theme (in every area).
"""

from __future__ import annotations

import re
from typing import Any

import pygal
from aiohttp import web
from pygal.style import Style

from bot.errors import NotFound
from bot.i18n import Translator
from bot.models import RequestStatus
from bot.services import budget, overview, rounds
from bot.services.liefleed import current_year
from bot.web.dashboard.core import LEADER, Ctx, not_found, page, status_word
from bot.web.dashboard.review import rounds_of_org

routes = web.RouteTableDef()

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="system-ui, sans-serif",
    colors=("#1f6f8b", "#e07a1f", "#3c9d5d", "#b33a3a", "#7a5ea8", "#888888", "#2b2b2b"),
    title_font_size=20,
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=16,
    value_font_size=15,
)
# pygal's default pulls its tooltip script from a CDN: no scripts, everything is local.
CHART = {
    "js": [],
    "disable_xml_declaration": True,
    "style": STYLE,
    "width": 600,
    "height": 400,
    "legend_at_bottom": True,
    "print_values": False,
}


def _svg(chart: Any) -> str:
    # pygal adds a small inline config script even without its JS; the page runs no inline
    # scripts (Content-Security-Policy), so leave it out.
    return _SCRIPT.sub("", chart.render(is_unicode=True))


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _euros(cents: int) -> float:
    return round(cents / 100, 2)


def status_chart(t: Translator, ov: overview.RoundOverview) -> str:
    chart = pygal.Bar(title=t._("Requests by status"), show_legend=False, **CHART)
    statuses = [s for s in RequestStatus if ov.by_status[s].count]
    chart.x_labels = [status_word(t, s) for s in statuses] or [t._("none")]
    chart.add(t._("Requests"), [ov.by_status[s].count for s in statuses] or [0])
    return _svg(chart)


def area_chart(t: Translator, ov: overview.RoundOverview) -> str:
    chart = pygal.HorizontalBar(title=t._("Asked and awarded per area (€)"), **CHART)
    chart.x_labels = [a.area_name for a in ov.by_area]
    chart.add(t._("Asked"), [_euros(a.total.asked_cents) for a in ov.by_area])
    chart.add(t._("Awarded"), [_euros(a.total.awarded_cents) for a in ov.by_area])
    chart.add(t._("Paid out"), [_euros(a.total.paid_cents) for a in ov.by_area])
    return _svg(chart)


def liefleed_chart(t: Translator, spending: overview.LiefLeedSpending) -> str:
    chart = pygal.StackedBar(
        title=t._("Lief & Leed {year}: spent and left per area (€)", year=spending.year), **CHART
    )
    chart.x_labels = [a.area_name for a in spending.by_area]
    chart.add(t._("Spent"), [_euros(a.spent_cents) for a in spending.by_area])
    chart.add(t._("Left"), [_euros(max(a.left_cents, 0)) for a in spending.by_area])
    return _svg(chart)


@routes.get("/", name="home")
@page()
async def home(ctx: Ctx) -> web.StreamResponse:
    to_review = 0
    open_now = []
    if ctx.is_leader:
        # Counted up to a limit: "1000+" says enough on a start page.
        to_review = len(await budget.review_queue(ctx.session, actor=ctx.person, limit=1001))
        open_now = await rounds.open_rounds(ctx.session, ctx.org.id, ctx.now)
    return ctx.render(
        "dashboard/home.html",
        title=ctx.t._("Dashboard"),
        to_review=to_review,
        open_rounds=open_now,
        all_rounds=await rounds_of_org(ctx) if ctx.is_leader else [],
    )


@routes.get("/overview/{round_id:\\d+}", name="overview")
@page(LEADER)
async def round_page(ctx: Ctx) -> web.StreamResponse:
    round_id = int(ctx.request.match_info["round_id"])
    try:
        round_ = await rounds.get_round(ctx.session, actor=ctx.person, round_id=round_id)
        ov = await overview.round_overview(ctx.session, round_id=round_.id, scope=ctx.scope)
    except NotFound:
        return not_found(ctx)
    spending = await overview.liefleed_spending(
        ctx.session,
        organisation_id=ctx.org.id,
        year=round_.year if round_.year else current_year(ctx.org, ctx.now),
        scope=ctx.scope,
    )
    return ctx.render(
        "dashboard/overview.html",
        title=round_.name(ctx.t.language),
        round=round_,
        ov=ov,
        spending=spending,
        statuses=list(RequestStatus),
        charts=[status_chart(ctx.t, ov), area_chart(ctx.t, ov), liefleed_chart(ctx.t, spending)],
    )
