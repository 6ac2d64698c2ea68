"""The files and tables a config names, read and checked before any job runs.

``check_inputs`` is the second half of the checks a run makes while its DAG is built (the first is
``chromexpr.dag.check_config``, the config's keys): the source's files and tables (the ``local`` files table,
the ``processed`` split files, the annotation, expression matrix and chromosome sizes, the published-numbers
table, the REMC checksums), then each enabled experiment's own (``read`` of its ``inputs`` module: the
differential counts matrix, the predict samples table). The Snakefile (``rules/common.smk``) and ``chromexpr check-config``
call the same two functions in the same order, so a config that one refuses the other refuses with the same
message, and the rules use what ``check_inputs`` read instead of reading the tables again.

A path is read as the workflow reads it: ``resolve`` turns a configured path into a readable one (the working
directory, else the checkout), and ``chromexpr:<name>`` names a file shipped inside the package.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chromexpr.errors import InputError
from chromexpr.experiments import registry
from chromexpr.shipped import SHIPPED_PREFIX, is_shipped, shipped_file

#: files this workflow makes that a user's table may name before they exist, by source: the demo's simulated
#: reads and the REMC downloads (``{cell}`` one of ``cells``, ``{mark}`` one of ``marks``)
WORKFLOW_READS = {
    "demo": "resources/demo/{cell}-{mark}.tagAlign.gz",
    "remc": "resources/remc/{cell}-{mark}.tagAlign.gz",
}
#: the REMC source's downloads, checked once they are there
REMC_EXPRESSION = "resources/remc/expression.tsv.gz"
REMC_COUNTS = "resources/remc/counts.tsv.gz"
#: where the workflow stages the shipped files its jobs read (rules/shipped.smk)
STAGED = "resources/shipped/"

Resolve = Callable[[str], Any]


@dataclass(frozen=True)
class Paths:
    """How a run reads what a config names: ``resolve`` turns a configured path into a readable one, ``schemas``
    is the workflow's ``config/schemas`` folder (the JSON schema of each user table)."""

    resolve: Resolve
    schemas: Path

    def table(self, path: str | Path, schema: str) -> Any:
        """A TSV table of the user's, checked row by row against ``schemas/<schema>`` (errors name the file, the
        line and the column)."""
        from chromexpr.dag import read_user_table

        return read_user_table(path, Path(self.schemas) / schema)


@dataclass
class Inputs:
    """What ``check_inputs`` read: the source's file tables and checksums, and each enabled experiment's own
    (``experiments[name]``, what its ``inputs.read`` returned)."""

    local_files: dict[tuple[str, str], str] = field(default_factory=dict)
    processed_files: dict[tuple[str, str], str] = field(default_factory=dict)
    checksums: dict[str, dict[str, str]] = field(default_factory=dict)
    experiments: dict[str, Any] = field(default_factory=dict)


def repo_or_cwd(repo: str | Path) -> Resolve:
    """How the workflow reads a user path from the config: relative to the working directory when it is there,
    else to the checkout ``repo`` (then absolute, so such inputs move only together with the checkout)."""

    def resolve(path: str) -> str:
        p = Path(path)
        if p.is_absolute() or p.exists():
            return str(p)
        return str(Path(repo) / p)

    return resolve


def config_path(config: Mapping[str, Any], key: str, resolve: Resolve, *, must_exist: bool = True) -> Path:
    """The file the config value at dotted ``key`` names: a shipped file (``chromexpr:<name>``) inside the
    package, else the user's path through ``resolve``.

    Raises:
        InputError: naming the key: no such shipped file, no value, or (``must_exist``) no such file.
    """
    value = registry.config_block(config, key)
    if is_shipped(value):
        try:
            return shipped_file(value[len(SHIPPED_PREFIX) :])
        except InputError as err:  # the same message, naming the key
            raise InputError(err.message, key=key, hint=f"{err.hint}; or give a path to your own file") from None
    if not value:
        raise InputError("no file given", key=key, hint="set it to the path of your file")
    path = Path(resolve(str(value)))
    if must_exist and not path.exists():
        raise InputError(
            f"file '{value}' not found (looked in the working directory and the repository)",
            key=key,
            hint="fix the path, or give it relative to the directory you run snakemake in",
        )
    return path


