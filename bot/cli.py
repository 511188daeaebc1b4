"""The `gangmaker` command: one entry point with a subcommand per job."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from bot.config import Settings, load_settings

Command = Callable[[argparse.Namespace, Settings], int]


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from alembic import command

    from bot.migrate import alembic_config

    config = alembic_config(settings.database_url)
    if args.action == "upgrade":
        command.upgrade(config, args.revision)
        print(f"database is at {args.revision}: {_safe_url(settings.database_url)}")
    elif args.action == "downgrade":
        command.downgrade(config, args.revision)
    elif args.action == "current":
        command.current(config)
    elif args.action == "history":
        command.history(config)
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import make_engine, make_sessionmaker, transaction
    from bot.demo import load_demo

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                summary = await load_demo(session)
        finally:
            await engine.dispose()
        print(summary.describe())
        if args.people:
            from bot.delivery.commands import add_people

            print(await add_people(settings, args.people))

    if args.people < 0:
        print("gangmaker: --people must be 0 or more", file=sys.stderr)
        return 2
    asyncio.run(run())
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    # The terminal is the conversation: info logs (Alembic's, at import and on the first
    # start's migrations) are noise there. LOG_LEVEL=DEBUG still shows everything.
    if logging.getLogger().level > logging.DEBUG:
        logging.disable(logging.INFO)
    from bot.chat_cli import chat_main

    return asyncio.run(chat_main(settings, who=args.who))


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web.app import serve

    print(f"serving on http://{settings.host}:{settings.port} (health: /healthz)")
    if settings.telegram_webhook:
        print(f"Telegram: webhook {settings.telegram_webhook_url}")
    if settings.whatsapp:
        print("WhatsApp: webhook /webhooks/whatsapp")
    return serve(settings)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print(
            "No messenger is configured (set TELEGRAM_BOT_TOKEN); "
            "to talk to the bot in this terminal, run `gangmaker chat`.",
            file=sys.stderr,
        )
        return 1
    if getattr(args, "no_worker", False):
        if settings.telegram_webhook:
            # Telegram calls us: the web server takes the updates.
            return _cmd_serve(args, settings)
        from bot.channels.telegram import run_polling

        return asyncio.run(run_polling(settings))
    # The delivery worker runs in this process too (announcements, reminders, notifications).
    from bot.delivery.settings import load_delivery_settings
    from bot.delivery.worker import run_polling_with_worker, worker_app_context

    delivery = load_delivery_settings()
    if settings.telegram_webhook:
        from bot.web.app import serve

        print(f"serving on http://{settings.host}:{settings.port} (health: /healthz)")
        print(f"Telegram: webhook {settings.telegram_webhook_url}")
        return serve(settings, contexts=[worker_app_context(settings, delivery)])
    return asyncio.run(run_polling_with_worker(settings, delivery))


def _cmd_i18n(args: argparse.Namespace, settings: Settings) -> int:
    from bot.catalogs import run_task

    return run_task(args.task, args.language)


def _cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import make_engine, make_sessionmaker, transaction
    from bot.services.retention import run_retention

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                result = await run_retention(session)
        finally:
            await engine.dispose()
        print(f"retention: {result.describe()}")

    asyncio.run(run())
    return 0


def _cmd_areas(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import make_engine, make_sessionmaker, transaction
    from bot.services.signals import set_welfare_contact_by_address

    async def run() -> str:
        engine = make_engine(settings.database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await set_welfare_contact_by_address(
                    session,
                    organisation_slug=args.org,
                    area_name=args.area,
                    channel=args.channel,
                    address=args.address,
                    first_name=args.name,
                    language=args.language,
                    clear=args.clear,
                )
        finally:
            await engine.dispose()

    try:
        print(asyncio.run(run()))
    except LookupError as error:
        print(f"gangmaker: {error}", file=sys.stderr)
        return 2
    return 0


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gangmaker",
        description="Chat assistant for Rotterdam's street gangmakers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    chat = sub.add_parser("chat", help="talk to the bot in this terminal (demo data, no token)")
    chat.add_argument(
        "--as",
        dest="who",
        choices=["new", "gangmaker", "leader", "payout", "admin"],
        help="who you are: a new resident or one of the demo people (asked when left out)",
    )
    chat.set_defaults(func=_cmd_chat)

    db = sub.add_parser("db", help="manage the database schema (Alembic migrations)")
    db.add_argument("action", choices=["upgrade", "downgrade", "current", "history"])
    db.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    db.set_defaults(func=_cmd_db)

    run = sub.add_parser(
        "run",
        help="run the messenger bots (Telegram: long polling, or the webhook server) and the "
        "delivery worker",
    )
    run.add_argument(
        "--no-worker",
        action="store_true",
        help="do not send the outbox here (when `gangmaker worker` runs as its own process)",
    )
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="fill the database with a realistic demo organisation")
    demo.add_argument(
        "--people",
        type=int,
        default=0,
        metavar="N",
        help="also add N demo gangmakers with Telegram identities (load tests, benchmarks)",
    )
    demo.set_defaults(func=_cmd_demo)

    serve = sub.add_parser(
        "serve",
        help="run the web server on HOST:PORT (health check, Telegram webhook, dashboard)",
    )
    serve.set_defaults(func=_cmd_serve)

    from bot.delivery.commands import add_parsers as add_delivery_parsers

    add_delivery_parsers(sub)

    from bot.web.dashboard.commands import add_parsers as add_users_parsers

    add_users_parsers(sub)
    retention = sub.add_parser("retention", help="delete data kept long enough (runs daily)")
    retention.add_argument("action", choices=["run"])
    retention.set_defaults(func=_cmd_retention)

    areas = sub.add_parser("areas", help="area settings: the welfare contact for signals")
    areas.add_argument("action", choices=["set-welfare-contact"])
    areas.add_argument("area", help="the area's name, e.g. Delfshaven")
    areas.add_argument("--org", default="rotterdam", help="organisation slug (default rotterdam)")
    areas.add_argument("--channel", choices=["telegram", "whatsapp", "console"], default="console")
    areas.add_argument("--address", help="the contact's chat id, number or console name")
    areas.add_argument("--name", help="first name, for a contact not known yet")
    areas.add_argument("--language", default="nl", help="language of a new contact (default nl)")
    areas.add_argument("--clear", action="store_true", help="remove the area's welfare contact")
    areas.set_defaults(func=_cmd_areas)

    i18n = sub.add_parser("i18n", help="translation catalogs: extract, update, compile, init")
    i18n.add_argument("task", choices=["extract", "update", "compile", "init", "check"])
    i18n.add_argument("language", nargs="?", help="language code, for init (e.g. so)")
    i18n.set_defaults(func=_cmd_i18n)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    func: Command = args.func
    try:
        return func(args, settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
