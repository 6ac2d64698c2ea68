"""The ``processed`` source: the binned read counts the papers released, as chromexpr datasets.

:func:`ingest_processed` turns a release (one file per split, in the DeepChrome / AttentiveChrome or
the DeepDiff CSV format, read by :mod:`chromexpr.io.deepchrome_csv` and
:mod:`chromexpr.io.deepdiff_csv`) into a dataset ``.npz``; :func:`export_deepchrome_csv` writes a
dataset back in the DeepChrome format.

Both releases give bins in genomic order (not flipped for minus-strand genes), so datasets built here
say ``orient_by_strand: false``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

import chromexpr
from chromexpr.dataset import (
    CANONICAL_MARKS,
    SPLITS,
    Dataset,
    build_dataset,
    cell_median,
    load_dataset,
    save_dataset,
)
from chromexpr.errors import InputError
from chromexpr.io.atomic import sha256sum
from chromexpr.io.deepchrome_csv import (
    DEEPCHROME_MARKS,
    DeepChromeTable,
    read_deepchrome_csv,
    write_deepchrome_csv,
)
from chromexpr.io.deepdiff_csv import DeepDiffTable, read_deepdiff_csv
from chromexpr.io.released_csv import RELEASED_BIN_BP
from chromexpr.io.tables import read_expression
from chromexpr.preprocess.geometry import BinGeometry

__all__ = ["BIN_ORDER_NOTE", "ProcessedFormat", "export_deepchrome_csv", "ingest_processed"]

#: What the provenance says about the bin order of a released file.
BIN_ORDER_NOTE = (
    "bins as released, in genomic order (left to right on the + strand), not flipped for minus-strand genes"
)

ProcessedFormat = Literal["deepchrome", "deepdiff"]


def _canonical_order(marks: Sequence[str], where: Path) -> list[int]:
    """Indices taking ``marks`` (source order, any case) to :data:`CANONICAL_MARKS`."""
    by_lower = {m.lower(): i for i, m in enumerate(marks)}
    missing = [m for m in CANONICAL_MARKS if m.lower() not in by_lower]
    extra = [m for m in marks if m.lower() not in {c.lower() for c in CANONICAL_MARKS}]
    if missing or extra or len(by_lower) != len(marks):
        raise InputError(
            f"marks {list(marks)} are not the five core marks {list(CANONICAL_MARKS)}"
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + (f" (unexpected: {', '.join(extra)})" if extra else ""),
            path=where,
            hint="a processed input must hold exactly the five core REMC marks",
        )
    return [by_lower[m.lower()] for m in CANONICAL_MARKS]


def _crop_window(counts: np.ndarray, geometry: dict, window_bp: int) -> tuple[np.ndarray, dict]:
    """Keep the central bins covering TSS +/- ``window_bp`` (the TSS bin stays the TSS bin)."""
    bin_bp, full = int(geometry["bin_bp"]), int(geometry["window_bp"])
    if window_bp <= 0 or window_bp > full or window_bp % bin_bp:
        raise InputError(
            f"window_bp {window_bp} must be a positive multiple of {bin_bp} up to the released {full}",
            key="window_bp",
        )
    drop = (full - window_bp) // bin_bp
    cropped = counts[:, :, drop : counts.shape[2] - drop]
    return cropped, {
        **geometry,
        "window_bp": window_bp,
        "n_bins": int(cropped.shape[2]),
        "cropped_from_window_bp": full,
    }


def _geometry_for(n_bins: int, where: Path) -> dict:
    """Window implied by the released bin count: 100 bins -> +/-5 kb, 200 -> +/-10 kb (100 bp bins)."""
    if n_bins % 2:
        raise InputError(
            f"{n_bins} bins per gene cannot be centred on the TSS (need an even number)",
            path=where,
            hint="DeepChrome files have 100 bins per gene, DeepDiff files 200",
        )
    geometry = BinGeometry(window_bp=n_bins * RELEASED_BIN_BP // 2, bin_bp=RELEASED_BIN_BP, orient_by_strand=False)
    return geometry.as_dict()


def _missing_genes_error(missing: list[str], n_total: int, expression: Path, cell: str) -> InputError:
    shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    return InputError(
        f"{len(missing)} of {n_total} genes have no expression value for cell {cell} (first: {shown})",
        path=expression,
        hint="use the expression table that belongs to these files; genes are matched by Ensembl id",
    )


def ingest_processed(
    fmt: ProcessedFormat,
    inputs: Mapping[str, str | Path],
    cell: str,
    out: str | Path,
    *,
    expression: str | Path | None = None,
    marks_order: Sequence[str] | None = None,
    log1p: bool = False,
    fit_on: str = "train",
    window_bp: int | None = None,
    expression_duplicates: str = "error",
    median_over: str = "cell",
) -> Path:
    """Turn a released processed data set (one file per split) into a chromexpr dataset ``.npz``.

    The release's split is kept for each gene. Marks are reordered to :data:`CANONICAL_MARKS` (the
    source order is recorded in the provenance). Labels: the DeepChrome format's own labels are kept;
    for the DeepDiff format they are computed from ``expression``: >= the median over every gene of the cell
    in ``expression`` (``median_over: cell``, the default: the labels the papers trained on), or over the
    release's genes only (``dataset``; a sample of 600 genes then has other labels).
    Bins are taken as released (genomic order), so the geometry says ``orient_by_strand: false``.

    Args:
        fmt: ``deepchrome`` or ``deepdiff``.
        inputs: split name (``train``/``valid``/``test``) -> file of that split.
        cell: the cell (epigenome) these files are for, e.g. ``E003``.
        out: the ``.npz`` to write (atomically).
        expression: expression table (any layout :func:`chromexpr.io.tables.read_expression`
            reads: a gene x cell matrix or DeepDiff's ``{cell}.expr.csv``); required for
            ``deepdiff``, optional for ``deepchrome`` (kept in the dataset, labels stay those of
            the file).
        marks_order: column order of the mark columns, for files without a header that do not use
            the release's order.
        log1p: apply ``log1p`` before the z-score.
        fit_on: ``all`` or ``train``: genes the z-score statistics come from.
        window_bp: keep only the central bins covering TSS +/- ``window_bp`` (e.g. 5000 to feed
            DeepDiff's +/- 10 kb data to the 100-bin DeepChrome family); ``None`` keeps all bins.
        expression_duplicates: ``error`` (a gene listed twice in ``expression`` is an error naming
            file and line) or ``first`` (keep its first row), as config key ``expression.duplicates``.

    Returns:
        ``out`` as a Path.
    """
    if fmt not in ("deepchrome", "deepdiff"):
        raise InputError(
            f"unknown processed format {fmt!r}",
            key="source.format",
            hint="use deepchrome (DeepChrome/AttentiveChrome CSV) or deepdiff",
        )
    unknown = [s for s in inputs if s not in SPLITS]
    if unknown or not inputs:
        raise InputError(
            f"inputs must map splits {list(SPLITS)} to files, got {list(inputs)}",
            key="source.files",
            hint="name each file by its split: train, valid, test",
        )
    if expression is None and fmt == "deepdiff":
        raise InputError(
            "the DeepDiff format needs an expression table to label genes",
            key="source.expression",
            hint="give DeepDiff's {cell}.expr.csv or a gene x cell expression matrix",
        )
    reader = read_deepchrome_csv if fmt == "deepchrome" else read_deepdiff_csv
    tables: dict[str, DeepChromeTable | DeepDiffTable] = {}
    for split in SPLITS:  # fixed order: train, valid, test rows in the dataset
        if split in inputs:
            tables[split] = reader(Path(inputs[split]), marks=marks_order)

    first = next(iter(tables.values()))
    seen: dict[str, tuple[Path, int]] = {}
    for table in tables.values():
        if table.marks != first.marks:
            raise InputError(
                f"marks {table.marks} differ from {first.marks} in {first.path}",
                path=table.path,
                hint="all split files of a cell must have the same columns",
            )
        if table.n_bins != first.n_bins:
            raise InputError(
                f"{table.n_bins} bins per gene but {first.path} has {first.n_bins}",
                path=table.path,
                hint="all split files of a cell must have the same bins",
            )
        for gene, line in zip(table.gene_ids.tolist(), table.gene_lines.tolist(), strict=True):
            if gene in seen:
                other, other_line = seen[gene]
                raise InputError(
                    f"gene {gene} is also in {other} (line {other_line})",
                    path=table.path,
                    line=line,
                    hint="a gene must belong to one split only",
                )
            seen[gene] = (table.path, line)

    order = _canonical_order(first.marks, first.path)
    counts = np.concatenate([t.counts for t in tables.values()], axis=0)[:, order, :]
    geometry = _geometry_for(first.n_bins, first.path)
    if window_bp is not None:
        counts, geometry = _crop_window(counts, geometry, window_bp)
    gene_ids = np.concatenate([t.gene_ids for t in tables.values()])
    split = np.concatenate([np.full(len(t.gene_ids), s) for s, t in tables.items()])

    expr_values = np.full(len(gene_ids), np.nan, dtype=np.float64)
    over = None
    if expression is not None:
        expression = Path(expression)
        table_expr = read_expression(expression, [cell], duplicates=expression_duplicates)[cell]
        found = pd.Index(gene_ids).isin(table_expr.index)
        if not found.all():
            raise _missing_genes_error(gene_ids[~found].tolist(), len(gene_ids), expression, cell)
        expr_values = table_expr.reindex(pd.Index(gene_ids)).to_numpy(dtype=np.float64)
        over = cell_median(table_expr, median_over, expression)

    labels = None
    if fmt == "deepchrome":
        labels = np.concatenate([t.labels for t in tables.values()])  # type: ignore[union-attr]

    provenance = {
        "source": "processed",
        "format": fmt,
        "inputs": {
            s: {"path": str(t.path), "sha256": sha256sum(t.path), "genes": int(len(t.gene_ids))}
            for s, t in tables.items()
        },
        "expression": (None if expression is None else {"path": str(expression), "sha256": sha256sum(expression)}),
        "source_marks": list(first.marks),
        "marks_order_given": marks_order is not None,
        "bin_order": BIN_ORDER_NOTE,
        "chromexpr_version": chromexpr.__version__,
    }
    dataset = build_dataset(
        counts,
        gene_ids,
        list(CANONICAL_MARKS),
        expr_values,
        split,
        cell=cell,
        geometry=geometry,
        provenance=provenance,
        log1p=log1p,
        fit_on=fit_on,
        labels=labels,
        median_over=over,
    )
    return save_dataset(dataset, out)


def export_deepchrome_csv(
    dataset_or_path: Dataset | str | Path, out: str | Path, *, values: Literal["counts", "signal"] = "counts"
) -> Path:
    """Write a dataset in the DeepChrome CSV format, atomically (gzip when ``out`` ends in ``.gz``).

    Header ``geneID,binID,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K9me3,label``; ``binID`` from 1; integer
    counts are written as integers. ``values="signal"`` writes the normalized signal instead of counts.
    Bins are written in the dataset's own order: transcription order when it was built with
    ``orient_by_strand: true``, whereas the DeepChrome release itself is in genomic order.
    See :func:`chromexpr.io.deepchrome_csv.write_deepchrome_csv`.

    Raises:
        InputError: when the dataset lacks one of the five DeepChrome marks (named) or ``values`` is unknown,
            or ``dataset_or_path`` is not a chromexpr dataset (see :func:`chromexpr.dataset.load_dataset`).
    """
    where: Path | None = None
    if isinstance(dataset_or_path, Dataset):
        dataset = dataset_or_path
    else:
        where = Path(dataset_or_path)
        dataset = load_dataset(where)
    if values not in ("counts", "signal"):
        raise InputError(f"values must be 'counts' or 'signal', got {values!r}")
    marks = [str(m) for m in dataset.marks]
    missing = [m for m in DEEPCHROME_MARKS if m not in marks]
    if missing:
        raise InputError(
            f"the dataset has no {', '.join(missing)} (it has {', '.join(marks)})",
            path=where,
            hint="the DeepChrome format needs all five core marks",
        )
    array = dataset.counts if values == "counts" else dataset.signal
    return write_deepchrome_csv(out, dataset.gene_ids, array, marks, dataset.label)
