"""Files that ship inside the chromexpr package: model cards (the repository's ``models/``) and reference tables.

They are package data, found through ``importlib.resources`` the same way by the library, the
workflow and an installed wheel (no path relative to a repository checkout)::

    from chromexpr.shipped import shipped_file
    shipped_file("published_auroc.tsv")   # published AUROCs shown beside ours in the report
    shipped_file("demo/genes.tsv")        # the embedded demo: real REMC genes on chr17, chr19-22

A config value may name a shipped file as ``chromexpr:<name>`` (e.g.
``source.remc.chrom_sizes: chromexpr:hg19.chrom.sizes``); ``resolve_data_path`` turns it into a path.
``data/README.md`` inside the package says where each table comes from.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path, sha256sum

#: prefix of a config value that names a file shipped with chromexpr.
SHIPPED_PREFIX = "chromexpr:"
_DATA_SUFFIXES = (".tsv", ".sizes", ".gz")


def _package_dir(sub: str) -> Path:
    root = resources.files("chromexpr") / sub
    path = Path(str(root))
    if not path.is_dir():  # pragma: no cover - only if the package was installed without its data
        raise InputError(
            f"the chromexpr package has no '{sub}' folder ({path})",
            hint="reinstall chromexpr from a wheel or source tree that includes its package data",
        )
    return path


def data_dir() -> Path:
    """The folder of shipped reference tables (``chromexpr/data``)."""
    return _package_dir("data")


def cards_dir() -> Path:
    """The folder of shipped model cards (``<name>.yaml``): the package ``chromexpr.cards``, which is the
    repository's top-level ``models/`` folder (``setup.py``)."""
    path = Path(str(resources.files("chromexpr.cards")))
    if not path.is_dir():  # pragma: no cover - only if the package was installed without its data
        raise InputError(
            f"the chromexpr package has no model cards ({path})",
            hint="reinstall chromexpr from a wheel or source tree that includes its package data",
        )
    return path


def shipped_names() -> list[str]:
    """Every shipped data file, as the name ``shipped_file`` takes (``demo/genes.tsv``, ...)."""
    root = data_dir()
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name.endswith(_DATA_SUFFIXES)
    )


def shipped_file(name: str) -> Path:
    """Path of the shipped data file ``name`` (relative to ``chromexpr/data``).

    Raises:
        InputError: when no such file ships, listing the ones that do.
    """
    path = data_dir() / name
    if not path.is_file() or name not in shipped_names():
        raise InputError(
            f"chromexpr ships no file '{name}'",
            hint=f"shipped files: {', '.join(shipped_names())}",
        )
    return path


def is_shipped(value: str) -> bool:
    """Whether a config value names a shipped file (``chromexpr:<name>``)."""
    return isinstance(value, str) and value.startswith(SHIPPED_PREFIX)


def resolve_data_path(value: str | Path) -> Path:
    """A config path value: ``chromexpr:<name>`` -> the shipped file, anything else -> ``Path(value)``."""
    if is_shipped(str(value)):
        return shipped_file(str(value)[len(SHIPPED_PREFIX) :])
    return Path(value)


def stage_shipped_file(name: str, out: str | Path, *, sha256: str | None = None) -> Path:
    """Copy the shipped file ``name`` to ``out`` (atomically); check its sha256 when given.

    Raises:
        InputError: when the package's file no longer has the expected checksum (the package
            changed between building the DAG and running the job).
    """
    src = shipped_file(name)
    data = src.read_bytes()
    if sha256 is not None and sha256sum(src) != sha256:
        raise InputError(
            f"the shipped file '{name}' changed while the workflow ran",
            path=src,
            hint="run snakemake again: the jobs that read it will be re-run",
        )
    with atomic_path(out) as tmp:
        Path(tmp).write_bytes(data)
    return Path(out)
