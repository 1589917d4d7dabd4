#!/usr/bin/env bash
# The tests: set up .venv if needed, lint and format-check with ruff, then run every package's
# tests (extra arguments go to pytest).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KIWI_FOR_TESTS=1 "$root/scripts/bootstrap.sh"
cd "$root"
"$root/.venv/bin/ruff" check --quiet . || { echo "ruff check failed (fix, or: .venv/bin/ruff check --fix .)" >&2; exit 1; }
"$root/.venv/bin/ruff" format --check --quiet . || { echo "ruff format: files above need .venv/bin/ruff format ." >&2; exit 1; }
exec "$root/.venv/bin/python" -m pytest "$@"