def job_input(config: Mapping[str, Any], key: str, resolve: Resolve, *, must_exist: bool = True) -> str:
    """The config value at dotted ``key`` as a job's input path: a shipped file is staged into
    ``resources/shipped/<name>`` (so a finished project moves without re-running), a user's path is taken through
    ``resolve``; checked as ``config_path`` checks it."""
    return as_job_input(config, key, config_path(config, key, resolve, must_exist=must_exist))


def as_job_input(config: Mapping[str, Any], key: str, path: Path) -> str:
    """``path``, the file ``config_path`` found for ``key``, as a job's input (see ``job_input``)."""
    value = registry.config_block(config, key)
    return f"{STAGED}{value[len(SHIPPED_PREFIX) :]}" if is_shipped(value) else str(path)


def check_duplicates(table: Any, keys: Sequence[str], path: str | Path) -> None:
    """A row of a table read with ``chromexpr.dag.read_user_table`` listed twice (by ``keys``) is an error naming
    the file and the row's line (``attrs["lines"]``)."""
    dup = table.duplicated(list(keys), keep=False)
    if dup.any():
        position = int(dup.to_numpy().nonzero()[0][0])
        row = table[dup].iloc[0]
        raise InputError(
            f"{', '.join(str(row[k]) for k in keys)} is listed more than once",
            path=path,
            line=table.attrs["lines"][position],
            hint="keep one row for it",
        )


def missing_file(path: str) -> str:
    """A missing file a table names, for a message: as written, and where a relative one was looked for."""
    return path if Path(path).is_absolute() else f"{path} (looked in the working directory and the repository)"


def made_by_workflow(path: str, config: Mapping[str, Any]) -> bool:
    """Whether ``path`` (as a table writes it) is a file this workflow makes for the configured source
    (``WORKFLOW_READS``): only then may it be missing while the DAG is built."""
    pattern = WORKFLOW_READS.get(str(config["source"]["kind"]))
    if pattern is None:
        return False
    cells = "|".join(map(re.escape, config["cells"]))
    marks = "|".join(map(re.escape, config["marks"]))
    regex = re.escape(pattern).replace(r"\{cell\}", f"(?:{cells})").replace(r"\{mark\}", f"(?:{marks})")
    return re.fullmatch(regex, path) is not None


def user_file(path: str, config: Mapping[str, Any], resolve: Resolve) -> str:
    """A file a user's table names, as a job's input: the workflow's own (``made_by_workflow``) as written,
    else through ``resolve``."""
    return path if made_by_workflow(path, config) else str(resolve(path))


# --- the source's files and tables ------------------------------------------------------------------


def _local_files(config: Mapping[str, Any], paths: Paths) -> dict[tuple[str, str], str]:
    """The ``local`` source's files table: a file for every configured cell and mark, each one there."""
    resolve = paths.resolve
    path = str(resolve(config["source"]["local"]["files"]))
    table = paths.table(path, "files.schema.yaml")
    check_duplicates(table, ["cell", "mark"], path)
    cells, marks = list(config["cells"]), list(config["marks"])
    have = set(zip(table["cell"], table["mark"], strict=True))
    missing = [f"{c}/{m}" for c in cells for m in marks if (c, m) not in have]
    if missing:
        raise InputError(
            f"no file for {len(missing)} cell/mark pairs ({', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''})",
            path=path,
            hint="add a row 'cell mark path' for each, or remove the cell or mark from the config",
        )
    files = {(r.cell, r.mark): str(resolve(r.path)) for r in table.itertuples()}
    for row in table.itertuples():
        if row.cell in cells and row.mark in marks and not Path(files[(row.cell, row.mark)]).is_file():
            raise InputError(
                f"the file of {row.cell}/{row.mark} does not exist: {missing_file(row.path)}",
                path=path,
                hint="fix the path (relative paths are taken from the working directory)",
            )
    return files


