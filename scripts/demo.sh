#!/usr/bin/env bash
# The demo hall on the embedded default: SQLite under var/, and a real Celery worker
# (with beat) fed through kombu's filesystem broker, so no database or Redis server
# is needed. The web is served as in production: gunicorn, with static files collected
# and served by WhiteNoise. Open http://127.0.0.1:8000 when it says so; Ctrl-C stops
# everything.
set -euo pipefail
# A demo is tried at any hour: the kiosk issues tickets outside the hall's opening hours
# unless started with HALL_HOURS_ENFORCED=true (then it shows the closed screen).
export HALL_HOURS_ENFORCED="${HALL_HOURS_ENFORCED:-false}"
# Readable log lines on the console (production logs one JSON line per request and task).
export LOG_FORMAT="${LOG_FORMAT:-plain}"
cd "$(dirname "$0")/.."
# One cache for the two web workers and the Celery worker (a folder, where production has
# Redis): a change one of them makes moves the polled screens' versions for all of them.
export CACHE_URL="${CACHE_URL:-file://$PWD/var/cache}"
bash scripts/setup-venv.sh
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py seed_demo
.venv/bin/python manage.py collectstatic --no-input -v0
mkdir -p var
.venv/bin/celery -A langzhong_si worker -B --pool=solo --loglevel=INFO \
  --schedule var/celerybeat-schedule > var/worker.log 2>&1 &
worker=$!
# The hall's devices, simulated (README, "Hall devices"): ID-card reader, QR scanner,
# signature pad and document camera on ws://127.0.0.1:17321; its QR codes verify under
# the demo key.
export ESSC_QR_VERIFIER="${ESSC_QR_VERIFIER:-devices.essc.SimulatorQrVerifier}"
.venv/bin/python manage.py device_bridge --simulate > var/device-bridge.log 2>&1 &
bridge=$!
trap 'kill $worker $bridge 2>/dev/null; wait $worker $bridge 2>/dev/null' EXIT INT TERM
echo
echo "Background worker and beat running (log: var/worker.log)."
echo "Simulated hall devices on ws://127.0.0.1:17321 (log: var/device-bridge.log)."
echo "Open http://127.0.0.1:8000/ to sign in; the kiosk, call display and rating pads open"
echo "from their links above (kept in var/demo-devices.txt)."
echo
# The production WSGI server (README, Production), sized for one machine.
.venv/bin/gunicorn langzhong_si.wsgi --bind 127.0.0.1:8000 --workers 2 --threads 4 \
  --error-logfile -
