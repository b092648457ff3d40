#!/usr/bin/env bash
# A self-signed TLS certificate for the compose proxy, until the home has one from its own authority:
#   scripts/make_tls_cert.sh affectwatch.home.example [DAYS]
# writes secrets/tls/fullchain.pem and secrets/tls/privkey.pem (an existing pair is kept; delete it to renew).
# Browsers warn about a self-signed certificate until it is trusted on each tablet (docs/deploy.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST="${1:?usage: scripts/make_tls_cert.sh HOSTNAME [DAYS]}"
DAYS="${2:-825}"
OUT="${AFFECTWATCH_TLS_DIR:-$ROOT/secrets/tls}"
if [ -s "$OUT/fullchain.pem" ] && [ -s "$OUT/privkey.pem" ]; then
  echo "$OUT already holds a certificate; delete it to make a new one" >&2
  exit 0
fi
mkdir -p "$OUT"
case "$HOST" in
  *[!0-9.]*) SAN="DNS:$HOST,DNS:localhost,IP:127.0.0.1" ;;
  *) SAN="IP:$HOST,DNS:localhost,IP:127.0.0.1" ;;
esac
umask 077
openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days "$DAYS" -subj "/CN=$HOST" \
  -addext "subjectAltName=$SAN" -addext "basicConstraints=critical,CA:FALSE" \
  -addext "extendedKeyUsage=serverAuth" -keyout "$OUT/privkey.pem" -out "$OUT/fullchain.pem" 2>/dev/null
chmod 644 "$OUT/fullchain.pem"
echo "wrote $OUT/fullchain.pem and $OUT/privkey.pem for $HOST ($SAN), valid $DAYS days"
openssl x509 -in "$OUT/fullchain.pem" -noout -fingerprint -sha256
