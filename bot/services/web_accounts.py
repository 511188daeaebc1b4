"""Web dashboard accounts: create, sign in (with lock-out), reset a password, list.

What an account may do is its person's role grants (:mod:`bot.services.permissions`); this
module only answers "who is signing in". Passwords are hashed with argon2 (argon2-cffi); a
wrong password and an unknown name get the same answer, so names cannot be guessed.

After :data:`MAX_FAILURES` wrong passwords in a row the account is locked for
:data:`LOCK_MINUTES` minutes (a correct password does not help while locked). Across accounts,
:data:`IP_MAX_FAILURES` wrong sign-ins (wrong passwords or unknown names) from one client
address within :data:`IP_WINDOW_MINUTES` minutes refuse every sign-in from that address until
the oldest of them is that old (one guessing many names is stopped too). The failures per
address are rows of ``web_login_failure``, kept only for the window, so several web processes
count together.

Errors (web and command line only, never shown in the chat): :class:`LoginRefused` with
``reason`` ``"invalid"`` or ``"locked"``; :class:`AccountError` for the command line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Area,
    Organisation,
    PayoutPoint,
    Person,
    Role,
    RoleGrant,
    Theme,
    WebAccount,
    WebLoginFailure,
    utcnow,
)
from bot.services import audit

MAX_FAILURES = 5
LOCK_MINUTES = 15
IP_MAX_FAILURES = 20
IP_WINDOW_MINUTES = 15
PASSWORD_MIN = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
WEB_ROLES = ("admin", "leader", "theme_lead", "payout")
# How a theme may be typed on the command line (also the Dutch words).
THEME_WORDS = {
    "liefleed": Theme.LIEFLEED,
    "lief&leed": Theme.LIEFLEED,
    "lief-leed": Theme.LIEFLEED,
    "lief & leed": Theme.LIEFLEED,
    "green": Theme.GREEN,
    "groen": Theme.GREEN,
    "clean": Theme.CLEAN,
    "schoon": Theme.CLEAN,
}

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
# Verifying against this keeps an unknown name as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class LoginRefused(Exception):
    def __init__(self, reason: str, until: dt.datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


class AccountError(Exception):
    """A command-line mistake (an unknown area, a short password, a taken name)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"a password has at least {PASSWORD_MIN} characters")


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError("a user name is 2-64 of a-z, 0-9 and . _ @ -")
    return name


async def _by_username(session: AsyncSession, username: str) -> WebAccount | None:
    return await session.scalar(
        select(WebAccount).where(WebAccount.username == username.strip().lower())
    )


@dataclass(frozen=True)
class Grant:
    role: str  # admin, leader, theme_lead or payout
    # The area (leader), the street theme (theme_lead) or the payout point (payout) by name.
    name: str | None = None


async def _grants(
    session: AsyncSession, org: Organisation, grants: Iterable[Grant]
) -> list[RoleGrant]:
    result = []
    for grant in grants:
        if grant.role not in WEB_ROLES:
            raise AccountError(f"unknown role {grant.role!r}: use {', '.join(WEB_ROLES)}")
        item = RoleGrant(role=Role(grant.role))
        if grant.role == "leader":
            area_id = await session.scalar(
                select(Area.id).where(
                    Area.organisation_id == org.id,
                    func.lower(Area.name) == (grant.name or "").strip().lower(),
                )
            )
            if area_id is None:
                raise AccountError(f"no area {grant.name!r}: leader needs --area NAME")
            item.area_id = area_id
        elif grant.role == "theme_lead":
            theme = THEME_WORDS.get(" ".join((grant.name or "").lower().split()))
            if theme is None:
                raise AccountError(
                    f"no theme {grant.name!r}: theme_lead needs --theme "
                    + "|".join(t.value for t in Theme)
                )
            item.theme = theme
        elif grant.role == "payout":
            point_id = await session.scalar(
                select(PayoutPoint.id).where(
                    PayoutPoint.organisation_id == org.id,
                    func.lower(PayoutPoint.name) == (grant.name or "").strip().lower(),
                )
            )
            if point_id is None:
                raise AccountError(f"no payout point {grant.name!r}: payout needs --point NAME")
            item.payout_point_id = point_id
        result.append(item)
    if not result:
        raise AccountError("give at least one role")
    return result


