#!/usr/bin/env bash
# The upgrade rehearsal CI runs: build a database with the previous release (its own
# migrations, the catalog, a simulated day), back it up with this release's `backup`,
# then `restore_drill --migrate` restores it into a scratch database, applies this
# release's migrations and proves it whole (row counts, audit chain, scans, keys).
# Usage: scripts/upgrade_check.sh [PREVIOUS_TAG]   (default: the newest tag before HEAD)
# Needs PostgreSQL at 127.0.0.1 (DATABASE_URL's server); uses database <name>_upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
case "$PYTHON" in /*) ;; *) PYTHON="$PWD/$PYTHON" ;; esac  # the old checkout runs it too
tag="${1:-$(git describe --tags --abbrev=0 HEAD^ 2>/dev/null || true)}"
if [ -z "$tag" ]; then
  echo "upgrade check: no release tag before HEAD yet, nothing to rehearse"
  exit 0
fi
base_url="${DATABASE_URL:?set DATABASE_URL=postgres://...}"
url="${base_url%/*}/$(basename "${base_url##*/}")_upgrade"
old="$(mktemp -d)"
work="$(mktemp -d)"
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$old" "$tag" >/dev/null
psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"$(basename "$url")\"" -c "CREATE DATABASE \"$(basename "$url")\""
export LANGZHONG_VAR_DIR="$work/var" CELERY_TASK_ALWAYS_EAGER=true
(cd "$old" && DATABASE_URL="$url" "$PYTHON" manage.py migrate --no-input -v 0 \
  && DATABASE_URL="$url" "$PYTHON" manage.py load_catalog -v 0 \
  && DATABASE_URL="$url" "$PYTHON" manage.py simulate_hall --from 2018-07-02 --to 2018-07-02 --seed 7 \
  && DATABASE_URL="$url" "$PYTHON" manage.py export_audit_head)
DATABASE_URL="$url" "$PYTHON" manage.py backup --directory "$work/backups"
DATABASE_URL="$url" "$PYTHON" manage.py restore_drill --migrate --no-record "$(ls -d "$work"/backups/langzhong-* | tail -1)"
psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"$(basename "$url")\""
