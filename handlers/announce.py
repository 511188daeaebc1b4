"""Announcements in chat: a project leader writes one, chooses who gets it and when, checks the
preview and sends it; and follows the delivery of the latest ones (counts, reasons, cancel).

One dialog, ``announce`` (menu entry for leaders and admins, ``handlers/menu.py``):

- ``home``: write a new announcement, or follow the latest ones.
- ``text_nl`` → ``languages`` (⇄ ``text_other``): the Dutch text is required; other languages
  are optional, and the list shows which ones fall back to the Dutch text.
- ``audience`` (⇄ ``aud_areas``, ``aud_themes``, ``aud_roles``, ``aud_languages``): everyone,
  or a combination of areas, street themes (Lief & Leed, green, clean), roles and languages.
- ``when`` (→ ``date`` → ``time``): now, at a day and time, or with a coming round (at its
  opening, or a week before it closes: the announcement is tied to that round).
- ``preview``: per language what people read and how many get it, who is left out, then send.
- ``list`` → ``status`` (→ ``cancel``): live counts (queued, sent, failed, skipped), the
  reasons of failures, and cancel until sending starts.

The rules (texts, audience, times, who may announce, when cancel is too late) are
``bot.services.announcements``'s; this module only talks.
"""

from __future__ import annotations

import datetime as dt

from bot.conversation import MAX_OPTIONS, ROW_MAX_CHARS, Context, Dialog, Option
from bot.delivery.timing import wall_time, zone
from bot.errors import IllegalTransition
from bot.i18n import LANGUAGE_NAMES, lazy
from bot.i18n.error_texts import error_text
from bot.models import Announcement, AnnouncementStatus, Area, Person, Role, Theme
from bot.parsing.dates import check_date_window, parse_date
from bot.services import announcements as ann
from bot.services import permissions
from handlers.settings import parse_clock_time

dialog = Dialog("announce", entry="home")

S = AnnouncementStatus
DUTCH = "nl"
CHECK = "✓ "

THEME_LABELS = {
    Theme.LIEFLEED.value: lazy.pgettext("row", "Lief & Leed"),
    Theme.GREEN.value: lazy.pgettext("row", "Green streets"),
    Theme.CLEAN.value: lazy.pgettext("row", "Clean streets"),
}
ROLE_LABELS = {
    Role.GANGMAKER.value: lazy.pgettext("row", "Gangmakers"),
    Role.LEADER.value: lazy.pgettext("row", "Project leaders"),
    Role.PAYOUT.value: lazy.pgettext("row", "Payout points"),
    Role.ADMIN.value: lazy.pgettext("row", "Admins"),
    Role.RESIDENT.value: lazy.pgettext("row", "Residents"),
}
STATUS_LABELS = {
    S.DRAFT.value: lazy.pgettext("announcement", "draft"),
    S.SCHEDULED.value: lazy.pgettext("announcement", "planned"),
    S.SENDING.value: lazy.pgettext("announcement", "sending"),
    S.DONE.value: lazy.pgettext("announcement", "done"),
    S.CANCELLED.value: lazy.pgettext("announcement", "cancelled"),
}
# Why rows failed or were skipped (the part of ``last_error`` before the colon).
REASON_LABELS = {
    "blocked": lazy._("blocked the bot"),
    "chat_not_found": lazy._("chat no longer exists"),
    "unreachable": lazy._("no chat address"),
    "bad_request": lazy._("refused by the messenger"),
    "gave_up": lazy._("too many tries"),
}


