#!/usr/bin/env bash
# The upgrade rehearsal CI runs: build a database with the previous release (its own
# migrations, the catalog, a simulated day), then either (the release has `backup`) back
# it up with that release and `restore_drill --migrate` it with this one, or (older) run
# this release's migrations on it, back it up and drill the bundle; either way the
# upgraded copy must prove whole (migrations, row counts, audit chain, scans, keys).
# Usage: scripts/upgrade_check.sh [GIT_REF]
#   GIT_REF: the release to upgrade from (a tag, a branch or a commit). Default: the newest
#   tag before HEAD, else UPGRADE_BASELINE: a fixed earlier commit of main, the last
#   release-like point, until the project tags its releases. CI clones main in full, so the
#   commit is there; a shallow clone needs `git fetch --unshallow` first.
# Needs PostgreSQL at 127.0.0.1 (DATABASE_URL's server); uses database <name>_upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."
UPGRADE_BASELINE=e6eeec688afacecacf7303d53e60de63cd3d34de
PYTHON="${PYTHON:-.venv/bin/python}"
case "$PYTHON" in /*) ;; *) PYTHON="$PWD/$PYTHON" ;; esac  # the old checkout runs it too
ref="${1:-$(git describe --tags --abbrev=0 HEAD^ 2>/dev/null || echo "$UPGRADE_BASELINE")}"
if ! git cat-file -e "$ref^{commit}" 2>/dev/null; then
  echo "upgrade check: $ref is not a commit of this clone (a shallow clone? git fetch --unshallow)" >&2
  exit 1
fi
if git merge-base --is-ancestor HEAD "$ref"; then
  echo "upgrade check: $ref is not earlier than HEAD, nothing to rehearse" >&2
  exit 1
fi
echo "upgrade check: from $(git rev-parse --short "$ref") ($(git log -1 --format=%s "$ref" | cut -c1-60)) to $(git rev-parse --short HEAD)"
base_url="${DATABASE_URL:?set DATABASE_URL=postgres://...}"
url="${base_url%/*}/$(basename "${base_url##*/}")_upgrade"
old="$(mktemp -d)"
work="$(mktemp -d)"
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$old" "$ref" >/dev/null
psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"$(basename "$url")\"" -c "CREATE DATABASE \"$(basename "$url")\""
export LANGZHONG_VAR_DIR="$work/var" CELERY_TASK_ALWAYS_EAGER=true
(cd "$old" && DATABASE_URL="$url" "$PYTHON" manage.py migrate --no-input -v 0 \
  && DATABASE_URL="$url" "$PYTHON" manage.py load_catalog -v 0 \
  && DATABASE_URL="$url" "$PYTHON" manage.py simulate_hall --from 2018-07-02 --to 2018-07-02 --seed 7 \
  && DATABASE_URL="$url" "$PYTHON" manage.py export_audit_head)
if [ -f "$old/backups/management/commands/backup.py" ] || [ -f "$old/operations/management/commands/backup.py" ]; then
  # The release has `backup`: its bundle, restored and migrated forward by this release.
  (cd "$old" && DATABASE_URL="$url" "$PYTHON" manage.py backup --directory "$work/backups")
  migrate="--migrate"
else
  # Older than backups: migrate its database forward in place (README's upgrade step 4),
  # then this release's bundle of the upgraded database must restore and prove whole.
  DATABASE_URL="$url" "$PYTHON" manage.py migrate --no-input -v 0
  DATABASE_URL="$url" "$PYTHON" manage.py backup --directory "$work/backups"
  migrate=""
fi
DATABASE_URL="$url" "$PYTHON" manage.py restore_drill $migrate --no-record "$(ls -d "$work"/backups/langzhong-* | tail -1)"
psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"$(basename "$url")\""