def _processed_files(config: Mapping[str, Any], paths: Paths) -> dict[tuple[str, str], str]:
    """The ``processed`` source's table: a train, valid and test file for every configured cell."""
    resolve = paths.resolve
    path = str(resolve(config["source"]["processed"]["files"]))
    table = paths.table(path, "processed.schema.yaml")
    check_duplicates(table, ["cell", "split"], path)
    have = set(zip(table["cell"], table["split"], strict=True))
    missing = [f"{c} {s}" for c in config["cells"] for s in ("train", "valid", "test") if (c, s) not in have]
    if missing:
        raise InputError(
            f"no file for {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}",
            path=path,
            hint="add a row 'cell split path' for each (split = train, valid, test), or drop the cell from 'cells'",
        )
    return {(r.cell, r.split): str(resolve(r.path)) for r in table.itertuples()}


def source_key(source: str) -> str:
    """The config block under ``source`` that holds the source's chromosome sizes (``processed`` has none of its
    own: ``local``'s)."""
    return {"demo": "demo", "remc": "remc"}.get(source, "local")


def _expression(config: Mapping[str, Any], resolve: Resolve) -> Path | None:
    """The expression matrix to check now: the configured one, the REMC download once it is there, or none
    (a processed source without one: labels come with its files)."""
    source = config["source"]["kind"]
    if source == "remc":
        return Path(REMC_EXPRESSION) if Path(REMC_EXPRESSION).exists() else None
    if source == "processed":
        if not config["source"]["processed"]["expression"]:
            return None
        return config_path(config, "source.processed.expression", resolve)
    return config_path(config, f"source.{source}.expression", resolve)


def _checksums(config: Mapping[str, Any], resolve: Resolve) -> dict[str, dict[str, str]]:
    """The REMC checksum table (``file size sha256``), or nothing."""
    import pandas as pd

    value = config["source"]["remc"]["checksums"]
    if config["source"]["kind"] != "remc" or not value:
        return {}
    path = str(resolve(value))
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#")
    for col in ("file", "size", "sha256"):
        if col not in table.columns:
            raise InputError(f"missing column '{col}'", path=path, line=1, hint="the header must be 'file size sha256'")
    return {r.file: {"size": r.size, "sha256": r.sha256} for r in table.itertuples()}


def check_source(config: Mapping[str, Any], paths: Paths) -> Inputs:
    """The source's files and tables: the file tables (``local``, ``processed``), the annotation, expression
    and chromosome sizes files, the published-numbers table, a column per cell in the expression matrix, the
    checksums."""
    from chromexpr.io.tables import read_expression

    resolve = paths.resolve
    source = config["source"]["kind"]
    found = Inputs()
    if source == "local":
        found.local_files = _local_files(config, paths)
    if source == "processed":
        found.processed_files = _processed_files(config, paths)
    if source in ("demo", "local"):
        config_path(config, f"source.{source}.{'genes' if source == 'demo' else 'annotation'}", resolve)
    expression = _expression(config, resolve)
    if source != "processed":
        config_path(config, f"source.{source_key(source)}.chrom_sizes", resolve)
    if config["train"]["models"]:
        config_path(config, "report.published", resolve)
    if expression is not None:
        read_expression(expression, list(config["cells"]), duplicates=config["expression"]["duplicates"])
    found.checksums = _checksums(config, resolve)
    return found


def check_inputs(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], paths: Paths) -> Inputs:
    """Every file and table the config names, read and checked (after ``chromexpr.dag.check_config``): the
    source's (``check_source``), then each enabled experiment's (``read`` of its ``inputs`` module, kept in
    ``Inputs.experiments``).

    Raises:
        InputError: naming the file and line, or the config key, and what to do.
    """
    found = check_source(config, paths)
    for e in registry.enabled(config):
        module = e.inputs()
        if module is not None:
            found.experiments[e.name] = module.read(config, cards, paths)
    return found
