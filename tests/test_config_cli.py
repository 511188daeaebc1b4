"""Start-up behaviour a person running the service notices: settings errors and the CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PORT"}}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def test_default_database_is_a_sqlite_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///gangmaker.db"


def test_platform_postgres_url_gets_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/app")
    assert Settings(_env_file=None).database_url == "postgresql+asyncpg://u:p@db:5432/app"  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://nope"),
        ("PORT", "eighty"),
        ("TIMEZONE", "Mars/Olympus"),
        ("DEFAULT_LANGUAGE", "xx"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_setting_stops_with_one_line_naming_the_variable(
    name: str, value: str, tmp_path: Path
) -> None:
    result = run_cli("db", "current", env={name: value}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0] and "expected" in lines[0]
    assert "Traceback" not in result.stderr


def test_help_lists_the_subcommands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("chat", "db", "demo", "i18n"):
        assert command in result.stdout


def test_db_upgrade_creates_the_schema_in_an_empty_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    result = run_cli(
        "db", "upgrade", env={"DATABASE_URL": f"sqlite+aiosqlite:///{db}"}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    tables = {
        row[0]
        for row in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {"street", "budget_request", "delivery", "audit_log", "alembic_version"} <= tables


def test_procfile_runs_migrations_on_release() -> None:
    procfile = (ROOT / "Procfile").read_text()
    assert "release: gangmaker db upgrade" in procfile
