"""Command-line subcommands for the outbox: `gangmaker worker`, `gangmaker announce`, and the
`--people N` of `gangmaker demo`. Wired into the parser by :mod:`bot.cli`.

    gangmaker worker [--once]
    gangmaker announce --text LANG=FILE [--text LANG=FILE ...]
                       [--audience all|area:NAME|theme:NAME|role:NAME|lang:CODE ...]
                       [--at ISO-TIME] [--dry-run]
    gangmaker announce status ID [--no-follow]
    gangmaker announce cancel ID

`announce` prints only the new announcement's id on standard output (for scripts); the preview
goes to standard error. A time without a zone (``--at 2026-03-01T09:00``) is the organisation's
local time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config import Settings
from bot.db import make_engine, make_sessionmaker, transaction
from bot.errors import DomainError
from bot.models import Announcement, AnnouncementStatus, Organisation, utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services.announcements import DeliveryCounts

BAR_WIDTH = 30


def add_parsers(sub: argparse._SubParsersAction) -> None:
    worker = sub.add_parser(
        "worker", help="send the outbox: announcements, reminders, notifications (SIGTERM stops)"
    )
    worker.add_argument(
        "--once", action="store_true", help="send what is due now, then exit (for scripts)"
    )
    worker.set_defaults(func=cmd_worker)

    announce = sub.add_parser(
        "announce",
        help="announce to many people: --text nl=FILE ...; `announce status ID` follows it",
        description="Create and schedule an announcement (prints its id), or follow or cancel "
        "one: `announce status ID`, `announce cancel ID`.",
    )
    announce.add_argument("action", nargs="*", metavar="status|cancel ID", help="what to do")
    announce.add_argument(
        "--text", action="append", default=[], metavar="LANG=FILE", help="text per language"
    )
    announce.add_argument(
        "--audience",
        action="append",
        default=[],
        metavar="all|area:NAME|theme:NAME|role:NAME|lang:CODE",
        help="who gets it (repeat; kinds combine, values of one kind add up); default all",
    )
    announce.add_argument("--at", metavar="ISO-TIME", help="when to send (default now)")
    announce.add_argument("--dry-run", action="store_true", help="show the preview, create nothing")
    announce.add_argument("--no-follow", action="store_true", help="status: print the counts once")
    announce.set_defaults(func=cmd_announce)


def _fail(message: str) -> int:
    print(f"gangmaker: {message}", file=sys.stderr)
    return 2


def _describe(error: DomainError) -> str:
    details = ", ".join(f"{k}={v}" for k, v in error.params.items())
    return f"{error.key}" + (f" ({details})" if details else "")


# --- worker ------------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.delivery.settings import load_delivery_settings
    from bot.delivery.worker import drain, run_worker

    delivery = load_delivery_settings()
    if args.once:
        handled = asyncio.run(drain(settings, delivery))
        print(f"{handled} deliveries handled")
        return 0
    return asyncio.run(run_worker(settings, delivery))


# --- announce ----------------------------------------------------------------------------------


def _read_texts(pairs: list[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for pair in pairs:
        language, sep, name = pair.partition("=")
        if not sep or not language.strip() or not name:
            raise ValueError(f"--text expects LANG=FILE, got {pair!r}")
        data = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        texts[language.strip().lower()] = data
    return texts


def _parse_time(value: str, timezone: str) -> dt.datetime:
    from bot.delivery.timing import zone

    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"--at expects an ISO time like 2026-03-01T09:00, got {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return moment.astimezone(dt.UTC)


def cmd_announce(args: argparse.Namespace, settings: Settings) -> int:
    action = args.action
    if action and action[0] in ("status", "cancel"):
        if len(action) != 2 or not action[1].isdigit():
            return _fail(f"usage: gangmaker announce {action[0]} ID")
        if action[0] == "status":
            return asyncio.run(_status(settings, int(action[1]), follow=not args.no_follow))
        return asyncio.run(_cancel(settings, int(action[1])))
    if action:
        return _fail(f"unknown announce action {' '.join(action)!r} (status ID, cancel ID)")
    if not args.text:
        return _fail("give at least the Dutch text: --text nl=FILE")
    try:
        texts = _read_texts(args.text)
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    return asyncio.run(_create(settings, texts, args.audience, args.at, dry_run=args.dry_run))


async def _organisation(session: AsyncSession, settings: Settings) -> Organisation:
    from bot.services.people import get_default_organisation

    return await get_default_organisation(session, settings.organisation)


async def _create(
    settings: Settings, texts: dict[str, str], audience: list[str], at: str | None, *, dry_run: bool
) -> int:
    from bot.i18n import language_name
    from bot.services import announcements as ann

    engine = make_engine(settings.database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            org = await _organisation(session, settings)
            send_at = _parse_time(at, org.timezone) if at else None
            item = await ann.create_announcement(
                session,
                organisation_id=org.id,
                actor=None,
                texts=texts,
                audience=await ann.parse_audience(session, org.id, audience),
            )
            templates = None
            if settings.whatsapp:
                from bot.channels.whatsapp.window import Templates
                from bot.delivery.settings import load_delivery_settings

                templates = Templates.parse(load_delivery_settings().whatsapp_templates)
            preview = await ann.preview_announcement(
                session, announcement=item, whatsapp_templates=templates
            )
            err = sys.stderr
            print(f"Recipients now: {preview.recipients}", file=err)
            for lang in preview.languages:
                note = " (no text in this language: Dutch)" if lang.fallback else ""
                print(f"  {language_name(lang.language)}: {lang.recipients}{note}", file=err)
            if preview.whatsapp_forms:
                forms = preview.whatsapp_forms
                print(
                    f"WhatsApp: {forms.get('free', 0)} as a message (wrote in the last 24 "
                    f"hours), {forms.get('template', 0)} as an approved template, "
                    f"{forms.get('skipped', 0)} skipped (no template in their language)",
                    file=err,
                )
            print(
                f"Left out: {preview.opted_out} opted out (STOP), {preview.unreachable} "
                f"unreachable, {preview.no_consent} without consent",
                file=err,
            )
            if dry_run:
                await session.rollback()
                print("Dry run: nothing was created.", file=err)
                return 0
            await ann.schedule_announcement(session, announcement=item, actor=None, send_at=send_at)
            when = "now" if send_at is None else _local(item.send_at or send_at, org.timezone)
            print(f"Announcement {item.id} scheduled for {when}.", file=err)
            print(item.id)
    except DomainError as exc:
        return _fail(_describe(exc))
    except ValueError as exc:
        return _fail(str(exc))
    finally:
        await engine.dispose()
    return 0


async def _cancel(settings: Settings, announcement_id: int) -> int:
    from bot.services import announcements as ann

    engine = make_engine(settings.database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            org = await _organisation(session, settings)
            item = await ann.get_announcement(
                session,
                organisation_id=org.id,
                announcement_id=announcement_id,
            )
            await ann.cancel_announcement(session, announcement=item, actor=None)
        print(f"Announcement {announcement_id} cancelled.")
    except DomainError as exc:
        return _fail(_describe(exc))
    finally:
        await engine.dispose()
    return 0


def _local(moment: dt.datetime, timezone: str) -> str:
    from bot.delivery.timing import zone

    return moment.astimezone(zone(timezone)).strftime(f"%Y-%m-%d %H:%M ({timezone})")


def progress_line(counts: DeliveryCounts, total: int) -> str:
    """``[#####.....]  60% 1200/2000 sent 1150 failed 2 skipped 48 queued 800``."""
    c = counts
    done = c.finished
    share = done / total if total else 1.0
    filled = int(BAR_WIDTH * share)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    line = (
        f"[{bar}] {share:4.0%} {done}/{total}  sent {c.sent}  failed {c.failed}  "
        f"skipped {c.skipped}  queued {c.queued}"
    )
    if c.held:
        line += f" (held {c.held})"
    return line


async def _status(
    settings: Settings,
    announcement_id: int,
    *,
    follow: bool,
    out: TextIO | None = None,
    poll: float = 0.5,
) -> int:
    from bot.services import announcements as ann

    out = out or sys.stdout
    tty = out.isatty()
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    last_print = 0.0
    announced_wait = False
    try:
        while True:
            async with sessions() as session:
                org = await _organisation(session, settings)
                try:
                    item: Announcement = await ann.get_announcement(
                        session,
                        organisation_id=org.id,
                        announcement_id=announcement_id,
                    )
                except DomainError as exc:
                    return _fail(_describe(exc))
                now = utcnow()
                counts = await ann.delivery_counts(session, announcement_id=item.id, now=now)
            status = item.status
            if status in (AnnouncementStatus.DRAFT, AnnouncementStatus.CANCELLED):
                print(f"Announcement {item.id} is {status.value}; nothing to send.", file=out)
                return 0
            if status is AnnouncementStatus.SCHEDULED:
                soon = item.send_at is None or item.send_at - now < dt.timedelta(minutes=1)
                if not follow or not soon:
                    when = _local(item.send_at or now, org.timezone)
                    print(f"Announcement {item.id} is scheduled for {when}.", file=out)
                    return 0
                if not announced_wait:
                    print("Waiting for the worker to start it ...", file=out, flush=True)
                    announced_wait = True
                await asyncio.sleep(poll)
                continue
            total = (item.audience_counts or {}).get("recipients", counts.total) or counts.total
            line = progress_line(counts, max(total, counts.total))
            # Done, or nothing more can happen soon (all held back, e.g. for quiet hours).
            due_soon = (
                counts.sending
                or (counts.queued - counts.in_chat - counts.held)
                or (
                    counts.next_attempt_at
                    and counts.next_attempt_at - now < dt.timedelta(seconds=30)
                )
            )
            finished = status is AnnouncementStatus.DONE or not due_soon
            if tty:
                print("\r" + line, end="", file=out, flush=True)
            elif finished or not follow or time.monotonic() - last_print >= 5:
                print(line, file=out, flush=True)
                last_print = time.monotonic()
            if finished or not follow:
                break
            await asyncio.sleep(poll)
        if tty:
            print(file=out)
        state = "done" if counts.in_progress == 0 else item.status.value
        print(
            f"Announcement {item.id} {state}: sent {counts.sent}, failed "
            f"{counts.failed}, skipped {counts.skipped}, queued {counts.queued}",
            file=out,
        )
        if counts.held and counts.next_attempt_at:
            print(
                f"  {counts.held} held until {counts.next_attempt_at.isoformat()} "
                "(quiet hours or a retry)",
                file=out,
            )
        if counts.in_chat:
            print(f"  {counts.in_chat} waiting in the terminal chat", file=out)
        for reason, number in counts.reasons.items():
            print(f"  {reason}: {number}", file=out)
        left = item.audience_counts or {}
        if left:
            print(
                f"  left out: {left.get('opted_out', 0)} opted out, "
                f"{left.get('unreachable', 0)} unreachable, "
                f"{left.get('no_consent', 0)} without consent; "
                f"{left.get('fallback', 0)} got the Dutch text",
                file=out,
            )
    finally:
        await engine.dispose()
    return 0


# --- demo --people -----------------------------------------------------------------------------


async def add_people(settings: Settings, count: int) -> str:
    from bot.delivery.demo_people import add_demo_people

    engine = make_engine(settings.database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            org = await _organisation(session, settings)
            result = await add_demo_people(session, organisation=org, count=count)
    finally:
        await engine.dispose()
    return result.describe()
