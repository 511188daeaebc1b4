#!/usr/bin/env bash
# The whole test suite: lint, then pytest on SQLite and (when available) PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
url=$(scripts/ensure-postgres.sh)
if [ -n "$url" ]; then
  export TEST_POSTGRES_URL="$url"
  echo "PostgreSQL: ${url%%:gangmaker@*}:***@${url#*@}"
else
  echo "PostgreSQL: not available here, the PostgreSQL half of the suite is skipped"
  echo "            (install Debian's postgresql package or set TEST_POSTGRES_URL)"
fi
"$BIN/ruff" check .
"$BIN/pytest" -q "$@"