async def create_account(
    session: AsyncSession,
    *,
    organisation: Organisation,
    username: str,
    password: str,
    grants: Iterable[Grant],
    first_name: str | None = None,
    language: str = "nl",
    person: Person | None = None,
    now: dt.datetime | None = None,
) -> WebAccount:
    """A web account for ``person`` (or a new person with ``first_name`` and the grants)."""
    now = now or utcnow()
    name = normalise_username(username)
    check_password_rules(password)
    if await _by_username(session, name) is not None:
        raise AccountError(f"the user name {name!r} is taken")
    role_grants = await _grants(session, organisation, grants)
    if person is None:
        person = Person(
            organisation_id=organisation.id,
            first_name=(first_name or name)[:40],
            language=language,
            created_at=now,
            roles=[],
        )
        session.add(person)
        await session.flush()
    else:
        await session.refresh(person, ["roles"])
    for grant in role_grants:
        grant.person_id = person.id
        if not any(
            g.role == grant.role
            and g.area_id == grant.area_id
            and g.payout_point_id == grant.payout_point_id
            and g.theme == grant.theme
            for g in person.roles
        ):
            session.add(grant)
    account = WebAccount(
        organisation_id=organisation.id,
        person_id=person.id,
        username=name,
        password_hash=hash_password(password),
        failed_logins=0,
        session_version=1,
        created_at=now,
    )
    session.add(account)
    await session.flush()
    await session.refresh(person, ["roles"])
    await audit.record(
        session,
        actor=None,
        action="web.account_created",
        object_type="web_account",
        object_id=account.id,
        organisation_id=organisation.id,
        username=name,
        roles=sorted(g.role.value for g in role_grants),
    )
    return account


async def reset_password(
    session: AsyncSession, *, username: str, password: str, now: dt.datetime | None = None
) -> WebAccount:
    """A new password; unlocks the account and signs out its open sessions."""
    check_password_rules(password)
    account = await _by_username(session, username)
    if account is None:
        raise AccountError(f"no account {username!r}")
    account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    account.session_version += 1
    await session.flush()
    await audit.record(
        session,
        actor=None,
        action="web.password_reset",
        object_type="web_account",
        object_id=account.id,
        organisation_id=account.organisation_id,
    )
    return account


async def list_accounts(session: AsyncSession) -> list[WebAccount]:
    return list(await session.scalars(select(WebAccount).order_by(WebAccount.username)))


async def _address_blocked_until(
    session: AsyncSession, client_ip: str, now: dt.datetime
) -> dt.datetime | None:
    """When the address may try again, if it has too many recent failures; else None."""
    window = dt.timedelta(minutes=IP_WINDOW_MINUTES)
    times = list(
        await session.scalars(
            select(WebLoginFailure.at)
            .where(WebLoginFailure.client_ip == client_ip, WebLoginFailure.at > now - window)
            .order_by(WebLoginFailure.at)
        )
    )
    if len(times) < IP_MAX_FAILURES:
        return None
    # Free again when so many have aged out that one more try stays under the limit.
    return times[len(times) - IP_MAX_FAILURES] + window


async def _address_failed(
    session: AsyncSession, client_ip: str | None, now: dt.datetime
) -> dt.datetime | None:
    """Count a failure of the address (and forget those older than the window); the time
    the address is blocked until when this one reached the limit."""
    if not client_ip:
        return None
    window = dt.timedelta(minutes=IP_WINDOW_MINUTES)
    await session.execute(
        delete(WebLoginFailure)
        .where(WebLoginFailure.at <= now - window)
        .execution_options(synchronize_session=False)
    )
    session.add(WebLoginFailure(client_ip=client_ip[:45], at=now))
    await session.flush()
    until = await _address_blocked_until(session, client_ip[:45], now)
    if until is not None:
        log.warning("dashboard sign-in: %s blocked until %s", client_ip, until.isoformat())
    return until


async def authenticate(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    client_ip: str | None = None,
    now: dt.datetime | None = None,
) -> WebAccount:
    """The account when the password is right, the account is not locked and the client's
    address (``client_ip``) is not blocked; else :class:`LoginRefused`.

    The caller commits also on a refusal, so the failure counters are kept."""
    now = now or utcnow()
    if client_ip:
        blocked = await _address_blocked_until(session, client_ip[:45], now)
        if blocked is not None:
            raise LoginRefused("locked", until=blocked)
    account = await _by_username(session, username[:200])
    if account is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        blocked = await _address_failed(session, client_ip, now)
        raise LoginRefused("locked", until=blocked) if blocked else LoginRefused("invalid")
    if account.locked_until is not None and account.locked_until > now:
        raise LoginRefused("locked", until=account.locked_until)
    try:
        _hasher.verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        blocked = await _address_failed(session, client_ip, now)
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.failed_logins = 0
            account.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            await session.flush()
            await audit.record(
                session,
                actor=None,
                action="web.locked",
                object_type="web_account",
                object_id=account.id,
                organisation_id=account.organisation_id,
            )
            raise LoginRefused("locked", until=account.locked_until) from None
        await session.flush()
        if blocked is not None:
            raise LoginRefused("locked", until=blocked) from None
        raise LoginRefused("invalid") from None
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    await session.flush()
    return account


async def account_by_id(session: AsyncSession, account_id: int) -> WebAccount | None:
    return await session.get(WebAccount, account_id)
