"""How many cases each fuzz test tries: its default times AFFECTWATCH_FUZZ_SCALE (1 in the suite; e.g. 10
for a long run: AFFECTWATCH_FUZZ_SCALE=10 pytest tests/test_fuzz_*.py --hypothesis-show-statistics)."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

CASES = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")


def examples(n: int) -> int:
    return max(1, int(n * float(os.environ.get("AFFECTWATCH_FUZZ_SCALE", "1"))))


class CaseCounter:
    """Cases each property-based test ran, from hypothesis's own statistics, summed per test file.

    The suite prints the table at its end; AFFECTWATCH_FUZZ_REPORT=PATH also writes it as JSON.
    """

    def __init__(self) -> None:
        self.files: dict[str, Counter[str]] = {}

    def add(self, nodeid: str, statistics: str) -> None:
        counts = self.files.setdefault(nodeid.split("::")[0], Counter())
        counts["tests"] += 1
        for passing, failing, invalid in CASES.findall(statistics):
            counts["passing"] += int(passing)
            counts["failing"] += int(failing)
            counts["invalid"] += int(invalid)

    def lines(self) -> list[str]:
        total: Counter[str] = sum(self.files.values(), Counter())
        rows = [f"{name}: {c['passing'] + c['failing'] + c['invalid']} cases in {c['tests']} tests "
                f"({c['passing']} passing, {c['failing']} failing, {c['invalid']} invalid)"
                for name, c in sorted(self.files.items())]
        return [*rows, f"all: {total['passing'] + total['failing'] + total['invalid']} cases in {total['tests']}"
                       f" property-based tests ({total['failing']} failing)"]

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({name: dict(c) for name, c in self.files.items()}, indent=2))
