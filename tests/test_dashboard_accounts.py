"""Dashboard accounts from the command line, and the settings the dashboard needs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings, describe_error
from bot.db import make_engine, make_sessionmaker, transaction
from bot.services import web_accounts

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long enough password"


def gangmaker(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{db}"
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_dashboard_on_needs_a_secret_key() -> None:
    with pytest.raises(ValidationError) as missing:
        Settings(_env_file=None, dashboard=True)  # type: ignore[call-arg]
    assert "DASHBOARD_SECRET_KEY is missing" in describe_error(missing.value)
    with pytest.raises(ValidationError) as short:
        Settings(_env_file=None, dashboard=True, dashboard_secret_key="short")  # type: ignore[call-arg]
    assert "too short" in describe_error(short.value)
    ok = Settings(_env_file=None, dashboard=True, dashboard_secret_key="k" * 32)  # type: ignore[call-arg]
    assert ok.dashboard_secure_cookie is True


def test_users_create_list_reset_and_sign_in(tmp_path: Path) -> None:
    db = tmp_path / "users.db"
    assert gangmaker(db, "db", "upgrade").returncode == 0
    assert gangmaker(db, "demo").returncode == 0

    created = gangmaker(
        db, "users", "create", "sanne", "--role", "leader", "--area", "Delfshaven",
        "--area", "Charlois", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "sanne" in created.stdout

    # A theme lead: one street theme in every area, typed in English or Dutch.
    themed = gangmaker(db, "users", "create", "gijs", "--role", "theme_lead", "--theme", "Groen",
                       "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert themed.returncode == 0, themed.stderr
    no_theme = gangmaker(db, "users", "create", "x3", "--role", "theme_lead", "--theme", "paars",
                         "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert no_theme.returncode == 2 and "paars" in no_theme.stderr

    short = gangmaker(db, "users", "create", "x1", "--role", "admin", "--password-stdin",
                      stdin="short\n")  # fmt: skip
    assert short.returncode == 2 and "at least" in short.stderr
    unknown = gangmaker(db, "users", "create", "x2", "--role", "leader", "--area", "Atlantis",
                        "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert unknown.returncode == 2 and "Atlantis" in unknown.stderr
    taken = gangmaker(db, "users", "create", "sanne", "--role", "admin", "--password-stdin",
                      stdin=PASSWORD + "\n")  # fmt: skip
    assert taken.returncode == 2 and "taken" in taken.stderr

    listed = gangmaker(db, "users", "list")
    assert listed.returncode == 0
    assert "sanne\tleader:Charlois, leader:Delfshaven" in listed.stdout or (
        "sanne\tleader:Delfshaven, leader:Charlois" in listed.stdout
    )
    assert "gijs\ttheme_lead:green" in listed.stdout
    assert "x1" not in listed.stdout and "x2" not in listed.stdout and "x3" not in listed.stdout

    async def sign_in(password: str) -> object:
        engine = make_engine(f"sqlite+aiosqlite:///{db}")
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                try:
                    return await web_accounts.authenticate(
                        session, username="Sanne", password=password
                    )
                except web_accounts.LoginRefused as refused:
                    return refused.reason
        finally:
            await engine.dispose()

    assert getattr(asyncio.run(sign_in(PASSWORD)), "username", None) == "sanne"
    reset = gangmaker(db, "users", "reset-password", "sanne", "--password-stdin",
                      stdin="another long password\n")  # fmt: skip
    assert reset.returncode == 0
    assert asyncio.run(sign_in(PASSWORD)) == "invalid"
    assert getattr(asyncio.run(sign_in("another long password")), "username", None) == "sanne"
