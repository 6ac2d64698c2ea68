"""Tables that enter the pipeline: TSS tables, gene annotations, expression matrices, chromosome sizes.

Every reader validates where the data enters and raises :class:`~chromexpr.errors.InputError`
naming the file, the 1-based line and what to do.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.errors import InputError

TSS_COLUMNS = ["gene_id", "chrom", "tss", "strand"]
UNKNOWN_STRANDS = {"", ".", "?", "nan", "None"}


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a plain or gzip-compressed text file (detected from the magic bytes)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path, hint="check the path in the config")
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


@contextlib.contextmanager
def _readable(path: str | Path) -> Iterator[None]:
    """Turn truncated-gzip and binary-file errors into an InputError naming the file."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile, UnicodeDecodeError, zlib.error) as exc:
        raise InputError(f"cannot be read ({exc})", path=path,
                         hint="the file is truncated or not text; download or copy it again") from exc


def _read_delimited(path: str | Path, sep: str = "\t", comment: str | None = None) -> tuple[list[str], list[list[str]], list[int]]:
    """Read a small delimited table as strings: header, rows and their 1-based line numbers."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    with _readable(path), open_text(path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                line = raw.rstrip("\r\n")
                if not line.strip() or (comment and line.startswith(comment)):
                    continue
                fields = line.split(sep)
                if header is None:
                    header = [f.strip() for f in fields]
                    continue
                rows.append(fields)
                lines.append(lineno)
    if header is None:
        raise InputError("file is empty", path=path, hint="provide a table with a header line")
    return header, rows, lines


def _column_index(header: list[str], name: str, path: str | Path) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise InputError(
            f"missing column '{name}' (header has: {', '.join(header)})", path=path, line=1,
            hint=f"the header must name the columns {', '.join(TSS_COLUMNS)}",
        ) from None


def normalize_strand(values: pd.Series | np.ndarray) -> np.ndarray:
    """Map strand notations to ``+``, ``-`` or ``.`` (unknown). ``1``/``-1`` are accepted."""
    out = []
    for v in np.asarray(values, dtype=object):
        s = "" if v is None else str(v).strip()
        if s in ("+", "1", "+1"):
            out.append("+")
        elif s in ("-", "-1"):
            out.append("-")
        elif s in UNKNOWN_STRANDS:
            out.append(".")
        else:
            out.append("?" + s)
    return np.asarray(out, dtype=object)


def _check_duplicates(gene_ids: list[str], lines: list[int], path: str | Path, what: str) -> None:
    seen: dict[str, int] = {}
    for gid, ln in zip(gene_ids, lines, strict=True):
        if gid in seen:
            raise InputError(
                f"duplicate {what} '{gid}' (first seen on line {seen[gid]})", path=path, line=ln,
                hint="keep one row per gene, or set expression.duplicates: first in the config",
            )
        seen[gid] = ln


def read_tss_table(path: str | Path) -> pd.DataFrame:
    """Read a TSS table: TSV with header ``gene_id chrom tss strand`` (0-based TSS), extra columns kept.

    Strand is normalised to ``+``, ``-`` or ``.`` (unknown: empty, ``.``).
    """
    header, rows, lines = _read_delimited(path)
    idx = {c: _column_index(header, c, path) for c in TSS_COLUMNS}
    extra = [c for c in header if c not in TSS_COLUMNS]
    records = []
    for fields, ln in zip(rows, lines, strict=True):
        if len(fields) < len(header):
            fields = fields + [""] * (len(header) - len(fields))  # trailing empty strand
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} tab-separated fields, found {len(fields)}",
                             path=path, line=ln)
        gid = fields[idx["gene_id"]].strip()
        if not gid:
            raise InputError("empty gene_id", path=path, line=ln)
        chrom = fields[idx["chrom"]].strip()
        if not chrom:
            raise InputError("empty chrom", path=path, line=ln)
        try:
            tss = int(fields[idx["tss"]])
        except ValueError:
            raise InputError(f"tss '{fields[idx['tss']]}' is not an integer", path=path, line=ln,
                             hint="tss must be a 0-based integer position") from None
        if tss < 0:
            raise InputError(f"tss {tss} is negative", path=path, line=ln)
        strand = normalize_strand([fields[idx["strand"]]])[0]
        if strand.startswith("?"):
            raise InputError(f"strand '{strand[1:]}' is not +, - or empty", path=path, line=ln)
        rec = {"gene_id": gid, "chrom": chrom, "tss": tss, "strand": strand}
        rec.update({c: fields[header.index(c)] for c in extra})
        records.append(rec)
    if not records:
        raise InputError("no genes in the TSS table", path=path)
    _check_duplicates([r["gene_id"] for r in records], lines, path, "gene id")
    df = pd.DataFrame.from_records(records)
    df["tss"] = df["tss"].astype(np.int64)
    df["_line"] = lines
    return df


def _parse_attributes(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'(\S+)\s+"([^"]*)"', text)}


def read_gtf(path: str | Path, gene_types: list[str] | None = None) -> pd.DataFrame:
    """One TSS per gene from a GTF: ``gene`` records (or the 5'-most transcript when a gene has none).

    GTF coordinates are 1-based inclusive: a ``+`` gene's TSS is ``start - 1`` (0-based), a ``-``
    gene's is ``end - 1``. Gene ids lose their version suffix (``ENSG...15`` -> ``ENSG...``).
    """
    genes: dict[str, dict] = {}
    transcripts: dict[str, dict] = {}
    par_duplicates = 0
    with _readable(path), open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.startswith("#") or not raw.strip():
                continue
            f = raw.rstrip("\n").split("\t")
            if len(f) != 9:
                raise InputError(f"a GTF line has 9 tab-separated fields, found {len(f)}", path=path,
                                 line=lineno)
            if f[2] not in ("gene", "transcript"):
                continue
            try:
                start, end = int(f[3]), int(f[4])
            except ValueError:
                raise InputError("start/end are not integers", path=path, line=lineno) from None
            attrs = _parse_attributes(f[8])
            gid = attrs.get("gene_id", "").split(".")[0]
            if not gid:
                raise InputError("record without gene_id attribute", path=path, line=lineno)
            gtype = attrs.get("gene_type", attrs.get("gene_biotype", ""))
            if gene_types and gtype not in gene_types:
                continue
            strand = f[6]
            if strand not in ("+", "-"):
                raise InputError(f"strand '{strand}' is not + or -", path=path, line=lineno)
            tss = start - 1 if strand == "+" else end - 1
            rec = {"gene_id": gid, "chrom": f[0], "tss": tss, "strand": strand,
                   "symbol": attrs.get("gene_name", ""), "_line": lineno}
            if f[2] == "gene":
                if gid in genes and "chrY" in (f[0], genes[gid]["chrom"]) and f[0] != genes[gid]["chrom"]:
                    # pseudo-autosomal genes are listed on chrX and chrY with one id: keep chrX's
                    par_duplicates += 1
                    if f[0] != "chrY":
                        genes[gid] = rec
                    continue
                if gid in genes:
                    raise InputError(f"gene '{gid}' has two gene records (first on line "
                                     f"{genes[gid]['_line']})", path=path, line=lineno)
                genes[gid] = rec
            else:
                prev = transcripts.get(gid)
                # the 5'-most transcript start stands for a gene without a gene record
                if prev is None or (tss < prev["tss"] if strand == "+" else tss > prev["tss"]):
                    transcripts[gid] = rec
    for gid, rec in transcripts.items():
        genes.setdefault(gid, rec)
    if not genes:
        raise InputError("no gene or transcript records found", path=path,
                         hint="is this a GTF file? (gene_types filter too strict?)")
    df = pd.DataFrame.from_records(list(genes.values()))
    df["tss"] = df["tss"].astype(np.int64)
    df.attrs["par_duplicates"] = par_duplicates
    return df


def read_gene_info(path: str | Path) -> pd.DataFrame:
    """One TSS per gene from the REMC ``Ensembl_v65.Gencode_v10.ENSG.gene_info`` table.

    Columns by position: gene id, chromosome (``X`` or ``chrX``), start, end (1-based, Ensembl
    style), strand (``1``/``-1`` or ``+``/``-``), then type, symbol and description (optional).
    A header or ``#`` comment line is skipped. TSS (0-based) = ``start - 1`` for ``+`` genes,
    ``end - 1`` for ``-`` genes.
    """
    records = []
    seen_data = False
    with _readable(path), open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.startswith("#") or not raw.strip():
                continue
            f = raw.rstrip("\r\n").split("\t")
            header_like = len(f) > 3 and not f[2].strip().isdigit() and not f[3].strip().isdigit()
            if not records and not seen_data and header_like:
                seen_data = True
                continue  # header line
            seen_data = True
            if len(f) < 5:
                raise InputError(f"expected at least 5 tab-separated fields (gene_id, chrom, start, end, "
                                 f"strand), found {len(f)}", path=path, line=lineno)
            try:
                start, end = int(f[2]), int(f[3])
            except ValueError:
                raise InputError(f"start/end '{f[2]}', '{f[3]}' are not integers", path=path,
                                 line=lineno) from None
            strand = normalize_strand([f[4]])[0]
            if strand not in ("+", "-"):
                raise InputError(f"strand '{f[4]}' is not 1/-1 or +/-", path=path, line=lineno)
            chrom = f[1] if f[1].startswith("chr") else f"chr{f[1]}"
            if chrom == "chrMT":
                chrom = "chrM"
            records.append({
                "gene_id": f[0].split(".")[0], "chrom": chrom,
                "tss": start - 1 if strand == "+" else end - 1, "strand": strand,
                "symbol": f[6] if len(f) > 6 else "", "_line": lineno,
            })
    if not records:
        raise InputError("no genes found", path=path)
    _check_duplicates([r["gene_id"] for r in records], [r["_line"] for r in records], path, "gene id")
    df = pd.DataFrame.from_records(records)
    df["tss"] = df["tss"].astype(np.int64)
    return df


def read_annotation(path: str | Path, fmt: str, gene_types: list[str] | None = None) -> pd.DataFrame:
    """Read a gene annotation in ``fmt`` (``tss_table``, ``gene_info`` or ``gtf``)."""
    if fmt == "tss_table":
        return read_tss_table(path)
    if fmt == "gene_info":
        return read_gene_info(path)
    if fmt == "gtf":
        return read_gtf(path, gene_types)
    raise InputError(f"unknown annotation format '{fmt}'", key="reference.annotation_format",
                     hint="use tss_table, gene_info or gtf")


def read_expression(
    path: str | Path,
    cells: list[str] | None = None,
    *,
    gene_column: str | None = None,
    duplicates: str = "error",
) -> pd.DataFrame:
    """Read an expression matrix: one gene per row, one numeric column per cell.

    The gene id column is ``gene_column`` or the first column. Other non-cell columns
    (symbol, chrom, ...) are ignored when ``cells`` is given. Values must be finite and
    non-negative. ``duplicates``: ``error`` (default), ``first`` (keep the first row of a gene).

    Returns a float64 DataFrame indexed by gene id with the requested cells as columns.
    """
    header, rows, lines = _read_delimited(path, sep="\t")
    if len(header) == 1 and "," in header[0]:
        header, rows, lines = _read_delimited(path, sep=",")
    gcol = header.index(gene_column) if gene_column and gene_column in header else 0
    if gene_column and gene_column not in header:
        raise InputError(f"gene id column '{gene_column}' not in header", path=path, line=1)
    if cells is None:
        cells = [c for i, c in enumerate(header) if i != gcol]
    missing = [c for c in cells if c not in header]
    if missing:
        raise InputError(
            f"cells {missing} have no column (columns: {', '.join(header[:12])}{' ...' if len(header) > 12 else ''})",
            path=path, line=1, key="cells",
            hint="list only cells present in the expression matrix, or use the matrix that has them",
        )
    cidx = [header.index(c) for c in cells]
    if duplicates not in ("error", "first"):
        raise InputError(f"unknown value '{duplicates}'", key="expression.duplicates", hint="use error or first")
    genes: list[str] = []
    values: list[list[float]] = []
    kept_lines: list[int] = []
    seen: dict[str, int] = {}
    n_dup = 0
    for fields, ln in zip(rows, lines, strict=True):
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} fields, found {len(fields)}", path=path, line=ln)
        gid = fields[gcol].strip()
        if gid in seen:
            if duplicates == "error":
                raise InputError(
                    f"duplicate gene '{gid}' (first on line {seen[gid]})", path=path, line=ln,
                    hint="remove the duplicate row, or set expression.duplicates: first",
                )
            n_dup += 1
            continue
        seen[gid] = ln
        row = []
        for c, i in zip(cells, cidx, strict=True):
            try:
                v = float(fields[i])
            except ValueError:
                raise InputError(f"value '{fields[i]}' for cell {c} is not numeric", path=path, line=ln,
                                 hint="expression values must be numbers (RPKM or counts)") from None
            if not np.isfinite(v) or v < 0:
                raise InputError(f"value {fields[i]} for cell {c} is negative or not finite", path=path,
                                 line=ln, hint="expression must be non-negative (RPKM or counts)")
            row.append(v)
        genes.append(gid)
        values.append(row)
        kept_lines.append(ln)
    if not genes:
        raise InputError("no genes in the expression matrix", path=path)
    df = pd.DataFrame(np.asarray(values, dtype=np.float64), index=pd.Index(genes, name="gene_id"), columns=cells)
    df.attrs["duplicates_dropped"] = n_dup
    return df


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """Read a UCSC ``chrom.sizes`` file (``chrom<TAB>size``)."""
    sizes: dict[str, int] = {}
    with _readable(path), open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip() or raw.startswith("#"):
                continue
            f = raw.split()
            if len(f) < 2:
                raise InputError("expected 'chrom size'", path=path, line=lineno)
            try:
                size = int(f[1])
            except ValueError:
                raise InputError(f"size '{f[1]}' is not an integer", path=path, line=lineno) from None
            if size <= 0:
                raise InputError(f"size {size} is not positive", path=path, line=lineno)
            if f[0] in sizes:
                raise InputError(f"chromosome '{f[0]}' listed twice", path=path, line=lineno)
            sizes[f[0]] = size
    if not sizes:
        raise InputError("no chromosomes listed", path=path)
    return sizes
