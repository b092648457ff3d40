"""Which folders the wheel holds; everything else about the package is in pyproject.toml.

New migrations are written where they always were, as migrations/NNNN_name.sql at the top of the
repository. The wheel ships that folder inside the package, as `affectwatch.migrations`, so an
installed `affectwatch migrate` finds it with importlib.resources (affectwatch/migrate.py).
pyproject.toml cannot map one folder onto a package while also finding the others, hence this file.
The model lab's research scripts and benchmarks (modeling/research, modeling/bench) are not installed.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["affectwatch*", "producer*", "worker*", "dashboard*", "notifier*",
                                                "upkeep*", "modeling*"],
                                       exclude=["modeling.research*", "modeling.bench*"]),
              "affectwatch.migrations"],
    package_dir={"affectwatch.migrations": "migrations"},
)
