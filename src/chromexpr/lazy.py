"""Lazy package exports (PEP 562): a package names what it re-exports, and each name's module is
imported on first access.

The Snakefile imports chromexpr while it builds the DAG (config checks, card validation, the file
lists of each report section); with eager package ``__init__`` files that meant importing torch,
scikit-learn, scipy and matplotlib, seconds of every ``snakemake`` call, for none of which they are
needed. A package ``__init__`` writes::

    __getattr__, __dir__ = lazy_exports(__name__, {"build_report": "single_cell", ...})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps an exported name to the submodule
    (relative to the package) that defines it; the value is cached in the package once loaded."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
