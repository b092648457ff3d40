"""The import rules of pyproject.toml's [tool.importlinter] hold, and would catch each kind of break.

The rules and the rooms they protect: docs/architecture.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("affectwatch", "producer", "worker", "dashboard", "notifier", "upkeep", "modeling")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "400"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")], cwd=root,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_import_rules_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 kept, 0 broken" in done.stdout


def test_each_rule_breaks_when_its_line_is_crossed(tmp_path: Path) -> None:
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules", "weights"))
    crossings = {
        "producer/_crossing.py": "import torch\n",  # a process that must not load torch does
        "dashboard/_crossing.py": "from producer import supervisor\n",  # one process imports another
        "affectwatch/_crossing.py": "from affectwatch.cli import users\n",  # the shared package uses the CLI
        "notifier/_crossing.py": "from worker import jobs\n",  # a small process loads the worker
        "worker/_crossing.py": "from modeling import training\n",  # the worker imports the model lab
        "modeling/_crossing.py": "from worker import jobs\n",  # the model lab reaches past the worker's models
    }
    for name, line in crossings.items():
        (tmp_path / name).write_text(line)
    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "0 kept, 7 broken" in done.stdout, done.stdout
    for name in crossings:
        assert name.replace("/", ".").removesuffix(".py") in done.stdout
