#!/usr/bin/env bash
# Run the whole test suite against real Postgres and Redis (started or installed when missing), then lint and type-check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
say "lint (ruff) and types (mypy)"
ruff check .
mypy affectwatch producer worker dashboard
say "tests"
python -m pytest "$@"
