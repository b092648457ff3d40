#!/usr/bin/env bash
# Prepare a machine to run or test AffectWatch: Python environment, Postgres, Redis, schema.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again (it only does what is missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AFFECTWATCH_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

apt_install() {
  say "installing with apt: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_python() {
  command -v "$PY" >/dev/null || apt_install python3 python3-venv python3-pip
  "$PY" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv python3-pip
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the Python environment in $VENV"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.affectwatch-installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/setup.py" -nt "$stamp" ]; then
    say "installing AffectWatch and its dependencies (torch is large: the first time takes a while)"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e "$ROOT[worker,modeling,demo,dev]"
    touch "$stamp"
  fi
}

pg_up() { "$VENV/bin/python" - <<'PY' 2>/dev/null
import os, psycopg
url = os.environ.get("AFFECTWATCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
psycopg.connect(psycopg.conninfo.make_conninfo(url, dbname="postgres"), connect_timeout=3).close()
PY
}

ensure_postgres() {
  pg_up && return 0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    local hba; hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
    say "allowing local connections on 127.0.0.1 without a password (a development machine; see README)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  local version; version=$(ls /etc/postgresql | sort -n | tail -1)
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 30); do pg_up && return 0; sleep 1; done
  echo "PostgreSQL does not answer; set AFFECTWATCH_DATABASE_URL" >&2; return 1
}

redis_up() { "$VENV/bin/python" -c "import os, redis; redis.Redis.from_url(os.environ.get('AFFECTWATCH_REDIS_URL', 'redis://127.0.0.1:6379/0'), socket_connect_timeout=3).ping()" 2>/dev/null; }

ensure_redis() {
  redis_up && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 30); do redis_up && return 0; sleep 1; done
  echo "Redis does not answer; set AFFECTWATCH_REDIS_URL" >&2; return 1
}

ensure_dashboard_assets() {
  [ -f "$ROOT/dashboard/package.json" ] || return 0
  [ -f "$ROOT/dashboard/node_modules/.package-lock.json" ] && [ "$ROOT/dashboard/node_modules/.package-lock.json" -nt "$ROOT/dashboard/package-lock.json" ] && return 0
  command -v npm >/dev/null || apt_install nodejs npm
  say "installing the dashboard's chart library and API browser with npm"
  npm ci --prefix "$ROOT/dashboard" --no-audit --no-fund --silent --ignore-scripts
}

ensure_python
ensure_dashboard_assets
ensure_postgres
ensure_redis
export PATH="$VENV/bin:$PATH"
