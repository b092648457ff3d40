"""How many cases each fuzz test tries: its default times AFFECTWATCH_FUZZ_SCALE (1 in the suite; e.g. 10
for a long run: AFFECTWATCH_FUZZ_SCALE=10 pytest tests/test_fuzz_*.py --hypothesis-show-statistics)."""

from __future__ import annotations

import os


def examples(n: int) -> int:
    return max(1, int(n * float(os.environ.get("AFFECTWATCH_FUZZ_SCALE", "1"))))
