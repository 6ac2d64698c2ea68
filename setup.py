"""Package layout beyond what pyproject.toml can say: the top-level folder ``models/`` (the model cards) is installed
as the package ``chromexpr.cards``, beside the library in ``src/``."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages("src", include=["chromexpr*"]), "chromexpr.cards"],
    package_dir={"": "src", "chromexpr.cards": "models"},
)
