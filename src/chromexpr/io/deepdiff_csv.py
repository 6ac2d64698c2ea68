"""The DeepDiff CSV format: read into arrays.

Rows ``ENSG_SYMBOL_binIndex,H3K4me1,H3K4me3,H3K9me3,H3K27me3,H3K36me3``, 200 consecutive rows per
gene (bin index from 1); an optional header line names the mark columns. Plain or gzip. The
expression per gene comes in a separate file (``{cell}.expr.csv``, read by
:func:`chromexpr.io.tables.read_expression`). Bins are in genomic order, as released.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.io.released_csv import (
    check_constant,
    first_line,
    group_genes,
    read_rows,
    resolve_marks,
    to_counts,
)

#: Column order of the marks in the DeepDiff CSV release.
DEEPDIFF_MARKS: tuple[str, ...] = ("H3K4me1", "H3K4me3", "H3K9me3", "H3K27me3", "H3K36me3")


@dataclass(frozen=True)
class DeepDiffTable:
    """One DeepDiff CSV file in memory.

    Attributes:
        path: the file read.
        gene_ids: ``(genes,)`` str (the part of the row id before the first ``_``).
        symbols: ``(genes,)`` str (between the first and the last ``_``; may itself contain ``_``).
        counts: ``(genes, marks, bins)``, int32 when every value is a whole number, else float64.
        marks: mark names in the order of ``counts`` axis 1 (the file's column order).
        gene_lines: ``(genes,)`` 1-based line of each gene's first row.
    """

    path: Path
    gene_ids: np.ndarray
    symbols: np.ndarray
    counts: np.ndarray
    marks: list[str]
    gene_lines: np.ndarray

    @property
    def n_bins(self) -> int:
        """Bins per gene."""
        return int(self.counts.shape[2])


def read_deepdiff_csv(path: str | Path, *, marks: Sequence[str] | None = None) -> DeepDiffTable:
    """Read a DeepDiff CSV (``ENSG_SYMBOL_binIndex,<marks>``, plain or gzip).

    The gene id is the row id before its first ``_`` and the bin index after its last one, so symbols
    containing ``_`` are fine. A header line is optional; without it the columns are
    :data:`DEEPDIFF_MARKS`, or ``marks`` if the file was written in another order.

    Raises:
        InputError: naming file and line, for the same faults as
            :func:`chromexpr.io.deepchrome_csv.read_deepchrome_csv` (a symbol that changes within
            a gene replaces the label check).
    """
    path = Path(path)
    first = first_line(path)
    if first is None:
        raise InputError(
            "file is empty",
            path=path,
            hint="expected DeepDiff rows ENSG_SYMBOL_bin," + ",".join(DEEPDIFF_MARKS),
        )
    mark_names, header_line = resolve_marks(path, first, slice(1, None), DEEPDIFF_MARKS, marks, "DeepDiff")
    columns = ["ENSG_SYMBOL_bin", *mark_names]
    row_ids, values, lines = read_rows(path, columns, range(1, len(columns)), header_line)
    row_ids_s = pd.Series(row_ids, dtype="string")
    left = row_ids_s.str.rpartition("_")
    no_sep = np.flatnonzero((left[1] == "").to_numpy(dtype=bool))
    if no_sep.size:
        i = int(no_sep[0])
        raise InputError(
            f"row id {row_ids[i]!r} is not GENEID_SYMBOL_bin",
            path=path,
            line=int(lines[i]),
            hint="DeepDiff row ids look like ENSG00000000003_TSPAN6_1",
        )
    bins = pd.to_numeric(left[2], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(bins))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"row id {row_ids[i]!r}: bin index {left[2].iloc[i]!r} is not a number",
            path=path,
            line=int(lines[i]),
            hint="the row id must end in _<bin index>",
        )
    gene_sym = left[0].str.partition("_")
    genes = gene_sym[0].to_numpy(dtype=str)
    symbols = gene_sym[2].to_numpy(dtype=str)
    starts, n_bins = group_genes(path, genes, bins, lines)
    check_constant(path, "symbol", symbols, starts, n_bins, genes, lines)
    counts = to_counts(path, values, mark_names, len(starts), n_bins, lines)
    return DeepDiffTable(
        path=path,
        gene_ids=genes[starts],
        symbols=symbols[starts],
        counts=counts,
        marks=mark_names,
        gene_lines=lines[starts],
    )
