"""Rounds: list, create and edit (names per language, window, maximum, in-kind offers) and
the round's own scheduled announcements (a text per language, Dutch required). Rules:
:mod:`bot.services.rounds` and :func:`bot.services.announcements.plan_round_announcements`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.config import SHIPPED_LANGUAGES
from bot.errors import DomainError, InvalidInput, NotFound
from bot.i18n import language_name
from bot.models import Announcement, RoundTheme
from bot.services import announcements, rounds
from bot.web.dashboard.core import LEADER, Ctx, flash, not_found, page, parse_euros, url
from bot.web.dashboard.review import rounds_of_org

routes = web.RouteTableDef()
OFFERS = ("cleaning_kit", "flower_bulbs", "work_hut", "plants", "litter_pickers")


def local_input(ctx: Ctx, value: dt.datetime | None) -> str:
    """A UTC time as the value of an <input type=datetime-local> in the organisation's zone."""
    if value is None:
        return ""
    return value.astimezone(ctx.t.tz).strftime("%Y-%m-%dT%H:%M")


def parse_local(ctx: Ctx, text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.t.tz)
    return value.astimezone(dt.UTC)


def _form_values(ctx: Ctx, form: MultiDictProxy[Any]) -> dict[str, Any]:
    names = {code: str(form.get(f"name_{code}") or "") for code in SHIPPED_LANGUAGES}
    offers = [o.strip() for o in str(form.get("offers") or "").split(",") if o.strip()]
    offers += [str(o) for o in form.getall("offer", [])]
    opens = parse_local(ctx, str(form.get("opens_at") or ""))
    closes = parse_local(ctx, str(form.get("closes_at") or ""))
    max_cents = parse_euros(str(form.get("max_amount") or ""))
    if opens is None or closes is None:
        raise InvalidInput("round.window_invalid")
    if max_cents is None:
        raise InvalidInput("round.max_invalid")
    return {
        "names": names,
        "theme": str(form.get("theme") or RoundTheme.GENERAL.value),
        "opens_at": opens,
        "closes_at": closes,
        "max_amount_cents": max_cents,
        "in_kind_offers": list(dict.fromkeys(offers)),
    }


def _page(ctx: Ctx, round_: Any, form: dict[str, Any] | None, status: int = 200) -> web.Response:
    return ctx.render(
        "dashboard/round_form.html",
        status=status,
        title=ctx.t._("Edit round") if round_ else ctx.t._("New round"),
        round=round_,
        form=form or {},
        languages=[(code, language_name(code)) for code in SHIPPED_LANGUAGES],
        themes=[t.value for t in RoundTheme],
        offers=OFFERS,
        plans=[
            ("opening", ctx.t._("Message when the round opens")),
            ("closing", ctx.t._("Message a week before it closes")),
        ],
    )


def _round_form(ctx: Ctx, round_: Any) -> dict[str, Any]:
    return {
        **{f"name_{code}": text for code, text in round_.names.items()},
        "theme": round_.theme.value,
        "opens_at": local_input(ctx, round_.opens_at),
        "closes_at": local_input(ctx, round_.closes_at),
        "max_amount": f"{round_.max_amount_cents / 100:.2f}".replace(".", ","),
        "offers": ", ".join(o for o in round_.in_kind_offers if o not in OFFERS),
        "offer": list(round_.in_kind_offers),
    }


@routes.get("/rounds", name="rounds")
@page(LEADER)
async def round_list(ctx: Ctx) -> web.StreamResponse:
    return ctx.render(
        "dashboard/rounds.html", title=ctx.t._("Rounds"), rounds=await rounds_of_org(ctx)
    )


@routes.get("/rounds/new", name="round_new")
@page(LEADER)
async def round_new(ctx: Ctx) -> web.StreamResponse:
    return _page(ctx, None, {"theme": "general", "offer": []})


@routes.post("/rounds/new")
@page(LEADER)
async def round_create(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.request.post()
    raw = {k: form.get(k) for k in form} | {"offer": form.getall("offer", [])}
    try:
        async with ctx.session.begin_nested():
            values = _form_values(ctx, form)
            round_ = await rounds.create_round(ctx.session, actor=ctx.person, now=ctx.now, **values)
            await _plan(ctx, round_, form)
    except DomainError as error:
        ctx.flashes.append(("error", ctx.error(error)))
        return _page(ctx, None, raw, status=400)
    await flash(ctx.request, "ok", ctx.t._("The round is saved."))
    raise web.HTTPSeeOther(url(ctx, "rounds"))


def plan_texts(form: MultiDictProxy[Any], group: str) -> dict[str, str] | None:
    """The texts of one planned message per language (``opening_nl``, ``closing_tr``, ...);
    None when none was written. Dutch is required once any is (the service says so)."""
    texts = {code: str(form.get(f"{group}_{code}") or "").strip() for code in SHIPPED_LANGUAGES}
    return {code: text for code, text in texts.items() if text} or None


async def _plan(ctx: Ctx, round_: Any, form: MultiDictProxy[Any]) -> list[Announcement]:
    opening = plan_texts(form, "opening")
    closing = plan_texts(form, "closing")
    if not opening and not closing:
        return []
    return await announcements.plan_round_announcements(
        ctx.session,
        round_=round_,
        actor=ctx.person,
        opening_texts=opening,
        closing_texts=closing,
        now=ctx.now,
    )


@routes.get("/rounds/{round_id:\\d+}", name="round_edit")
@page(LEADER)
async def round_edit(ctx: Ctx) -> web.StreamResponse:
    try:
        round_ = await rounds.get_round(
            ctx.session, actor=ctx.person, round_id=int(ctx.request.match_info["round_id"])
        )
    except NotFound:
        return not_found(ctx)
    return _page(ctx, round_, _round_form(ctx, round_))


@routes.post("/rounds/{round_id:\\d+}")
@page(LEADER)
async def round_update(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.request.post()
    raw = {k: form.get(k) for k in form} | {"offer": form.getall("offer", [])}
    try:
        round_ = await rounds.get_round(
            ctx.session, actor=ctx.person, round_id=int(ctx.request.match_info["round_id"])
        )
    except NotFound:
        return not_found(ctx)
    try:
        async with ctx.session.begin_nested():
            values = _form_values(ctx, form)
            round_ = await rounds.update_round(
                ctx.session, actor=ctx.person, round_id=round_.id, now=ctx.now, **values
            )
            await _plan(ctx, round_, form)
    except DomainError as error:
        ctx.flashes.append(("error", ctx.error(error)))
        return _page(ctx, round_, raw, status=400)
    await flash(ctx.request, "ok", ctx.t._("The round is saved."))
    raise web.HTTPSeeOther(url(ctx, "rounds"))
