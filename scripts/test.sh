#!/usr/bin/env bash
# The test suite. Without variables it runs on SQLite and skips what needs Redis or
# PostgreSQL; with DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... it
# runs everything against them (as CI does). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
exec .venv/bin/python -m pytest "$@"
