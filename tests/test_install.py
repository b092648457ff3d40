"""The package installs: a wheel built from this tree, installed without -e, migrates a fresh database.

The wheel goes into a scratch virtual environment that sees this environment's packages (torch,
psycopg, ...) through a .pth line but not its editable install of AffectWatch, and is run outside
the checkout with no PYTHONPATH, so only the installed copy can answer.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from affectwatch.config import Config
from affectwatch.exceptions import MigrationError
from affectwatch.migrate import discover, migrate
from tests.conftest import SERVER_URL, _admin

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("affectwatch", "producer", "worker", "dashboard", "notifier", "upkeep", "modeling")
SOURCES = ("pyproject.toml", "setup.py", "README.md", *PACKAGES, "migrations")
NOT_INSTALLED = ("modeling/research", "modeling/bench")  # setup.py leaves them out of the wheel


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch environment with the wheel installed; its python."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"  # a copy, so that the build leaves nothing (build/, *.egg-info) in the checkout
    source.mkdir()
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
        else:
            shutil.copy2(item, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", work / "dist",
          source], cwd=work)
    (wheel,) = (work / "dist").glob("affectwatch-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], cwd=work)
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work).strip())
    (purelib / "shared-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel], cwd=work)
    return python


def _scratch_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("AFFECTWATCH_")}
    return {**env, **extra}


def test_the_installed_copy_answers_with_its_own_migrations(installed: Path) -> None:
    code = ("import affectwatch, affectwatch.migrate as m; found = m.discover();"
            " print(affectwatch.__file__); print(found[0].path); print(len(found))")
    out = _run([installed, "-c", code], cwd=installed.parent, env=_scratch_env())
    module, first, count = out.split("\n")[:3]
    venv = installed.parent.parent
    assert Path(module).is_relative_to(venv) and "site-packages" in module, module
    assert Path(first).is_relative_to(venv) and Path(first).parent.name == "migrations", first
    assert int(count) == len(list((ROOT / "migrations").glob("*.sql")))


def test_installed_affectwatch_migrate_builds_a_fresh_database(installed: Path) -> None:
    name = f"affectwatch_install_{os.getpid()}"
    url = psycopg.conninfo.make_conninfo(SERVER_URL, dbname=name)
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    try:
        out = _run([installed.parent / "affectwatch", "migrate"], cwd=installed.parent,
                   env=_scratch_env(AFFECTWATCH_DATABASE_URL=url))
        expected = sorted(p.name for p in (ROOT / "migrations").glob("*.sql"))
        assert f"applied {len(expected)} migration(s)" in out
        with psycopg.connect(url) as conn:
            versions = [int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
            tables = {str(r[0]) for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert versions == [int(n[:4]) for n in expected]
        assert {"cameras", "residents", "frames", "faces", "alerts", "users"} <= tables
        again = _run([installed.parent / "affectwatch", "migrate"], cwd=installed.parent,
                     env=_scratch_env(AFFECTWATCH_DATABASE_URL=url))
        assert "applied 0 migration(s)" in again
    finally:
        with _admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_no_migrations_is_an_error_not_an_empty_success(tmp_path: Path, base_config: Config) -> None:
    with pytest.raises(MigrationError, match="no migrations"):
        discover(tmp_path)
    with pytest.raises(MigrationError, match="no migrations"):
        migrate(base_config, tmp_path)
    with pytest.raises(MigrationError, match="no migrations"):
        discover(tmp_path / "absent")


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    requirements = [*project["dependencies"], *(r for extra in extras for r in extra)]
    return {_canonical(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]) for r in requirements}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported() -> dict[str, set[str]]:
    """Top-level third-party names imported by the installed packages, and the files importing each."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.relative_to(ROOT).as_posix().startswith(NOT_INSTALLED):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in PACKAGES:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _distributions(module: str) -> list[str]:
    """The installed distributions that hold a top-level module: by their top_level.txt, or failing that by the
    files they installed (dlib-bin's top_level.txt names only its extension, not the dlib package)."""
    named = metadata.packages_distributions().get(module)
    if named:
        return named
    found = [d.metadata["Name"] for d in metadata.distributions()
             if any(f.parts[0] in (module, f"{module}.py") for f in d.files or [])]
    return found or [module]


def test_every_imported_package_is_declared() -> None:
    declared = _declared()
    undeclared = {name: sorted(files) for name, files in _imported().items()
                  if not {_canonical(d) for d in _distributions(name)} & declared}
    assert not undeclared, f"imported but not in pyproject.toml's dependencies or extras: {undeclared}"


def test_the_image_copies_what_the_wheel_is_built_from() -> None:
    """The Dockerfile installs from the same files as the wheel above (setup.py included)."""
    copied = {name.rstrip("/") for line in (ROOT / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ") and "--from" not in line for name in line.split()[1:-1]}
    assert set(SOURCES) <= copied, f"the Dockerfile does not copy {sorted(set(SOURCES) - copied)}"