def shorten(text: str, limit: int = ROW_MAX_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _has_text(text: str | None) -> bool:
    # Only emoji or punctuation tells the readers nothing.
    return bool(text) and any(ch.isalnum() for ch in text or "")


DRAFT_KEYS = ("texts", "audience", "send_at", "round_id", "lang", "day")


def _forget_draft(ctx: Context) -> None:
    for key in DRAFT_KEYS:
        ctx.data.pop(key, None)


def _texts(ctx: Context) -> dict[str, str]:
    return dict(ctx.data.get("texts", {}))


def _audience(ctx: Context) -> ann.Audience:
    return ann.Audience.from_json(ctx.data.get("audience") or {})


def _toggle(ctx: Context, kind: str, value: object) -> None:
    audience = dict(ctx.data.get("audience") or {})
    audience.pop("all", None)
    values = list(audience.get(kind, []))
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    if values:
        audience[kind] = values
    else:
        audience.pop(kind, None)
    ctx.data["audience"] = audience


def _require_announcer(person: Person) -> None:
    permissions.require_leader(person)


def _send_at(ctx: Context) -> dt.datetime | None:
    raw = ctx.data.get("send_at")
    return dt.datetime.fromisoformat(raw) if raw else None


# --- home --------------------------------------------------------------------------------------


@dialog.prompt("home")
async def ask_home(ctx: Context) -> None:
    _require_announcer(ctx.person)
    ctx.ask(
        ctx._("Announcements go to many people at once. What would you like to do?"),
        [
            Option(ctx.pgettext("row", "New announcement"), "new"),
            Option(ctx.pgettext("row", "Follow announcements"), "list"),
            Option(ctx.pgettext("row", "Back to the menu"), "menu"),
        ],
    )


@dialog.step("home", accepts=())
async def home(ctx: Context) -> None:
    if ctx.value == "new":
        _forget_draft(ctx)
        ctx.goto("text_nl")
    elif ctx.value == "list":
        ctx.goto("list")
    else:
        ctx.finish()


# --- texts -------------------------------------------------------------------------------------


@dialog.prompt("text_nl")
async def ask_text_nl(ctx: Context) -> None:
    ctx.ask(
        ctx._(
            "Write the text in Dutch. Everyone whose language has no text of its own gets "
            "the Dutch text."
        )
    )


@dialog.step("text_nl")
async def text_nl(ctx: Context) -> None:
    if not _has_text(ctx.text):
        ctx.say(ctx._("Please write a text with words in it."))
        ctx.goto("text_nl")
        return
    ann.clean_texts({DUTCH: ctx.text or ""})  # the service's checks (length)
    texts = _texts(ctx)
    texts[DUTCH] = (ctx.text or "").strip()
    ctx.data["texts"] = texts
    ctx.goto("languages")


@dialog.prompt("languages")
async def ask_languages(ctx: Context) -> None:
    texts = _texts(ctx)
    others = [code for code in LANGUAGE_NAMES if code != DUTCH][: MAX_OPTIONS - 1]
    written = [LANGUAGE_NAMES[c] for c in LANGUAGE_NAMES if c in texts]
    fallback = [LANGUAGE_NAMES[c] for c in others if c not in texts]
    lines = [ctx._("Texts in: {languages}.", languages=", ".join(written))]
    if fallback:
        lines.append(ctx._("Falls back to Dutch: {languages}.", languages=", ".join(fallback)))
    lines.append(ctx._("Choose a language to add a text, or go on."))
    options = [
        Option((CHECK if code in texts else "") + LANGUAGE_NAMES[code], f"lang:{code}")
        for code in others
    ]
    options.append(Option(ctx.pgettext("row", "Go on ▸"), "done"))
    ctx.ask("\n".join(lines), options)


@dialog.step("languages", accepts=())
async def languages(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.goto("audience")
        return
    ctx.data["lang"] = (ctx.value or "").removeprefix("lang:")
    ctx.goto("text_other")


@dialog.prompt("text_other")
async def ask_text_other(ctx: Context) -> None:
    code = ctx.data.get("lang", "")
    name = LANGUAGE_NAMES.get(code, code)
    lines = [ctx._("Write the text in {language}.", language=name)]
    current = _texts(ctx).get(code)
    if current:
        lines.append(ctx._("Now: {text}", text=shorten(current, 200)))
    ctx.ask(
        "\n".join(lines),
        [Option(ctx.pgettext("button", "Use Dutch"), "none")],
        free_text=True,
    )


@dialog.step("text_other")
async def text_other(ctx: Context) -> None:
    code = ctx.data.get("lang", "")
    texts = _texts(ctx)
    if ctx.value == "none":
        texts.pop(code, None)
    elif not _has_text(ctx.text):
        ctx.say(ctx._("Please write a text with words in it."))
        ctx.goto("text_other")
        return
    else:
        ann.clean_texts({DUTCH: texts[DUTCH], code: ctx.text or ""})
        texts[code] = (ctx.text or "").strip()
    ctx.data["texts"] = texts
    ctx.goto("languages")


# --- audience ----------------------------------------------------------------------------------


async def _area_names(ctx: Context) -> dict[int, str]:
    from sqlalchemy import select

    rows = await ctx.session.execute(
        select(Area.id, Area.name)
        .where(Area.organisation_id == ctx.organisation.id)
        .order_by(Area.name, Area.id)
    )
    return {area_id: name for area_id, name in rows}


async def _describe_audience(ctx: Context) -> str:
    audience = _audience(ctx)
    if audience.everyone:
        return ctx._("everyone")
    parts: list[str] = []
    if audience.area_ids:
        names = await _area_names(ctx)
        parts.extend(names.get(a, str(a)) for a in audience.area_ids)
    parts.extend(ctx.tr(THEME_LABELS[t]) for t in audience.themes if t in THEME_LABELS)
    parts.extend(ctx.tr(ROLE_LABELS[r]) for r in audience.roles if r in ROLE_LABELS)
    parts.extend(LANGUAGE_NAMES.get(c, c) for c in audience.languages)
    return ", ".join(parts)


@dialog.prompt("audience")
async def ask_audience(ctx: Context) -> None:
    who = await _describe_audience(ctx)
    ctx.ask(
        "\n".join(
            [
                ctx._("Who gets it? Now: {who}.", who=who),
                ctx._("Kinds add up: areas and themes together mean those streets only."),
            ]
        ),
        [
            Option(ctx.pgettext("row", "Everyone"), "all"),
            Option(ctx.pgettext("row", "Areas"), "areas"),
            Option(ctx.pgettext("row", "Street themes"), "themes"),
            Option(ctx.pgettext("row", "Roles"), "roles"),
            Option(ctx.pgettext("row", "Languages"), "languages"),
            Option(ctx.pgettext("row", "Go on ▸"), "done"),
        ],
    )


@dialog.step("audience", accepts=())
async def audience(ctx: Context) -> None:
    if ctx.value == "all":
        ctx.data["audience"] = {}
        ctx.goto("audience")
    elif ctx.value == "done":
        ctx.goto("when")
    else:
        ctx.goto(f"aud_{ctx.value}")


def _done_option(ctx: Context) -> Option:
    return Option(ctx.pgettext("row", "Done ▸"), "done")


@dialog.prompt("aud_areas")
async def ask_areas(ctx: Context) -> None:
    chosen = set(_audience(ctx).area_ids)
    names = await _area_names(ctx)
    shown = list(names.items())[: MAX_OPTIONS - 1]
    text = ctx._("Which areas? Choose one to add or remove it.")
    if len(names) > len(shown):
        text += "\n" + ctx._("Not in the list? Type the name of the area.")
    ctx.ask(
        text,
        [
            *(
                Option(shorten((CHECK if a in chosen else "") + name), f"area:{a}")
                for a, name in shown
            ),
            _done_option(ctx),
        ],
        free_text=len(names) > len(shown),
    )


@dialog.step("aud_areas")
async def areas(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.goto("audience")
        return
    if ctx.value and ctx.value.startswith("area:"):
        area_id = int(ctx.value.removeprefix("area:"))
    else:
        typed = " ".join((ctx.text or "").split()).lower()
        matches = [a for a, name in (await _area_names(ctx)).items() if name.lower() == typed]
        if not matches:
            from bot.errors import NotFound

            raise NotFound("announcement.area_unknown", area=shorten(ctx.text or "", 40))
        area_id = matches[0]
    _toggle(ctx, "areas", area_id)
    ctx.goto("aud_areas")


@dialog.prompt("aud_themes")
async def ask_themes(ctx: Context) -> None:
    chosen = set(_audience(ctx).themes)
    ctx.ask(
        ctx._("Streets with which theme? Choose one to add or remove it."),
        [
            *(
                Option((CHECK if t in chosen else "") + ctx.tr(label), f"theme:{t}")
                for t, label in THEME_LABELS.items()
            ),
            _done_option(ctx),
        ],
    )


@dialog.step("aud_themes", accepts=())
async def themes(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.goto("audience")
        return
    _toggle(ctx, "themes", (ctx.value or "").removeprefix("theme:"))
    ctx.goto("aud_themes")


@dialog.prompt("aud_roles")
async def ask_roles(ctx: Context) -> None:
    chosen = set(_audience(ctx).roles)
    ctx.ask(
        ctx._("Which roles? Choose one to add or remove it."),
        [
            *(
                Option((CHECK if r in chosen else "") + ctx.tr(label), f"role:{r}")
                for r, label in ROLE_LABELS.items()
            ),
            _done_option(ctx),
        ],
    )


@dialog.step("aud_roles", accepts=())
async def roles(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.goto("audience")
        return
    _toggle(ctx, "roles", (ctx.value or "").removeprefix("role:"))
    ctx.goto("aud_roles")


@dialog.prompt("aud_languages")
async def ask_audience_languages(ctx: Context) -> None:
    chosen = set(_audience(ctx).languages)
    codes = list(LANGUAGE_NAMES)
    shown = codes[: MAX_OPTIONS - 1]
    ctx.ask(
        "\n".join(
            [
                ctx._("People with which language? Choose one to add or remove it."),
                ctx._("Not in the list? Type the name of the language."),
            ]
        ),
        [
            *(
                Option((CHECK if c in chosen else "") + LANGUAGE_NAMES[c], f"lang:{c}")
                for c in shown
            ),
            _done_option(ctx),
        ],
        free_text=True,
    )


@dialog.step("aud_languages")
async def audience_languages(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.goto("audience")
        return
    if ctx.value and ctx.value.startswith("lang:"):
        code = ctx.value.removeprefix("lang:")
    else:
        typed = " ".join((ctx.text or "").split()).lower()
        found = [c for c, name in LANGUAGE_NAMES.items() if typed in (c, name.lower())]
        if not found:
            from bot.errors import InvalidInput

            raise InvalidInput("announcement.language_unknown", language=shorten(typed, 40))
        code = found[0]
    _toggle(ctx, "languages", code)
    ctx.goto("aud_languages")


# --- when --------------------------------------------------------------------------------------


def _round_name(ctx: Context, names: dict[str, str]) -> str:
    return names.get(ctx.language) or names.get(DUTCH) or next(iter(names.values()), "")


@dialog.prompt("when")
async def ask_when(ctx: Context) -> None:
    moments = await ann.round_moments(
        ctx.session, organisation_id=ctx.organisation.id, limit=3, now=ctx.now
    )
    lines = [ctx._("When should it go?")]
    options = [
        Option(ctx.pgettext("row", "Now"), "now"),
        Option(ctx.pgettext("row", "On a day and time"), "at"),
    ]
    for moment in moments:
        label = shorten(ctx.datetime(moment.when, "short"))
        name = _round_name(ctx, moment.names)
        if moment.kind == "opening":
            lines.append(ctx._("{label}: when {round} opens.", label=label, round=name))
        else:
            lines.append(ctx._("{label}: one week before {round} closes.", label=label, round=name))
        options.append(Option(label, f"round:{moment.round_id}:{moment.kind}"))
    ctx.ask("\n".join(lines), options)


@dialog.step("when", accepts=())
async def when(ctx: Context) -> None:
    ctx.data.pop("round_id", None)
    if ctx.value == "now":
        ctx.data["send_at"] = None
        ctx.goto("preview")
    elif ctx.value == "at":
        ctx.goto("date")
    else:
        _, round_id, kind = (ctx.value or "").split(":")
        moments = await ann.round_moments(
            ctx.session, organisation_id=ctx.organisation.id, limit=10, now=ctx.now
        )
        moment = next(m for m in moments if m.round_id == int(round_id) and m.kind == kind)
        ctx.data["send_at"] = moment.when.isoformat()
        ctx.data["round_id"] = moment.round_id
        ctx.goto("preview")


@dialog.prompt("date")
async def ask_date(ctx: Context) -> None:
    ctx.ask(ctx._("On which day? For example: tomorrow, or 14/3."))


@dialog.step("date")
async def date(ctx: Context) -> None:
    day = parse_date(ctx.text or "", today=ctx.today, lang=ctx.language)
    check_date_window(day, today=ctx.today, allow_past=False, max_days_ahead=ann.SCHEDULE_MAX_DAYS)
    ctx.data["day"] = day.isoformat()
    ctx.goto("time")


@dialog.prompt("time")
async def ask_time(ctx: Context) -> None:
    ctx.ask(ctx._("At what time? For example: 9:30."))


@dialog.step("time")
async def time(ctx: Context) -> None:
    minute = parse_clock_time(ctx.text or "")
    day = dt.date.fromisoformat(ctx.data["day"])
    moment = wall_time(day, minute, zone(ctx.organisation.timezone))
    ctx.data["send_at"] = ann.check_send_at(moment, now=ctx.now).isoformat()
    ctx.goto("preview")


# --- preview and send --------------------------------------------------------------------------


@dialog.prompt("preview")
async def ask_preview(ctx: Context) -> None:
    texts = _texts(ctx)
    preview = await ann.preview_texts(
        ctx.session, organisation_id=ctx.organisation.id, texts=texts, audience=_audience(ctx)
    )
    groups = {p.language: p for p in preview.languages}
    for code in [*texts, *(c for c in groups if c not in texts)]:
        group = groups.get(code)
        count = group.recipients if group else 0
        name = LANGUAGE_NAMES.get(code, code)
        if code in texts:
            head = ctx.ngettext(
                "{language}: {n} person reads this:",
                "{language}: {n} people read this:",
                count,
                language=name,
            )
        else:
            head = ctx.ngettext(
                "{language}: {n} person gets the Dutch text (falls back to Dutch).",
                "{language}: {n} people get the Dutch text (falls back to Dutch).",
                count,
                language=name,
            )
        ctx.say(f"{head}\n\n{texts[code]}" if code in texts else head)
    lines = [
        ctx.ngettext("It goes to {n} person.", "It goes to {n} people.", preview.recipients),
        ctx._(
            "Not included: {stopped} stopped announcements, {unreachable} without a chat "
            "address, {no_consent} without permission.",
            stopped=preview.opted_out,
            unreachable=preview.unreachable,
            no_consent=preview.no_consent,
        ),
    ]
    send_at = _send_at(ctx)
    if send_at is None:
        lines.append(ctx._("It goes now."))
    else:
        lines.append(ctx._("It goes on {when}.", when=ctx.datetime(send_at)))
    lines.append(ctx._("Send it?"))
    ctx.ask(
        "\n".join(lines),
        [
            Option(ctx.pgettext("button", "Send"), "yes"),
            Option(ctx.pgettext("button", "Change"), "change"),
            Option(ctx.pgettext("button", "Throw away"), "drop"),
        ],
    )


@dialog.step("preview", accepts=())
async def preview(ctx: Context) -> None:
    if ctx.value == "change":
        ctx.goto("text_nl")
        return
    if ctx.value == "drop":
        _forget_draft(ctx)
        ctx.say(ctx._("Thrown away. Nothing was sent."))
        ctx.finish()
        return
    send_at = _send_at(ctx)
    if send_at is not None:
        send_at = ann.check_send_at(send_at, now=ctx.now)  # the preview may have taken a while
    item = await ann.announce(
        ctx.session,
        organisation_id=ctx.organisation.id,
        actor=ctx.person,
        texts=_texts(ctx),
        audience=_audience(ctx),
        send_at=send_at,
        round_id=ctx.data.get("round_id"),
        now=ctx.now,
    )
    _forget_draft(ctx)
    ctx.data["ann_id"] = item.id
    if send_at is None:
        ctx.say(ctx._("Sent off: announcement {id} goes out now.", id=item.id))
    else:
        ctx.say(
            ctx._(
                "Planned: announcement {id} goes on {when}. You can cancel it until then.",
                id=item.id,
                when=ctx.datetime(send_at),
            )
        )
    ctx.goto("status")


# --- follow, cancel ----------------------------------------------------------------------------


def _status(ctx: Context, item: Announcement) -> str:
    label = STATUS_LABELS.get(S(item.status).value)
    return ctx.tr(label) if label else str(item.status)


@dialog.prompt("list")
async def ask_list(ctx: Context) -> None:
    items = await ann.recent_announcements(
        ctx.session, organisation_id=ctx.organisation.id, limit=MAX_OPTIONS - 1
    )
    if not items:
        ctx.say(ctx._("There are no announcements yet."))
        ctx.goto("home")
        return
    ctx.ask(
        ctx._("Which announcement? The newest is on top."),
        [
            *(
                Option(
                    shorten(
                        f"{item.id} · {_status(ctx, item)} · {ctx.date(item.created_at, 'short')}"
                    ),
                    f"ann:{item.id}",
                )
                for item in items
            ),
            Option(ctx.pgettext("row", "Back to the menu"), "menu"),
        ],
    )


@dialog.step("list", accepts=())
async def choose_announcement(ctx: Context) -> None:
    if ctx.value == "menu":
        ctx.finish()
        return
    ctx.data["ann_id"] = int((ctx.value or "").removeprefix("ann:"))
    ctx.goto("status")


@dialog.prompt("status")
async def ask_status(ctx: Context) -> None:
    item = await ann.get_announcement(
        ctx.session, organisation_id=ctx.organisation.id, announcement_id=ctx.data["ann_id"]
    )
    counts = await ann.delivery_counts(ctx.session, announcement_id=item.id, now=ctx.now)
    preview_text = shorten(item.texts.get(DUTCH, ""), 80)
    lines = [
        ctx._("Announcement {id}: {status}.", id=item.id, status=_status(ctx, item)),
        f"“{preview_text}”",
    ]
    if item.status in (S.DRAFT, S.SCHEDULED) and item.send_at is not None:
        lines.append(ctx._("It goes on {when}.", when=ctx.datetime(item.send_at)))
    if counts.total:
        lines.append(
            ctx._(
                "Queued: {queued}. Sent: {sent}. Failed: {failed}. Skipped: {skipped}.",
                queued=counts.queued + counts.sending,
                sent=counts.sent,
                failed=counts.failed,
                skipped=counts.skipped,
            )
        )
    if counts.held:
        lines.append(
            ctx.ngettext(
                "{n} message waits for the end of quiet hours or a new try.",
                "{n} messages wait for the end of quiet hours or a new try.",
                counts.held,
            )
        )
    if counts.reasons:
        lines.append(ctx._("Why not sent:"))
        for reason, n in counts.reasons.items():
            label = REASON_LABELS.get(reason)
            lines.append(f"– {ctx.tr(label) if label else reason}: {n}")
    options = [Option(ctx.pgettext("row", "Refresh"), "refresh")]
    if item.status in (S.DRAFT, S.SCHEDULED):
        options.append(Option(ctx.pgettext("row", "Cancel it"), "cancel"))
    options += [
        Option(ctx.pgettext("row", "Other announcements"), "list"),
        Option(ctx.pgettext("row", "Back to the menu"), "menu"),
    ]
    ctx.ask("\n".join(lines), options)


@dialog.step("status", accepts=())
async def status(ctx: Context) -> None:
    if ctx.value == "refresh":
        ctx.goto("status")
    elif ctx.value == "cancel":
        ctx.goto("cancel")
    elif ctx.value == "list":
        ctx.goto("list")
    else:
        ctx.finish()


@dialog.prompt("cancel")
async def ask_cancel(ctx: Context) -> None:
    ctx.yes_no(
        ctx._("Cancel announcement {id}? Then nobody gets it.", id=ctx.data["ann_id"]),
        yes=ctx.pgettext("button", "Cancel it"),
        no=ctx.pgettext("button", "Keep it"),
    )


@dialog.step("cancel", accepts=())
async def cancel(ctx: Context) -> None:
    if ctx.value == "yes":
        item = await ann.get_announcement(
            ctx.session, organisation_id=ctx.organisation.id, announcement_id=ctx.data["ann_id"]
        )
        try:
            await ann.cancel_announcement(
                ctx.session, announcement=item, actor=ctx.person, now=ctx.now
            )
        except IllegalTransition as error:
            # Sending started in the meantime: say so and show how far it got.
            ctx.say(error_text(ctx.t, error))
        else:
            ctx.say(ctx._("Cancelled. Nobody gets announcement {id}.", id=item.id))
    ctx.goto("status")
