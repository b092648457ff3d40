#!/usr/bin/env bash
# Make docker-compose.yml's secrets in ./secrets (once, on a home's first day; docs/deploy.md step 1):
# the dashboard's session key, the database owner's password and URL, and a login of its own for the
# producer, the workers and the dashboard (made by `affectwatch migrate`, each with only its role's rights).
# Files that exist are kept, so running it again changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
mkdir -p secrets
make() { [ -s "secrets/$1" ] || { "${@:2}" > "secrets/$1"; echo "made secrets/$1"; }; }
make secret_key openssl rand -hex 32
make db_password openssl rand -hex 16
make database_url printf 'postgresql://affectwatch:%s@postgres:5432/affectwatch\n' "$(cat secrets/db_password)"
for service in producer worker dashboard; do
  make "${service}_db_password" openssl rand -hex 16
  make "database_url_${service}" printf 'postgresql://affectwatch_%s_login:%s@postgres:5432/affectwatch\n' \
    "$service" "$(cat "secrets/${service}_db_password")"
done
