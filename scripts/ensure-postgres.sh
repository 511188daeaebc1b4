#!/usr/bin/env bash
# Print a TEST_POSTGRES_URL for the test suite, starting a local PostgreSQL when one is installed.
# Uses TEST_POSTGRES_URL as given when set. Otherwise, with Debian's postgresql packages and root,
# starts the first cluster on loopback and creates a test role and database (idempotent).
# Prints nothing when no PostgreSQL can be had; the suite then runs on SQLite only.
set -u
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "$TEST_POSTGRES_URL"; exit 0
fi
command -v pg_lsclusters >/dev/null 2>&1 || exit 0
[ "$(id -u)" = 0 ] || exit 0
read -r version cluster port _ < <(pg_lsclusters --no-header | head -n 1)
[ -n "${version:-}" ] || exit 0
pg_ctlcluster "$version" "$cluster" start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 1
done
psql_pg() { runuser -u postgres -- psql -q -p "$port" -h 127.0.0.1 -tAc "$1" 2>/dev/null ||
            runuser -u postgres -- psql -q -p "$port" -tAc "$1"; }
[ "$(psql_pg "SELECT 1 FROM pg_roles WHERE rolname='gangmaker'")" = 1 ] ||
  psql_pg "CREATE ROLE gangmaker LOGIN PASSWORD 'gangmaker' CREATEDB" >/dev/null
[ "$(psql_pg "SELECT 1 FROM pg_database WHERE datname='gangmaker_test'")" = 1 ] ||
  psql_pg "CREATE DATABASE gangmaker_test OWNER gangmaker" >/dev/null
echo "postgresql+asyncpg://gangmaker:gangmaker@127.0.0.1:${port}/gangmaker_test"
