"""Parsing shared by the two released CSV formats of binned read counts (DeepChrome, DeepDiff).

Both are one row per (gene, bin), the rows of a gene consecutive with bin ids 1..n, then one column
per mark; an optional header line names the marks. The format modules
(:mod:`chromexpr.io.deepchrome_csv`, :mod:`chromexpr.io.deepdiff_csv`) say which columns a row has
and check what is particular to their format.

Parsing takes a fast path (pandas' C reader) and, only when that fails or finds something odd, re-reads
the file line by line so that every error names the file and the 1-based line at fault.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.io.text import UNREADABLE_ERRORS, open_text, unreadable

#: Released bins are 100 bp in both formats; only their number differs (100 -> +/-5 kb, 200 -> +/-10 kb).
RELEASED_BIN_BP = 100


def first_line(path: Path) -> tuple[int, list[str]] | None:
    """``(line number, comma-separated fields)`` of the first non-blank line, or ``None`` if empty."""
    try:
        with open_text(path, newline="") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if raw.strip():
                    return lineno, [f.strip() for f in raw.rstrip("\r\n").split(",")]
    except UNREADABLE_ERRORS as exc:
        raise unreadable(path, exc) from exc
    return None


def is_number(text: str) -> bool:
    """True when ``text`` parses as a float."""
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
        with open_text(path, newline="") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if lineno == header_line or not raw.strip():
                    continue
                fields = raw.rstrip("\r\n").split(",")
                if len(fields) != n_cols:
                    raise InputError(
                        f"expected {n_cols} comma-separated fields ({','.join(columns)}), found {len(fields)}",
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
    except UNREADABLE_ERRORS as exc:
        raise unreadable(path, exc) from exc
    return (
        np.asarray(ids, dtype=str),
        np.asarray(values, dtype=np.float64).reshape(len(values), len(numeric)),
        np.asarray(lines, dtype=np.int64),
    )


def read_rows(
    path: Path, columns: Sequence[str], numeric: Sequence[int], header_line: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fast path of :func:`_scan_rows` (same result); falls back to it to locate any problem.

    The released files hold millions of rows, so the C reader is worth having; it cannot say which
    line was wrong, which is what the line-by-line scan is for.
    """
    n_cols = len(columns)
    skip = header_line or 0  # the header, if any, is the first non-blank line
    try:
        with open_text(path, newline="") as fh:
            df = pd.read_csv(
                fh,
                header=None,
                skiprows=skip,
                dtype={0: str, **{i: np.float64 for i in numeric}},
                usecols=None,
                na_filter=False,
                skip_blank_lines=False,  # keeps row i at line skip+i+1; a blank line sends us to the scan
                quoting=csv.QUOTE_NONE,
                engine="c",
            )
    except pd.errors.EmptyDataError:
        df = None
    except (ValueError, pd.errors.ParserError, *UNREADABLE_ERRORS):
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


def _check_mark_set(
    path: Path, names: Sequence[str], expected: Sequence[str], fmt: str, line: int | None, what: str
) -> None:
    """Raise unless ``names`` are the marks ``expected`` (any order, any case), naming the odd ones."""
    known = {m.lower() for m in expected}
    present = {n.lower() for n in names}
    extra = [n for n in names if n.lower() not in known]
    missing = [m for m in expected if m.lower() not in present]
    if not extra and not missing:
        return
    message = f"{what} {list(names)}"
    if extra:
        message += f": {', '.join(extra)} {'is not a mark' if len(extra) == 1 else 'are not marks'} of the {fmt} format"
    message += f" (expected the marks {', '.join(expected)}, in any order"
    message += f"; missing: {', '.join(missing)})" if missing else ")"
    raise InputError(
        message,
        path=path,
        line=line,
        hint=f"a {fmt} file has exactly these five mark columns; drop or rename the others",
    )


def resolve_marks(
    path: Path,
    first: tuple[int, list[str]],
    mark_slice: slice,
    default: Sequence[str],
    given: Sequence[str] | None,
    fmt: str,
) -> tuple[list[str], int | None]:
    """Mark names and the header's line (``None`` without header) from the first line of a file.

    A first line whose mark fields are all non-numeric is a header and names the marks; a file
    without header has the release's column order ``default``, or ``given`` when the caller states
    another. Either way the marks must be those of ``default`` (the ``fmt`` format's), in any order.
    """
    lineno, fields = first
    names = fields[mark_slice]
    has_header = bool(names) and not any(is_number(f) for f in names)
    if not has_header:
        marks = list(given) if given is not None else list(default)
        _check_mark_set(path, marks, default, fmt, None, "marks_order")
        return marks, None
    if any(not n for n in names) or len(set(names)) != len(names):
        raise InputError(f"header names marks {names}: names must be distinct and non-empty", path=path, line=lineno)
    _check_mark_set(path, names, default, fmt, lineno, "the header names the mark columns")
    if given is not None and list(given) != names:
        raise InputError(
            f"the header orders the marks {names} but marks_order says {list(given)}",
            path=path,
            line=lineno,
            hint="marks_order is only for files without a header line; drop it, or fix the header",
        )
    return names, lineno


def group_genes(path: Path, genes: np.ndarray, bins: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, int]:
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


def check_constant(
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


def to_counts(
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
