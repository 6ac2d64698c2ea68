"""The ``processed`` source: binned read counts as the papers released them.

Two released formats are read, validated and turned into a chromexpr dataset (``.npz``):

* DeepChrome / AttentiveChrome (zenodo): rows
  ``geneID,binID,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K9me3,label``, 100 consecutive rows per gene,
  ``binID`` 1..100, the label given per gene. One file per split.
* DeepDiff: rows ``ENSG_SYMBOL_binIndex,H3K4me1,H3K4me3,H3K9me3,H3K27me3,H3K36me3``, 200 rows per gene,
  bin index from 1, plus expression per gene (``{cell}.expr.csv`` or a gene x cell matrix). One file
  per split.

Both releases give bins in genomic order (not flipped for minus-strand genes; DESIGN.md section 3 and
MODEL_SPEC.md "Shared data facts"), so datasets built here say ``orient_by_strand: false``.

Parsing takes a fast path (pandas' C reader) and, only when that fails or finds something odd, re-reads
the file line by line so that every error names the file and the 1-based line at fault.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from isal import igzip

import chromexpr
from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path, sha256sum
from chromexpr.preprocess.dataset import SPLITS, Dataset, build_dataset, load_dataset, save_dataset
from chromexpr.preprocess.geometry import BinGeometry

#: chromexpr's mark order (axis 1 of every dataset's counts).
CANONICAL_MARKS: tuple[str, ...] = ("H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3")
#: column order of the DeepChrome / AttentiveChrome CSV release.
DEEPCHROME_MARKS: tuple[str, ...] = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")
#: column order of the DeepDiff CSV release.
DEEPDIFF_MARKS: tuple[str, ...] = ("H3K4me1", "H3K4me3", "H3K9me3", "H3K27me3", "H3K36me3")

DEEPCHROME_HEADER = "geneID,binID," + ",".join(DEEPCHROME_MARKS) + ",label"
#: released bins are 100 bp in both formats; only their number differs (100 -> +/-5 kb, 200 -> +/-10 kb).
RELEASED_BIN_BP = 100
BIN_ORDER_NOTE = (
    "bins as released, in genomic order (left to right on the + strand), not flipped for minus-strand genes"
)

ProcessedFormat = Literal["deepchrome", "deepdiff"]


@dataclass(frozen=True)
class DeepChromeTable:
    """One DeepChrome/AttentiveChrome CSV file in memory.

    Attributes:
        path: the file read.
        gene_ids: ``(genes,)`` str, in file order.
        counts: ``(genes, marks, bins)``, int32 when every value is a whole number, else float64.
        marks: mark names in the order of ``counts`` axis 1 (the file's column order).
        labels: ``(genes,)`` int8, 0/1 as given in the file.
        gene_lines: ``(genes,)`` 1-based line of each gene's first row (for error messages).
    """

    path: Path
    gene_ids: np.ndarray
    counts: np.ndarray
    marks: list[str]
    labels: np.ndarray
    gene_lines: np.ndarray

    @property
    def n_bins(self) -> int:
        """Bins per gene."""
        return int(self.counts.shape[2])


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


# --------------------------------------------------------------------------------------------------
# low-level reading
# --------------------------------------------------------------------------------------------------


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open_text(path: Path) -> io.TextIOBase:
    """Plain or gzip text (gzip told by its magic bytes, not by the name)."""
    if not path.is_file():
        raise InputError("file not found", path=path, hint="check the path given for this input")
    if _is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _unreadable(path: Path, exc: BaseException) -> InputError:
    return InputError(
        f"cannot be read ({type(exc).__name__}: {exc})",
        path=path,
        hint="the file is truncated, not gzip/text, or not UTF-8; download or copy it again",
    )


def _first_line(path: Path) -> tuple[int, list[str]] | None:
    """``(line number, comma-separated fields)`` of the first non-blank line, or ``None`` if empty."""
    try:
        with _open_text(path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                if raw.strip():
                    return lineno, [f.strip() for f in raw.rstrip("\r\n").split(",")]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _scan_rows(
    path: Path, columns: Sequence[str], numeric: Sequence[int], header_line: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read rows line by line; raise at the first malformed line. Blank lines carry nothing and are skipped.

    Returns ``(first column as str, numeric columns as float64 (rows, len(numeric)), line numbers)``.
    """
    n_cols = len(columns)
    ids: list[str] = []
    values: list[list[float]] = []
    lines: list[int] = []
    try:
        with _open_text(path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                if lineno == header_line or not raw.strip():
                    continue
                fields = raw.rstrip("\r\n").split(",")
                if len(fields) != n_cols:
                    raise InputError(
                        f"expected {n_cols} comma-separated fields ({','.join(columns)}), "
                        f"found {len(fields)}",
                        path=path,
                        line=lineno,
                        hint="every row must have the same columns; the file may be truncated or mixed",
                    )
                row = []
                for i in numeric:
                    text = fields[i].strip()
                    try:
                        v = float(text)
                    except ValueError:
                        raise InputError(
                            f"column {columns[i]}: {text!r} is not a number",
                            path=path,
                            line=lineno,
                            hint="values must be plain numbers (read counts, bin ids, labels)",
                        ) from None
                    if not np.isfinite(v):
                        raise InputError(
                            f"column {columns[i]}: {text!r} is not a finite number", path=path, line=lineno
                        )
                    row.append(v)
                ids.append(fields[0].strip())
                values.append(row)
                lines.append(lineno)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc
    return (
        np.asarray(ids, dtype=str),
        np.asarray(values, dtype=np.float64).reshape(len(values), len(numeric)),
        np.asarray(lines, dtype=np.int64),
    )


def _read_rows(
    path: Path, columns: Sequence[str], numeric: Sequence[int], header_line: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fast path of :func:`_scan_rows` (same result); falls back to it to locate any problem.

    The released files hold millions of rows, so the C reader is worth having; it cannot say which
    line was wrong, which is what the line-by-line scan is for.
    """
    n_cols = len(columns)
    skip = header_line or 0  # the header, if any, is the first non-blank line
    try:
        df = pd.read_csv(
            path,
            header=None,
            skiprows=skip,
            dtype={0: str, **{i: np.float64 for i in numeric}},
            usecols=None,
            na_filter=False,
            skip_blank_lines=False,  # keeps row i at line skip+i+1; a blank line sends us to the scan
            quoting=csv.QUOTE_NONE,
            compression="gzip" if _is_gzip(path) else None,
            engine="c",
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError:
        df = None
    except (ValueError, pd.errors.ParserError, EOFError, OSError, UnicodeDecodeError):
        return _scan_rows(path, columns, numeric, header_line)
    if df is None or df.shape[0] == 0:
        raise InputError("file has no data rows", path=path, hint="the file is empty or holds only a header")
    if df.shape[1] != n_cols:
        return _scan_rows(path, columns, numeric, header_line)
    values = df.iloc[:, list(numeric)].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        return _scan_rows(path, columns, numeric, header_line)
    ids = df[0].str.strip().to_numpy(dtype=str)
    lines = np.arange(skip + 1, skip + 1 + len(df), dtype=np.int64)
    return ids, values, lines


def _resolve_marks(
    path: Path,
    first: tuple[int, list[str]],
    mark_slice: slice,
    default: Sequence[str],
    given: Sequence[str] | None,
) -> tuple[list[str], int | None]:
    """Mark names and the header's line (``None`` without header) from the first line of a file.

    A first line whose mark fields are all non-numeric is a header and names the marks; a file
    without header has the release's column order, or ``given`` when the caller states another.
    """
    lineno, fields = first
    names = fields[mark_slice]
    has_header = bool(names) and not any(_is_number(f) for f in names)
    if not has_header:
        marks = list(given) if given is not None else list(default)
        return marks, None
    if any(not n for n in names) or len(set(names)) != len(names):
        raise InputError(
            f"header names marks {names}: names must be distinct and non-empty", path=path, line=lineno
        )
    if given is not None and list(given) != names:
        raise InputError(
            f"the header orders the marks {names} but marks_order says {list(given)}",
            path=path,
            line=lineno,
            hint="marks_order is only for files without a header line; drop it, or fix the header",
        )
    return names, lineno


def _group_genes(
    path: Path, genes: np.ndarray, bins: np.ndarray, lines: np.ndarray
) -> tuple[np.ndarray, int]:
    """Check that each gene is one contiguous block of rows with bin ids 1..n, n equal for all genes.

    Returns ``(start row of each gene, n bins)``.
    """
    empty = np.flatnonzero(genes == "")
    if empty.size:
        raise InputError("empty gene id", path=path, line=int(lines[empty[0]]))
    n_rows = len(genes)
    starts = np.flatnonzero(np.r_[True, genes[1:] != genes[:-1]])
    ends = np.r_[starts[1:], n_rows]
    run_genes = genes[starts]
    dup = pd.Index(run_genes).duplicated(keep="first")
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        j = int(np.flatnonzero(run_genes == run_genes[k])[0])
        raise InputError(
            f"gene {run_genes[k]} appears again; its rows were already on lines "
            f"{lines[starts[j]]}-{lines[ends[j] - 1]}",
            path=path,
            line=int(lines[starts[k]]),
            hint="each gene must be listed once, as one block of consecutive rows (duplicate gene?)",
        )
    lengths = ends - starts
    expected = np.arange(n_rows) - np.repeat(starts, lengths) + 1
    bad = np.flatnonzero(bins != expected)
    if bad.size:
        i = int(bad[0])
        again = " (the gene starts again: listed twice?)" if bins[i] == 1 else ""
        raise InputError(
            f"gene {genes[i]}: bin id {bins[i]:g} where {expected[i]} was expected{again}",
            path=path,
            line=int(lines[i]),
            hint="the bin ids of a gene must run 1, 2, ..., n in order (rows missing, repeated or shuffled?)",
        )
    n_bins = int(lengths[0])
    bad = np.flatnonzero(lengths != n_bins)
    if bad.size:
        k = int(bad[0])
        raise InputError(
            f"gene {run_genes[k]} has {lengths[k]} bins (lines {lines[starts[k]]}-{lines[ends[k] - 1]}) "
            f"but gene {run_genes[0]} has {n_bins}",
            path=path,
            line=int(lines[starts[k]]),
            hint="every gene needs the same number of bins; the file may be truncated or mixed",
        )
    return starts, n_bins


def _show(value: object) -> str:
    """A value for a message: numbers as ``1``, ``0.5``; text quoted."""
    return f"{value:g}" if isinstance(value, float | np.floating) else repr(str(value))


def _check_constant(
    path: Path,
    what: str,
    values: np.ndarray,
    starts: np.ndarray,
    n_bins: int,
    genes: np.ndarray,
    lines: np.ndarray,
) -> None:
    """Raise at the first row whose ``values`` differs from its gene's first row."""
    per_row_first = np.repeat(values[starts], n_bins)
    bad = np.flatnonzero(values != per_row_first)
    if bad.size:
        i = int(bad[0])
        first_line = int(lines[i - i % n_bins])

        raise InputError(
            f"gene {genes[i]}: {what} {_show(values[i])} differs from {_show(per_row_first[i])} "
            f"on its first row (line {first_line})",
            path=path,
            line=int(lines[i]),
            hint=f"the {what} must be the same on every row of a gene",
        )


def _to_counts(
    path: Path, values: np.ndarray, marks: Sequence[str], n_genes: int, n_bins: int, lines: np.ndarray
) -> np.ndarray:
    """Rows x marks -> ``(genes, marks, bins)``; int32 when all values are whole numbers."""
    neg = np.argwhere(values < 0)
    if neg.size:
        r, c = (int(v) for v in neg[0])
        raise InputError(
            f"column {marks[c]}: negative read count {values[r, c]:g}",
            path=path,
            line=int(lines[r]),
            hint="read counts cannot be negative",
        )
    counts = values.reshape(n_genes, n_bins, len(marks)).transpose(0, 2, 1)
    if np.all(counts == np.floor(counts)) and (counts.size == 0 or counts.max() < 2**31):
        return np.ascontiguousarray(counts, dtype=np.int32)
    return np.ascontiguousarray(counts, dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# the two released formats
# --------------------------------------------------------------------------------------------------


def read_deepchrome_csv(path: str | Path, *, marks: Sequence[str] | None = None) -> DeepChromeTable:
    """Read a DeepChrome/AttentiveChrome CSV (``geneID,binID,<marks>,label``, plain or gzip).

    A header line is optional; when present it names the mark columns. Without it the columns are
    :data:`DEEPCHROME_MARKS`, or ``marks`` if the file was written in another order.

    Raises:
        InputError: naming file and line, for a wrong column count, a non-numeric or negative value,
            a gene whose rows are not contiguous or whose bin ids are not 1..n in order, a gene with
            another bin count than the first, a label that is not 0/1 or not constant within a gene,
            or a gene listed twice.
    """
    path = Path(path)
    first = _first_line(path)
    if first is None:
        raise InputError("file is empty", path=path, hint="expected DeepChrome rows " + DEEPCHROME_HEADER)
    mark_names, header_line = _resolve_marks(path, first, slice(2, -1), DEEPCHROME_MARKS, marks)
    columns = ["geneID", "binID", *mark_names, "label"]
    ids, values, lines = _read_rows(path, columns, range(1, len(columns)), header_line)
    bins, labels, signal = values[:, 0], values[:, -1], values[:, 1:-1]
    starts, n_bins = _group_genes(path, ids, bins, lines)
    bad = np.flatnonzero(~np.isin(labels, (0.0, 1.0)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"label {labels[i]:g} is not 0 or 1",
            path=path,
            line=int(lines[i]),
            hint="DeepChrome labels are 1 (expression >= the cell's median) or 0",
        )
    _check_constant(path, "label", labels, starts, n_bins, ids, lines)
    counts = _to_counts(path, signal, mark_names, len(starts), n_bins, lines)
    return DeepChromeTable(
        path=path,
        gene_ids=ids[starts],
        counts=counts,
        marks=mark_names,
        labels=labels[starts].astype(np.int8),
        gene_lines=lines[starts],
    )


def read_deepdiff_csv(path: str | Path, *, marks: Sequence[str] | None = None) -> DeepDiffTable:
    """Read a DeepDiff CSV (``ENSG_SYMBOL_binIndex,<marks>``, plain or gzip).

    The gene id is the row id before its first ``_`` and the bin index after its last one, so symbols
    containing ``_`` are fine. A header line is optional; without it the columns are
    :data:`DEEPDIFF_MARKS`, or ``marks`` if the file was written in another order.

    Raises:
        InputError: naming file and line, for the same faults as :func:`read_deepchrome_csv`
            (a symbol that changes within a gene replaces the label check).
    """
    path = Path(path)
    first = _first_line(path)
    if first is None:
        raise InputError(
            "file is empty",
            path=path,
            hint="expected DeepDiff rows ENSG_SYMBOL_bin," + ",".join(DEEPDIFF_MARKS),
        )
    mark_names, header_line = _resolve_marks(path, first, slice(1, None), DEEPDIFF_MARKS, marks)
    columns = ["ENSG_SYMBOL_bin", *mark_names]
    row_ids, values, lines = _read_rows(path, columns, range(1, len(columns)), header_line)
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
    starts, n_bins = _group_genes(path, genes, bins, lines)
    _check_constant(path, "symbol", symbols, starts, n_bins, genes, lines)
    counts = _to_counts(path, values, mark_names, len(starts), n_bins, lines)
    return DeepDiffTable(
        path=path,
        gene_ids=genes[starts],
        symbols=symbols[starts],
        counts=counts,
        marks=mark_names,
        gene_lines=lines[starts],
    )


# --------------------------------------------------------------------------------------------------
# expression
# --------------------------------------------------------------------------------------------------


def read_expression_values(path: str | Path, cell: str) -> pd.Series:
    """Expression of one cell per gene, from a matrix or a two-column file.

    Accepted layouts (tab- or comma-separated, plain or gzip):

    * a matrix with a header: a ``gene_id`` column (else the first column) and one column per cell,
      e.g. ``data/real/remc_counts_9cells.tsv.gz`` (``gene_id E003 E004 ...``); other columns such as
      ``symbol`` are ignored;
    * DeepDiff's ``{cell}.expr.csv``: two columns ``gene,value`` without header (one with a header is
      accepted too). The gene may be written ``ENSG_SYMBOL``; the id is the part before the first ``_``,
      as for the DeepDiff bin rows.

    Returns:
        float64 Series indexed by gene id (index name ``gene_id``), named ``cell``.

    Raises:
        InputError: naming file and line, for a missing cell column, a wrong field count, a
            non-numeric, non-finite or negative value, or a gene listed twice.
    """
    path = Path(path)
    try:
        with _open_text(path) as fh:
            raw_lines = fh.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc
    numbered = [(i, line) for i, line in enumerate(raw_lines, start=1) if line.strip()]
    if not numbered:
        raise InputError("file is empty", path=path, hint="expected gene ids with expression values")
    first_no, first = numbered[0]
    sep = "\t" if "\t" in first else ","
    header = [f.strip() for f in first.split(sep)]
    if len(header) < 2:
        raise InputError(
            "expected a gene column and at least one value column",
            path=path,
            line=first_no,
            hint="use a gene x cell matrix (tab-separated, with header) or gene,value rows",
        )
    two_column = len(header) == 2
    if two_column and _is_number(header[1]):
        rows, gcol, vcol, strip_symbol = numbered, 0, 1, True  # DeepDiff {cell}.expr.csv, no header
    elif two_column:
        rows, gcol, vcol, strip_symbol = numbered[1:], 0, 1, True
        if header[1] != cell and header[1][:1] == "E" and header[1][1:].isdigit():
            raise InputError(
                f"the value column is for cell {header[1]}, not {cell}",
                path=path,
                line=first_no,
                hint=f"give the expression file of {cell}",
            )
    else:
        if cell not in header:
            shown = ", ".join(header[:12]) + (" ..." if len(header) > 12 else "")
            raise InputError(
                f"no column for cell {cell} (columns: {shown})",
                path=path,
                line=first_no,
                hint="use an expression matrix that has this cell, or check the cell name",
            )
        gcol = header.index("gene_id") if "gene_id" in header else 0
        rows, vcol, strip_symbol = numbered[1:], header.index(cell), False
    genes: list[str] = []
    values: list[float] = []
    seen: dict[str, int] = {}
    for lineno, line in rows:
        fields = line.split(sep)
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} fields, found {len(fields)}", path=path, line=lineno)
        gene = fields[gcol].strip()
        if strip_symbol:
            gene = gene.split("_", 1)[0]
        if not gene:
            raise InputError("empty gene id", path=path, line=lineno)
        text = fields[vcol].strip()
        try:
            value = float(text)
        except ValueError:
            raise InputError(
                f"expression {text!r} is not a number",
                path=path,
                line=lineno,
                hint="expression values must be numbers (RPKM or read counts)",
            ) from None
        if not np.isfinite(value) or value < 0:
            raise InputError(
                f"expression {text!r} is negative or not finite",
                path=path,
                line=lineno,
                hint="expression must be a non-negative number (RPKM or read counts)",
            )
        if gene in seen:
            raise InputError(
                f"gene {gene} is listed twice (first on line {seen[gene]})",
                path=path,
                line=lineno,
                hint="keep one row per gene",
            )
        seen[gene] = lineno
        genes.append(gene)
        values.append(value)
    if not genes:
        raise InputError("no genes in the expression file", path=path)
    return pd.Series(
        np.asarray(values, dtype=np.float64), index=pd.Index(genes, dtype=str, name="gene_id"), name=cell
    )


# --------------------------------------------------------------------------------------------------
# ingest -> dataset, dataset -> DeepChrome CSV
# --------------------------------------------------------------------------------------------------


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
    return cropped, {**geometry, "window_bp": window_bp, "n_bins": int(cropped.shape[2]),
                     "cropped_from_window_bp": full}


def _geometry_for(n_bins: int, where: Path) -> dict:
    """Window implied by the released bin count: 100 bins -> +/-5 kb, 200 -> +/-10 kb (100 bp bins)."""
    if n_bins % 2:
        raise InputError(
            f"{n_bins} bins per gene cannot be centred on the TSS (need an even number)",
            path=where,
            hint="DeepChrome files have 100 bins per gene, DeepDiff files 200",
        )
    geometry = BinGeometry(
        window_bp=n_bins * RELEASED_BIN_BP // 2, bin_bp=RELEASED_BIN_BP, orient_by_strand=False
    )
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
    fit_on: str = "all",
    window_bp: int | None = None,
) -> Path:
    """Turn a released processed data set (one file per split) into a chromexpr dataset ``.npz``.

    The release's split is kept for each gene. Marks are reordered to :data:`CANONICAL_MARKS` (the
    source order is recorded in the provenance). Labels: the DeepChrome format's own labels are kept;
    for the DeepDiff format they are computed from ``expression`` by the cell's median over all genes.
    Bins are taken as released (genomic order), so the geometry says ``orient_by_strand: false``.

    Args:
        fmt: ``deepchrome`` or ``deepdiff``.
        inputs: split name (``train``/``valid``/``test``) -> file of that split.
        cell: the cell (epigenome) these files are for, e.g. ``E003``.
        out: the ``.npz`` to write (atomically).
        expression: expression table (see :func:`read_expression_values`); required for ``deepdiff``,
            optional for ``deepchrome`` (kept in the dataset, labels stay those of the file).
        marks_order: column order of the mark columns, for files without a header that do not use
            the release's order.
        log1p: apply ``log1p`` before the z-score.
        fit_on: ``all`` or ``train``: genes the z-score statistics come from.
        window_bp: keep only the central bins covering TSS +/- ``window_bp`` (e.g. 5000 to feed
            DeepDiff's +/- 10 kb data to the 100-bin DeepChrome family); ``None`` keeps all bins.

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
    if expression is not None:
        expression = Path(expression)
        table_expr = read_expression_values(expression, cell)
        found = pd.Index(gene_ids).isin(table_expr.index)
        if not found.all():
            raise _missing_genes_error(gene_ids[~found].tolist(), len(gene_ids), expression, cell)
        expr_values = table_expr.reindex(pd.Index(gene_ids)).to_numpy(dtype=np.float64)

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
        "expression": (
            None if expression is None else {"path": str(expression), "sha256": sha256sum(expression)}
        ),
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

    Raises:
        InputError: when the dataset lacks one of the five DeepChrome marks (named) or ``values`` is unknown.
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
    n_genes, _, n_bins = array.shape
    # (genes, marks, bins) -> one row per (gene, bin), marks in DeepChrome's column order
    rows = (
        array[:, [marks.index(m) for m in DEEPCHROME_MARKS], :]
        .transpose(0, 2, 1)
        .reshape(-1, len(DEEPCHROME_MARKS))
    )
    frame = pd.DataFrame(rows, columns=list(DEEPCHROME_MARKS))
    frame.insert(0, "binID", np.tile(np.arange(1, n_bins + 1, dtype=np.int64), n_genes))
    frame.insert(
        0, "geneID", pd.array(np.repeat(np.asarray(dataset.gene_ids, dtype=str), n_bins), dtype="string")
    )
    frame["label"] = np.repeat(np.asarray(dataset.label, dtype=np.int64), n_bins)
    # float32 signal written with 9 significant digits: enough to read back the same float32
    float_format = "%.9g" if array.dtype == np.float32 else None
    out = Path(out)
    with atomic_path(out) as tmp:
        if out.name.endswith(".gz"):
            # isa-l's gzip is ~50x faster than zlib's level 6 here. No name (the temporary one would
            # be recorded) and mtime 0 in the gzip header keep reruns byte-identical.
            with (
                open(tmp, "wb") as dest,
                igzip.IGzipFile(filename="", mode="wb", compresslevel=2, fileobj=dest, mtime=0) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as fh,
            ):
                frame.to_csv(fh, index=False, lineterminator="\n", float_format=float_format)
        else:
            frame.to_csv(tmp, index=False, lineterminator="\n", float_format=float_format)
    return out
