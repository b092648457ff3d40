#!/usr/bin/env bash
# Set up and run the whole system locally: schema, a demo camera, producer, worker and dashboard.
# Ctrl-C stops everything. Settings come from AFFECTWATCH_* variables (see README).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
LOGS="${AFFECTWATCH_LOG_DIR:-$ROOT/.cache/logs}"
mkdir -p "$LOGS"
# Camera video files and image folders must lie here (the demo's video is written here too).
export AFFECTWATCH_MEDIA_ROOT="${AFFECTWATCH_MEDIA_ROOT:-$ROOT/media}"
mkdir -p "$AFFECTWATCH_MEDIA_ROOT"

say "migrating the database"
affectwatch migrate
if [ "${AFFECTWATCH_DEMO:-1}" = 1 ]; then
  say "registering the demo camera (a video made from real photographs)"
  affectwatch demo
fi

pids=()
start() {
  local name=$1; shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  pids+=($!)
  say "started $name (pid $!, log $LOGS/$name.log)"
}
stop() { say "stopping"; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

start producer affectwatch producer
for i in $(seq "${AFFECTWATCH_WORKERS:-1}"); do start "worker-$i" affectwatch worker; done
start dashboard affectwatch dashboard
start alerts affectwatch alerts scheduler
start history affectwatch history maintain

say "dashboard: http://${AFFECTWATCH_DASHBOARD_HOST:-127.0.0.1}:${AFFECTWATCH_DASHBOARD_PORT:-8000}/  (create a user: affectwatch user create --admin)"
say "watching expression events arrive (Ctrl-C stops everything)"
affectwatch events --follow
