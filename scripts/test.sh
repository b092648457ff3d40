#!/usr/bin/env bash
# Run the whole test suite against real Postgres and Redis (started or installed when missing), then lint and type-check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
say "lint (ruff), types (mypy) and the import rules (lint-imports, see docs/architecture.md)"
ruff check .
mypy affectwatch producer worker dashboard notifier upkeep modeling
lint-imports
say "tests"
python -m pytest "$@"
