"""`gangmaker users`: the dashboard's accounts from the command line.

    gangmaker users create NAME --role admin|leader|theme_lead|payout [--area AREA]
                           [--theme liefleed|green|clean] [--point POINT]
                           [--first-name NAME] [--language nl] [--password-stdin]
    gangmaker users reset-password NAME [--password-stdin]
    gangmaker users list

The password is asked twice (hidden) or read from standard input with ``--password-stdin``;
it is never an argument (it would stay in the shell history and the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from bot.config import SHIPPED_LANGUAGES, Settings
from bot.db import make_engine, make_sessionmaker, transaction
from bot.errors import DomainError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="dashboard accounts: create, reset-password, list")
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="a new account (and its person with the roles)")
    create.add_argument("username")
    create.add_argument(
        "--role",
        action="append",
        required=True,
        choices=["admin", "leader", "theme_lead", "payout"],
        help="repeat for several; leader needs --area, theme_lead --theme, payout --point",
    )
    create.add_argument("--area", action="append", default=[], help="area a leader leads")
    create.add_argument(
        "--theme",
        action="append",
        default=[],
        help="street theme a theme lead leads in every area: liefleed, green or clean",
    )
    create.add_argument("--point", action="append", default=[], help="payout point by name")
    create.add_argument("--first-name", help="shown in the dashboard (default: the user name)")
    create.add_argument("--language", default="nl", choices=SHIPPED_LANGUAGES)
    create.add_argument("--password-stdin", action="store_true", help="read the password")
    reset = actions.add_parser("reset-password", help="a new password; unlocks, signs out")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password")
    actions.add_parser("list", help="the accounts with their roles")
    users.set_defaults(func=cmd_users)


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("gangmaker: the passwords differ", file=sys.stderr)
        return None
    return first


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import web_accounts as accounts

    password = None
    if args.action in ("create", "reset-password"):
        password = _password(args.password_stdin)
        if password is None:
            return 2

    async def run() -> int:
        from sqlalchemy import select

        from bot.models import Area, Organisation, PayoutPoint
        from bot.services.people import get_default_organisation

        engine = make_engine(settings.database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                if args.action == "list":
                    areas = {a.id: a.name for a in await session.scalars(select(Area))}
                    points = {p.id: p.name for p in await session.scalars(select(PayoutPoint))}
                    for account in await accounts.list_accounts(session):
                        await session.refresh(account.person, ["roles"])
                        roles = ", ".join(
                            g.role.value
                            + (f":{areas.get(g.area_id, g.area_id)}" if g.area_id else "")
                            + (
                                f":{points.get(g.payout_point_id, g.payout_point_id)}"
                                if g.payout_point_id
                                else ""
                            )
                            + (f":{g.theme.value}" if g.theme else "")
                            for g in account.person.roles
                        )
                        locked = " (locked)" if account.locked_until else ""
                        print(f"{account.username}\t{roles}{locked}")
                    return 0
                assert password is not None
                if args.action == "reset-password":
                    await accounts.reset_password(
                        session, username=args.username, password=password
                    )
                    print(f"password of {args.username} changed; its sessions are signed out")
                    return 0
                org: Organisation = await get_default_organisation(session, settings.organisation)
                grants = []
                for role in args.role:
                    by_role = {"leader": args.area, "payout": args.point, "theme_lead": args.theme}
                    names = by_role.get(role) or [None]
                    grants += [accounts.Grant(role, name) for name in names]
                account = await accounts.create_account(
                    session,
                    organisation=org,
                    username=args.username,
                    password=password,
                    grants=grants,
                    first_name=args.first_name,
                    language=args.language,
                )
                print(f"account {account.username} created")
                return 0
        except accounts.AccountError as error:
            print(f"gangmaker: {error}", file=sys.stderr)
            return 2
        except DomainError as error:  # e.g. no organisation yet: run `gangmaker demo` first
            print(f"gangmaker: {error.key} {error.params}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()

    return asyncio.run(run())
